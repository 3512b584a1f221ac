# ruff: noqa
"""Accessors and managers the legacy migration map names or its files use."""

from tidyllm.knowledge_systems.core.s3_manager import get_s3_manager  # expect: TL601
from tidyllm.services import UnifiedServiceManager  # expect: TL601
import scripts.tidyllm_unified_services as services


def upload(path):
    s3 = get_s3_manager()
    return s3.upload_file(path), services.UnifiedServiceManager()  # expect: TL601
