"""Drop zones under ``/api/v1/zones``: counts by state, a file's history, retry.

Who sees what: admins every zone; everyone else the zones whose knowledge domain they
were granted (the domain's ``ingest-<domain>`` zone and declared zones with ``domain:``);
a zone without a domain is the admins'. A zone the user may not see is a 404 exactly like
one that does not exist, and so is a file of such a zone. The checks are in
:class:`~tidyllm.dropzones.api.UnifiedDropZones` (``actor=``), not here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from tidyllm.dropzones.api import UnifiedDropZones
from tidyllm.ids import MAX_ID
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import error_responses
from tidyllm.server.models import (
    FileHistoryOut,
    LedgerEventOut,
    LedgerFileOut,
    RetryOut,
    ZoneOut,
)

ERRORS = error_responses(
    (401, "No valid token"),
    (403, "Role too low"),
    (404, "No such zone or file"),
    (409, "The file is not in a state that allows this"),
    (422, "Invalid parameter"),
)
router = APIRouter(prefix="/api/v1", tags=["zones"], responses=ERRORS)

FileId = Annotated[int, Path(ge=1, le=MAX_ID, description="A ledger file id")]
ZoneName = Annotated[str, Path(max_length=63, description="A zone name")]


def _file_out(data: dict[str, Any]) -> LedgerFileOut:
    return LedgerFileOut(**{k: data[k] for k in LedgerFileOut.model_fields})


def _event_out(data: dict[str, Any]) -> LedgerEventOut:
    return LedgerEventOut(**{k: data[k] for k in LedgerEventOut.model_fields})


@router.get("/zones", summary="The zones you may see, with files counted by state")
async def zones(sm: SessionDep, actor: ActorDep) -> list[ZoneOut]:
    found = await run_in_threadpool(lambda: UnifiedDropZones(sm).overview(actor=actor))
    return [ZoneOut(**z.__dict__) for z in found]


@router.get("/zones/{zone}/files/{file_id}/history", summary="A file's ledger events")
async def history(
    zone: ZoneName, file_id: FileId, sm: SessionDep, actor: ActorDep
) -> list[FileHistoryOut]:
    trail = await run_in_threadpool(
        lambda: UnifiedDropZones(sm).history(file_id, zone=zone, actor=actor)
    )
    return [
        FileHistoryOut(file=_file_out(t["file"]), events=[_event_out(e) for e in t["events"]])
        for t in trail
    ]


@router.post(
    "/zones/{zone}/files/{file_id}/retry",
    status_code=202,
    summary="Process a failed file again (editor of the zone's domain)",
)
async def retry(zone: ZoneName, file_id: FileId, sm: SessionDep, actor: ActorDep) -> RetryOut:
    new = await run_in_threadpool(
        lambda: UnifiedDropZones(sm).retry([file_id], zone=zone, actor=actor)
    )
    return RetryOut(file_ids=new)
