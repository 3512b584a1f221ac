"""The upload page, each upload's live state (an htmx fragment) and Retry.

The files themselves go from the browser straight to the API's streamed upload route
(``POST /api/v1/domains/{name}/uploads``, ``static/upload.js`` shows the progress); the
page then polls ``/uploads/{id}/state`` every two seconds until the ledger says the file
is final. Retry calls the drop zones' own retry (editor of the file's domain) and
answers with the new ledger file's state, which is then polled in turn.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from tidyllm.access import Actor
from tidyllm.access.roles import at_least
from tidyllm.dropzones.api import INGEST_ZONE_PREFIX, UnifiedDropZones
from tidyllm.dropzones.ledger import TERMINAL_STATES, claim_steps, current_stage
from tidyllm.errors import DomainNotFound, FileStateConflict, PermissionDenied
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.uploads import HEAD_BYTES, upload_history
from tidyllm.web.pages import PageError, ViewerDep, call, render
from tidyllm.web.routes_documents import domains_with_roles, role_in

router = APIRouter(include_in_schema=False)

FileId = Annotated[int, Path(ge=1, le=MAX_ID)]

# the ledger's states as a person reads them
LABELS = {
    "pending": "queued",
    "processing": "processing",
    "done": "done",
    "failed": "failed",
    "dead": "failed (gave up after retries)",
    "duplicate": "done (same content as an earlier file)",
    "vanished": "gone (the file disappeared before it was processed)",
    "superseded": "replaced by a newer upload",
}

# the pipeline steps (a ``step`` event as each starts) as a person reads them
STAGES = {
    "extract": "extracting",
    "index": "indexing (chunking and embedding)",
    "report": "writing the report",
    "archive": "archiving",
}


def stage_label(step: str) -> str:
    return STAGES.get(step, f"running {step}")


def upload_domains(sm: Any, actor: Actor) -> list[Any]:
    """The domains the actor may upload into; a 403 when there is none."""
    rows = [r for r in domains_with_roles(sm, actor) if at_least(r.role, "editor")]
    if not rows:
        if at_least(actor.role, "editor"):
            hint = "an admin can grant it: `tidyllm grants add DOMAIN --user NAME --role editor`"
        else:
            hint = f"an admin can raise the role: `tidyllm users set-role {actor.name} editor`"
        raise PermissionDenied(
            f"user {actor.name!r} may not upload into any domain; uploading needs the "
            "editor role in a domain",
            hint=hint,
        )
    return rows


@router.get("/upload")
async def upload_page(
    request: Request,
    user: ViewerDep,
    domain: Annotated[str, Query(max_length=63)] = "",
) -> HTMLResponse:
    sm = request.app.state.sm
    rows = await call(request, upload_domains, sm, user.actor)
    if domain and domain not in {r.stats.domain.name for r in rows}:
        # not granted: 404 like a missing domain; granted as viewer: 403 (as the API)
        role = await call(request, role_in, sm, domain, user.actor)
        raise PageError(
            403,
            "permission_denied",
            f"user {user.actor.name!r} has the {role} role in domain {domain!r}; "
            "uploading needs editor",
        )
    chosen = domain or rows[0].stats.domain.name
    limit = sm.settings.server.max_upload_bytes
    routing = bool(sm.settings.upload.routes or sm.settings.upload.default_domain)
    return render(
        request,
        "upload.html",
        user=user,
        domains=rows,
        chosen=chosen,
        max_bytes=limit,
        head_bytes=HEAD_BYTES,
        routing=routing,
    )


def upload_state(sm: Any, file_id: int, actor: Actor) -> dict[str, Any]:
    """What the state fragment shows of one ledger file (404 for one the actor may not see)."""
    history = upload_history(sm, file_id, actor=actor)
    row = history["file"]
    zone = row["zone"]
    domain = zone[len(INGEST_ZONE_PREFIX) :] if zone.startswith(INGEST_ZONE_PREFIX) else None
    can_retry = False
    if row["state"] in ("failed", "dead") and row["location"] == "failed":
        if actor.is_admin:
            can_retry = True
        elif domain is not None:
            try:
                can_retry = at_least(role_in(sm, domain, actor), "editor")
            except DomainNotFound:
                can_retry = False
    error = row["error"] if isinstance(row["error"], dict) else None
    stage = current_stage(row["state"], history["events"])
    label = LABELS.get(row["state"], row["state"])
    if row["state"] == "processing":
        label = stage_label(stage) if stage else "starting"
    return {
        "id": row["id"],
        "name": row["key"].removeprefix("upload/"),
        "domain": domain,
        "state": row["state"],
        "label": label,
        "stage": stage,
        "stages": [stage_label(step) for step in claim_steps(history["events"])],
        "final": row["state"] in TERMINAL_STATES,
        "error": error,
        "attempts": row["attempts"],
        "can_retry": can_retry,
    }


@router.get("/uploads/{file_id}/state")
async def state_fragment(request: Request, file_id: FileId, user: ViewerDep) -> HTMLResponse:
    found = await call(request, upload_state, request.app.state.sm, file_id, user.actor)
    return render(request, "_upload_state.html", user=user, up=found)


def retry_upload(sm: Any, file_id: int, actor: Actor) -> int:
    """Retry a failed upload (editor of its domain); the new ledger file's id."""
    new = UnifiedDropZones(sm).retry([file_id], actor=actor)
    if not new:  # moved back, but a watcher recorded it first: the newest row of its key
        raise FileStateConflict(f"file #{file_id} was moved back; reload to follow it")
    return new[0]


@router.post("/uploads/{file_id}/retry")
async def retry(request: Request, file_id: FileId, user: ViewerDep) -> HTMLResponse:
    sm = request.app.state.sm
    new_id = await call(request, retry_upload, sm, file_id, user.actor)
    found = await call(request, upload_state, sm, new_id, user.actor)
    return render(request, "_upload_state.html", user=user, up=found)
