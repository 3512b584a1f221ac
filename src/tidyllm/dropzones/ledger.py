"""The ledger: the drop-zone queue and audit trail in PostgreSQL.

Every query is a named constant below (parameterised, never formatted). The
tables are created by migration ``0002_dropzones.sql`` (``files.reindex``: 0005);
``CONTENT_OWNER`` also reads the knowledge tables (0003) to tell whether an indexed
result still stands. State changes by a worker are guarded by its lease
(``lease_owner = %(owner)s``), so a worker whose lease expired and was taken over
cannot overwrite the new owner's work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NOTIFY_CHANNEL = "tidyllm_dropzones"

TERMINAL_STATES = ("done", "failed", "duplicate", "dead", "vanished", "superseded")

# --- detection -------------------------------------------------------------------------------

INSERT_SIGHTINGS = """
WITH new AS (
    INSERT INTO files (zone, key, key_bytes, fingerprint, size, modified, kind,
                       pipeline, pipeline_version, max_attempts, reindex)
    SELECT %(zone)s, s.key, s.key_bytes, s.fingerprint, s.size, s.modified, s.kind,
           %(pipeline)s, %(pipeline_version)s, %(max_attempts)s, %(reindex)s
    FROM unnest(%(keys)s::text[], %(key_bytes)s::bytea[], %(fingerprints)s::text[],
                %(sizes)s::bigint[], %(modified)s::timestamptz[], %(kinds)s::text[])
         AS s(key, key_bytes, fingerprint, size, modified, kind)
    ON CONFLICT (zone, key_bytes, fingerprint, generation) DO NOTHING
    RETURNING id, zone, key_bytes, fingerprint
), ev AS (
    INSERT INTO events (file_id, zone, kind, worker, detail)
    SELECT id, zone, 'detected', %(worker)s, jsonb_build_object('by', %(by)s::text) FROM new
)
SELECT id, key_bytes, fingerprint FROM new
"""

# A known (key, fingerprint) seen again after every earlier generation was moved out of
# incoming/ (before this sighting's listing started) is a re-drop of the same bytes.
FIND_REDROPS = """
SELECT key_bytes, fingerprint, max(generation) + 1 AS generation, min(key) AS key,
       min(size) AS size, min(modified) AS modified, min(kind) AS kind
FROM files
WHERE zone = %(zone)s
  AND (key_bytes, fingerprint) IN (
      SELECT * FROM unnest(%(key_bytes)s::bytea[], %(fingerprints)s::text[]))
