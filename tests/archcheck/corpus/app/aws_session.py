# ruff: noqa
"""boto3 sessions, two spellings."""

import boto3
import boto3.session

one = boto3.Session(profile_name="dev")  # expect: TL101
two = boto3.session.Session()  # expect: TL101
boto3.setup_default_session(region_name="eu-west-1")  # expect: TL101
