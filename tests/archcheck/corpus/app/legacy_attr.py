# ruff: noqa
"""Legacy manager reached through a module alias."""

import legacy.managers as lm

mgr = lm.S3Manager()  # expect: TL601