GROUP BY key_bytes, fingerprint
HAVING bool_and(location <> 'incoming' AND finished_at < %(seen_after)s)
"""

INSERT_REDROP = """
WITH new AS (
    INSERT INTO files (zone, key, key_bytes, fingerprint, generation, size, modified, kind,
                       pipeline, pipeline_version, max_attempts, reindex)
    VALUES (%(zone)s, %(key)s, %(key_bytes)s, %(fingerprint)s, %(generation)s, %(size)s,
            %(modified)s, %(kind)s, %(pipeline)s, %(pipeline_version)s, %(max_attempts)s,
            %(reindex)s)
    ON CONFLICT (zone, key_bytes, fingerprint, generation) DO NOTHING
    RETURNING id, zone
)
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, 'detected', %(worker)s, '{"by": "re-drop"}'::jsonb FROM new
RETURNING file_id
"""

NOTIFY = "SELECT pg_notify(%(channel)s, %(zone)s)"

# --- claims and leases -----------------------------------------------------------------------

CLAIM = """
WITH picked AS (
    SELECT id FROM files
    WHERE zone = ANY(%(zones)s)
      AND ((state = 'pending' AND not_before <= now())
           OR (state = 'processing' AND lease_expires < now()))
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE files f
    SET state = 'processing', attempts = f.attempts + 1, lease_owner = %(owner)s,
        lease_expires = now() + make_interval(secs => %(lease)s), started_at = now()
    FROM picked WHERE f.id = picked.id
    RETURNING f.*
), ev AS (
    INSERT INTO events (file_id, zone, kind, worker, detail)
    SELECT id, zone, 'claimed', %(owner)s, jsonb_build_object('attempt', attempts) FROM claimed
)
SELECT * FROM claimed ORDER BY id
"""

HEARTBEAT = """
UPDATE files SET lease_expires = now() + make_interval(secs => %(lease)s)
WHERE id = ANY(%(ids)s) AND lease_owner = %(owner)s AND state = 'processing'
RETURNING id
"""

# Of these files, those still being processed under another worker's lease (taken over).
TAKEN_OVER = """
SELECT id FROM files
WHERE id = ANY(%(ids)s) AND state = 'processing' AND lease_owner IS DISTINCT FROM %(owner)s
"""

RELEASE = """
WITH released AS (
    UPDATE files SET state = 'pending', lease_owner = NULL, lease_expires = NULL,
                     attempts = greatest(attempts - 1, 0), not_before = now()
    WHERE id = ANY(%(ids)s) AND lease_owner = %(owner)s AND state = 'processing'
    RETURNING id, zone
)
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, 'released', %(owner)s, '{"why": "worker stopping"}'::jsonb FROM released
RETURNING file_id
"""

SET_HASH = """
UPDATE files SET sha256 = %(sha256)s
WHERE id = %(id)s AND lease_owner = %(owner)s AND state = 'processing'
RETURNING id
"""

# Who processes this content? The first file to ask owns it until it ends in failure, or
# until what it produced no longer stands (see CONTENT_OWNER).
CLAIM_CONTENT = """
INSERT INTO file_contents (zone, sha256, pipeline_version, file_id)
VALUES (%(zone)s, %(sha256)s, %(pipeline_version)s, %(id)s)
ON CONFLICT (zone, sha256, pipeline_version) DO NOTHING
RETURNING file_id
"""

# ``stands``: the owner's result is still there. For a file the ``index`` step put into a
# knowledge domain, that is its document, still holding this content in that domain (a
# deleted domain, a deleted or synced-away document, or a later version of the same
# source, means the content is no longer indexed); any other result always stands.
# ``before_me``: the owner finished before this file was detected (a re-index request
# re-does older results, not the one another file of the same request just made).
CONTENT_OWNER = """
SELECT c.file_id, f.state, f.target_state, f.lease_expires > now() AS live,
       CASE WHEN f.result #> '{steps,index,document_id}' IS NULL THEN true
            ELSE EXISTS (
                SELECT 1 FROM documents d JOIN domains m ON m.id = d.domain_id
                WHERE d.id = (f.result #>> '{steps,index,document_id}')::bigint
                  AND d.content_hash = c.sha256
                  AND m.name = f.result #>> '{steps,index,domain}')
       END AS stands,
       coalesce(f.finished_at < (SELECT detected_at FROM files WHERE id = %(id)s), false)
           AS before_me
FROM file_contents c JOIN files f ON f.id = c.file_id
WHERE c.zone = %(zone)s AND c.sha256 = %(sha256)s AND c.pipeline_version = %(pipeline_version)s
FOR UPDATE OF c
"""

TAKE_CONTENT = """
UPDATE file_contents SET file_id = %(id)s
WHERE zone = %(zone)s AND sha256 = %(sha256)s AND pipeline_version = %(pipeline_version)s
  AND file_id = %(previous)s
"""

PLAN_FINISH = """
UPDATE files
SET target_state = %(target)s, dest_key = %(dest_key)s, error = %(error)s, result = %(result)s,
    duplicate_of = %(duplicate_of)s
WHERE id = %(id)s AND lease_owner = %(owner)s AND state = 'processing'
RETURNING id
"""

FINISH = """
WITH done AS (
    UPDATE files
    SET state = target_state, location = %(location)s, lease_owner = NULL,
        lease_expires = NULL, finished_at = now()
    WHERE id = %(id)s AND lease_owner = %(owner)s AND state = 'processing'
    RETURNING id, zone, key_bytes, state, dest_key
)
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, state, %(owner)s, jsonb_build_object('location', %(location)s::text,
                                                     'dest_key', dest_key)
FROM done
RETURNING file_id
"""

MARK_REPLACES = """
UPDATE files SET replaces = (
    SELECT o.id FROM files o
    WHERE o.zone = %(zone)s AND o.key_bytes = %(key_bytes)s AND o.id < %(id)s
      AND o.state = 'done'
    ORDER BY o.id DESC LIMIT 1)
WHERE id = %(id)s
"""

RETRY_LATER = """
WITH later AS (
    UPDATE files
    SET state = 'pending', lease_owner = NULL, lease_expires = NULL, error = %(error)s,
        attempts = greatest(attempts - %(uncount)s, 0),
        not_before = now() + make_interval(secs => %(delay)s)
    WHERE id = %(id)s AND lease_owner = %(owner)s AND state = 'processing'
    RETURNING id, zone
)
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, 'retry_later', %(owner)s,
       jsonb_build_object('delay_seconds', %(delay)s::float8, 'error', %(error)s::jsonb)
FROM later
RETURNING file_id
"""

MARK_GONE = """
WITH gone AS (
    UPDATE files
    SET state = %(state)s, location = 'gone', lease_owner = NULL, lease_expires = NULL,
        error = %(error)s, finished_at = now()
    WHERE id = %(id)s AND lease_owner = %(owner)s AND state = 'processing'
    RETURNING id, zone
)
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, %(state)s, %(owner)s, %(error)s::jsonb FROM gone
RETURNING file_id
"""

# A ``step`` event as a pipeline step starts, only while the lease is still this worker's
# (no row: the lease was lost). The upload page and ``GET /api/v1/uploads/{id}`` read it
# as the file's live stage; the events, in order, are its stage history.
STEP = """
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, 'step', %(owner)s, jsonb_build_object('step', %(step)s::text)
FROM files WHERE id = %(id)s AND lease_owner = %(owner)s AND state = 'processing'
RETURNING file_id
"""

ADD_EVENT = """
INSERT INTO events (file_id, zone, kind, worker, detail)
VALUES (%(id)s, %(zone)s, %(kind)s, %(worker)s, %(detail)s)
"""

SET_RUN_ID = "UPDATE files SET mlflow_run_id = %(run_id)s WHERE id = ANY(%(ids)s)"

# --- reading ---------------------------------------------------------------------------------

COUNTS = "SELECT state, count(*) FROM files WHERE zone = %(zone)s GROUP BY state"
ZONES_WAITING = "SELECT DISTINCT zone FROM files WHERE state = 'pending' ORDER BY zone"

OLDEST_PENDING = """
SELECT min(detected_at) FROM files WHERE zone = %(zone)s AND state IN ('pending', 'processing')
"""

THROUGHPUT = """
SELECT count(*) FILTER (WHERE finished_at > now() - interval '5 minutes'),
       count(*) FILTER (WHERE finished_at > now() - interval '1 hour')
FROM files WHERE zone = %(zone)s AND finished_at > now() - interval '1 hour'
"""

# Files finished (any final state) in each zone per ``step`` seconds over the last ``span``
# seconds: ``ago`` is how many steps back the bucket is (0 = the newest).
FINISHED_BUCKETS = """
SELECT zone, floor(extract(epoch FROM (now() - finished_at)) / %(step)s)::int AS ago, count(*)
FROM files
WHERE zone = ANY(%(zones)s) AND finished_at > now() - make_interval(secs => %(span)s)
GROUP BY zone, ago
"""

RECENT_FAILURES = """
SELECT * FROM files
WHERE state IN ('failed', 'dead') AND location = 'failed' AND zone = ANY(%(zones)s)
ORDER BY finished_at DESC NULLS LAST, id DESC
LIMIT %(limit)s
"""

RECENT_FILES = """
SELECT * FROM files WHERE zone = ANY(%(zones)s) ORDER BY id DESC LIMIT %(limit)s
"""

UNFINISHED = """
SELECT count(*) FROM files
WHERE zone = ANY(%(zones)s) AND state IN ('pending', 'processing')
"""

FILE_BY_ID = "SELECT * FROM files WHERE id = %(id)s"

FILES_BY_KEY = """
SELECT * FROM files WHERE key = %(key)s AND (%(zone)s::text IS NULL OR zone = %(zone)s)
ORDER BY id
"""

EVENTS_FOR = """
SELECT id, file_id, zone, at, kind, worker, detail FROM events
WHERE file_id = ANY(%(ids)s) ORDER BY id
"""

FAILED_FILES = """
SELECT * FROM files
WHERE state IN ('failed', 'dead') AND location = 'failed'
  AND (%(zone)s::text IS NULL OR zone = %(zone)s)
ORDER BY id
"""

MARK_RETRIED = """
WITH r AS (
    UPDATE files SET location = 'gone'
    WHERE id = %(id)s AND state IN ('failed', 'dead') AND location = 'failed'
    RETURNING id, zone
)
INSERT INTO events (file_id, zone, kind, worker, detail)
SELECT id, zone, 'retried', %(worker)s, jsonb_build_object('moved_back_to', %(key)s::text)
FROM r RETURNING file_id
"""


# --- rows ------------------------------------------------------------------------------------


def key_to_bytes(key: str) -> bytes:
    """The exact bytes of a key (local names that are not UTF-8 round-trip too)."""
    return key.encode("utf-8", "surrogateescape")


def key_from_bytes(data: bytes) -> str:
    return bytes(data).decode("utf-8", "surrogateescape")


def display_key(key: str) -> str:
    """A printable, storable form of a key (PostgreSQL text holds no NUL or bad UTF-8)."""
    text = key_to_bytes(key).decode("utf-8", "backslashreplace")
    return text.replace("\x00", "\\x00")


@dataclass(frozen=True)
class Sighting:
    """One object seen in a zone's incoming/ folder (key relative to incoming/)."""

    key: str
    fingerprint: str
    size: int
    modified: datetime | None
    kind: str = "file"


@dataclass(frozen=True)
class FileRow:
    """A ``files`` row."""

    id: int
    zone: str
    key: str
    fingerprint: str
    generation: int
    size: int
    kind: str
    sha256: str | None
    pipeline: str
    pipeline_version: str
    state: str
    location: str
    attempts: int
    max_attempts: int
    target_state: str | None
    dest_key: str | None
    error: dict | None
    result: dict | None
    duplicate_of: int | None
    replaces: int | None
    mlflow_run_id: str | None
    detected_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    modified: datetime | None = None
    reindex: bool = False  # dropped by ``ingest --reindex``: redo content that is indexed

    @property
    def display_key(self) -> str:
        return display_key(self.key)

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["key"] = self.display_key
        return out


def claim_steps(events: Sequence[dict[str, Any]]) -> list[str]:
    """The pipeline steps started since the file's latest ``claimed`` event, in order."""
    steps: list[str] = []
    for event in events:
        if event["kind"] == "claimed":
            steps = []
        elif event["kind"] == "step":
            steps.append(str((event.get("detail") or {}).get("step")))
    return steps


def current_stage(state: str, events: Sequence[dict[str, Any]]) -> str | None:
    """The pipeline step a file is in while ``processing`` (its latest ``step`` event since
    it was claimed); ``None`` otherwise, or before its first step starts (fetching)."""
    steps = claim_steps(events) if state == "processing" else []
    return steps[-1] if steps else None


def _dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _row(data: dict[str, Any]) -> FileRow:
    fields = FileRow.__dataclass_fields__
    values = {k: v for k, v in data.items() if k in fields}
    values["key"] = key_from_bytes(data["key_bytes"])
    return FileRow(**values)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


class Ledger:
    """Queries on the ledger, through the session manager's pool."""

    def __init__(self, sm: Any) -> None:
        self.sm = sm

    # -- detection ----------------------------------------------------------------------------
    def record(
        self,
        zone: Any,
        pipeline: Any,
        sightings: Sequence[Sighting],
        *,
        seen_after: datetime,
        worker: str | None = None,
        by: str = "scan",
        reindex: bool = False,
    ) -> list[int]:
        """Insert the sightings that are new; return the new row ids (and NOTIFY workers).

        ``reindex`` marks the new rows as a deliberate re-index: their content is processed
        again even when an earlier file's result for it still stands.
        """
        if not sightings:
            return []
        params = {
            "zone": zone.name,
            "pipeline": pipeline.name,
            "pipeline_version": pipeline.version,
            "max_attempts": zone.settings.max_attempts,
            "reindex": bool(reindex),
            "worker": worker,
            "by": by,
            "keys": [display_key(s.key) for s in sightings],
            "key_bytes": [key_to_bytes(s.key) for s in sightings],
            "fingerprints": [s.fingerprint for s in sightings],
            "sizes": [s.size for s in sightings],
            "modified": [s.modified for s in sightings],
            "kinds": [s.kind for s in sightings],
        }
        with self.sm.connection() as conn, conn.transaction():
            new = conn.execute(INSERT_SIGHTINGS, params).fetchall()
            ids = [r[0] for r in new]
            if len(new) < len(sightings):
                ids += self._record_redrops(conn, params, new, seen_after)
            if ids:
                conn.execute(NOTIFY, {"channel": NOTIFY_CHANNEL, "zone": zone.name})
        return ids

    def _record_redrops(
        self, conn: Any, params: dict[str, Any], new: list, seen_after: datetime
    ) -> list[int]:
        inserted = {(bytes(r[1]), r[2]) for r in new}
        rest = [
            (kb, fp)
            for kb, fp in zip(params["key_bytes"], params["fingerprints"], strict=True)
            if (kb, fp) not in inserted
        ]
        found = conn.execute(
            FIND_REDROPS,
            {
                "zone": params["zone"],
                "key_bytes": [kb for kb, _ in rest],
                "fingerprints": [fp for _, fp in rest],
                "seen_after": seen_after,
            },
        ).fetchall()
        ids = []
        for key_bytes, fingerprint, generation, key, size, modified, kind in found:
            row = conn.execute(
                INSERT_REDROP,
                {
                    **{k: params[k] for k in ("zone", "pipeline", "pipeline_version", "reindex")},
                    "max_attempts": params["max_attempts"],
                    "worker": params["worker"],
                    "key": key,
                    "key_bytes": key_bytes,
                    "fingerprint": fingerprint,
                    "generation": generation,
                    "size": size,
                    "modified": modified,
                    "kind": kind,
                },
            ).fetchone()
            if row:
                ids.append(row[0])
        return ids

    # -- claims -------------------------------------------------------------------------------
    def claim(
        self, zones: Sequence[str], owner: str, *, lease: float, limit: int = 1
    ) -> list[FileRow]:
        """Lease up to ``limit`` claimable files (pending and due, or with an expired lease)."""
        params = {"zones": list(zones), "owner": owner, "lease": lease, "limit": limit}
        with self.sm.connection() as conn:
            cur = conn.execute(CLAIM, params)
            return [_row(d) for d in _dicts(cur)]

    def heartbeat(self, owner: str, ids: Iterable[int], *, lease: float) -> set[int]:
        """Extend the leases; return the ids still held."""
        ids = list(ids)
        if not ids:
            return set()
        with self.sm.connection() as conn:
            rows = conn.execute(HEARTBEAT, {"ids": ids, "owner": owner, "lease": lease})
            return {r[0] for r in rows.fetchall()}

    def taken_over(self, owner: str, ids: Iterable[int]) -> set[int]:
        """Of ``ids``, the files another worker now processes (``owner``'s lease was taken)."""
        ids = sorted(ids)
        if not ids:
            return set()
        with self.sm.connection() as conn:
            rows = conn.execute(TAKEN_OVER, {"ids": ids, "owner": owner})
            return {r[0] for r in rows.fetchall()}

    def release(self, owner: str, ids: Iterable[int]) -> int:
        """Give leases back (graceful stop): the files are pending again at once."""
        ids = list(ids)
        if not ids:
            return 0
        with self.sm.connection() as conn:
            return len(conn.execute(RELEASE, {"ids": ids, "owner": owner}).fetchall())

    def set_hash(self, row: FileRow, owner: str, sha256: str) -> bool:
        with self.sm.connection() as conn:
            cur = conn.execute(SET_HASH, {"id": row.id, "owner": owner, "sha256": sha256})
            return cur.fetchone() is not None

    def claim_content(
        self, row: FileRow, sha256: str, worker: str | None = None
    ) -> tuple[str, int | None]:
        """Decide who processes this content: ``("mine", None)``, ``("duplicate", id)`` or
        ``("busy", id)`` (another file with the same bytes is being processed right now).

        A duplicate means the content's result still stands: for the ``index`` step, the
        document it made is still in its domain. When it is not (domain or document
        deleted, synced away, replaced by a later version), or when ``row.reindex`` asks
        to redo a result that was there before this file was detected, this file takes
        the content over and a ``content_released`` event on the earlier file says why.
        """
        params = {
            "zone": row.zone,
            "sha256": sha256,
            "pipeline_version": row.pipeline_version,
            "id": row.id,
        }
        with self.sm.connection() as conn, conn.transaction():
            if conn.execute(CLAIM_CONTENT, params).fetchone():
                return "mine", None
            owner = conn.execute(CONTENT_OWNER, params).fetchone()
            if owner is None:  # pragma: no cover - the row above exists; FK forbids deletes
                return "busy", None
            owner_id, state, target, live, stands, before_me = owner
            if owner_id == row.id:
                return "mine", None
            if state == "done" or (state == "processing" and target == "done"):
                redo = row.reindex and before_me
                if stands and not redo:
                    return "duplicate", owner_id
                if state == "processing" and live:
                    return "busy", owner_id  # its move is still under way
                why = "re-index requested" if stands else "its document is no longer indexed"
                conn.execute(TAKE_CONTENT, {**params, "previous": owner_id})
                conn.execute(
                    ADD_EVENT,
                    {
                        "id": owner_id,
                        "zone": row.zone,
                        "kind": "content_released",
                        "worker": worker,
                        "detail": _json({"why": why, "taken_by": row.id}),
                    },
                )
                return "mine", None
            if state == "processing" and live:
                return "busy", owner_id
            conn.execute(TAKE_CONTENT, {**params, "previous": owner_id})
            return "mine", None

    # -- finishing ----------------------------------------------------------------------------
    def plan_finish(
        self,
        row: FileRow,
        owner: str,
        *,
        target: str,
        dest_key: str,
        error: dict | None = None,
        result: dict | None = None,
        duplicate_of: int | None = None,
    ) -> bool:
        """Record where the file is about to move (before the move starts)."""
        params = {
            "id": row.id,
            "owner": owner,
            "target": target,
            "dest_key": dest_key,
            "error": _json(error),
            "result": _json(result),
            "duplicate_of": duplicate_of,
        }
        with self.sm.connection() as conn:
            return conn.execute(PLAN_FINISH, params).fetchone() is not None

    def finish(self, row: FileRow, owner: str, *, location: str) -> bool:
        """The move is done: the file is in ``location``; its state becomes the planned one."""
        with self.sm.connection() as conn, conn.transaction():
            ok = conn.execute(FINISH, {"id": row.id, "owner": owner, "location": location})
            ok = ok.fetchone() is not None
            if ok and row.target_state == "done":
                conn.execute(
                    MARK_REPLACES,
                    {"zone": row.zone, "key_bytes": key_to_bytes(row.key), "id": row.id},
                )
            return ok

    def retry_later(
        self, row: FileRow, owner: str, *, error: dict, delay: float, count: bool = True
    ) -> bool:
        """Back to pending after ``delay`` s; ``count=False`` does not use up an attempt."""
        params = {
            "id": row.id,
            "owner": owner,
            "error": _json(error),
            "delay": delay,
            "uncount": 0 if count else 1,
        }
        with self.sm.connection() as conn:
            return conn.execute(RETRY_LATER, params).fetchone() is not None

    def mark_gone(self, row: FileRow, owner: str, *, state: str, error: dict) -> bool:
        """The file left incoming/ by someone else's hand (vanished) or was overwritten."""
        params = {"id": row.id, "owner": owner, "state": state, "error": _json(error)}
        with self.sm.connection() as conn:
            return conn.execute(MARK_GONE, params).fetchone() is not None

    def event(
        self, file_id: int | None, zone: str, kind: str, worker: str | None, detail: dict
    ) -> None:
        params = {
            "id": file_id,
            "zone": zone,
            "kind": kind,
            "worker": worker,
            "detail": _json(detail),
        }
        with self.sm.connection() as conn:
            conn.execute(ADD_EVENT, params)

    def step(self, row: FileRow, owner: str, name: str) -> bool:
        """Record that pipeline step ``name`` starts; False when the lease was lost."""
        params = {"id": row.id, "owner": owner, "step": name}
        with self.sm.connection() as conn:
            return conn.execute(STEP, params).fetchone() is not None

    def set_run_id(self, ids: Sequence[int], run_id: str) -> None:
        with self.sm.connection() as conn:
            conn.execute(SET_RUN_ID, {"ids": list(ids), "run_id": run_id})

    # -- reading ------------------------------------------------------------------------------
    def get(self, file_id: int) -> FileRow | None:
        with self.sm.connection() as conn:
            rows = _dicts(conn.execute(FILE_BY_ID, {"id": file_id}))
        return _row(rows[0]) if rows else None

    def by_key(self, key: str, zone: str | None = None) -> list[FileRow]:
        with self.sm.connection() as conn:
            rows = _dicts(conn.execute(FILES_BY_KEY, {"key": key, "zone": zone}))
        return [_row(d) for d in rows]

    def events(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        with self.sm.connection() as conn:
            return _dicts(conn.execute(EVENTS_FOR, {"ids": list(ids)}))

    def failed(self, zone: str | None = None) -> list[FileRow]:
        with self.sm.connection() as conn:
            return [_row(d) for d in _dicts(conn.execute(FAILED_FILES, {"zone": zone}))]

    def mark_retried(self, row: FileRow, worker: str | None) -> bool:
        params = {"id": row.id, "worker": worker, "key": row.display_key}
        with self.sm.connection() as conn:
            return conn.execute(MARK_RETRIED, params).fetchone() is not None

    def zones_waiting(self) -> list[str]:
        """The zones that have pending files (a worker adopts those it does not know)."""
        with self.sm.connection() as conn:
            return [zone for (zone,) in conn.execute(ZONES_WAITING).fetchall()]

    def status(self, zone: str) -> dict[str, Any]:
        with self.sm.connection() as conn:
            counts = dict(conn.execute(COUNTS, {"zone": zone}).fetchall())
            oldest = conn.execute(OLDEST_PENDING, {"zone": zone}).fetchone()[0]
            last5, last60 = conn.execute(THROUGHPUT, {"zone": zone}).fetchone()
        return {
            "counts": counts,
            "oldest_pending": oldest,
            "finished_last_5_min": last5,
            "finished_last_hour": last60,
        }

    def throughput(
        self, zones: Sequence[str], *, span: int = 3600, step: int = 300
    ) -> dict[str, list[int]]:
        """Files finished (any final state) per ``step`` seconds over the last ``span``
        seconds, per zone: ``span // step`` counts, oldest first (every zone named has a
        list, of zeros when nothing finished)."""
        if not (1 <= step <= span <= 7 * 24 * 3600) or span % step:
            raise ValueError("span and step: 1 <= step <= span <= 1 week, span a multiple")
        n = span // step
        out = {zone: [0] * n for zone in zones}
        params = {"zones": list(zones), "span": span, "step": step}
        with self.sm.connection() as conn:
            for zone, ago, count in conn.execute(FINISHED_BUCKETS, params).fetchall():
                if zone in out and 0 <= ago < n:
                    out[zone][n - 1 - ago] += count
        return out

    def recent_failures(self, zones: Sequence[str], limit: int = 20) -> list[FileRow]:
        """The newest failed (or dead) files still in failed/ of these zones: retryable."""
        params = {"zones": list(zones), "limit": max(1, min(limit, 1000))}
        with self.sm.connection() as conn:
            return [_row(d) for d in _dicts(conn.execute(RECENT_FAILURES, params))]

    def recent_files(self, zones: Sequence[str], limit: int = 20) -> list[FileRow]:
        """The newest files of these zones in any state (the dashboard names each one)."""
        params = {"zones": list(zones), "limit": max(1, min(limit, 1000))}
        with self.sm.connection() as conn:
            return [_row(d) for d in _dicts(conn.execute(RECENT_FILES, params))]

    def unfinished(self, zones: Sequence[str], owner: str) -> int:
        """Files not finished yet, including those leased by other workers (for ``--once``:
        a lease held by a dead worker expires and this worker takes the file over)."""
        with self.sm.connection() as conn:
            row = conn.execute(UNFINISHED, {"zones": list(zones), "owner": owner}).fetchone()
            return int(row[0])
