"""At ingest: store what the file says and what its sidecar says as metadata layers.

Called by the drop-zone ``index`` step once a document is indexed (also when its content
was unchanged), and by ``tidyllm ingest`` for a file whose content was already there
(its sidecar may have changed). Writes exactly two layers, each whole
(``replace=True``): ``extracted`` (:func:`tidyllm.extraction.metadata.file_metadata`)
and ``sidecar`` (:mod:`tidyllm.knowledge.sidecars`; empty when there is none), so what a
person edited and what was fetched from arXiv/Crossref survive every re-ingest. The
sidecar's ``collections`` are created in the document's domain when missing and the
document is added to them (a collection is never left by a re-ingest: membership is the
collections' to manage).

Never raises: a failure is a warning in the returned summary (which the index step puts
in the ledger row's result and the file's report) and in the log.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tidyllm.extraction.metadata import file_metadata
from tidyllm.knowledge.metadata import MetadataError, normalise, write_layer
from tidyllm.knowledge.sidecars import Folder, LocalFolder, Sidecar, StoreFolder, read_sidecar
from tidyllm.redaction import redact

log = logging.getLogger(__name__)


def sidecar_folder(sm: Any, zone: Any, key: str) -> tuple[Folder | None, str]:
    """The folder a zone's file came from, and its name there.

    A copy ``tidyllm ingest`` made (key ``file/<path>`` or ``s3/<bucket>/<key>`` in an
    ingest zone) is described by the files beside its original; a file dropped into a
    zone by the files beside it in ``incoming/``.
    """
    from tidyllm.dropzones.api import INGEST_ZONE_PREFIX
    from tidyllm.dropzones.zone import INCOMING
    from tidyllm.knowledge.ingest import original_uri

    folder_key, _, name = key.rpartition("/")
    origin = original_uri(key) if zone.name.startswith(INGEST_ZONE_PREFIX) else None
    if origin is None:
        prefix = INCOMING + (folder_key + "/" if folder_key else "")
        return StoreFolder(zone.store, prefix), name
    if origin.startswith("s3://"):
        bucket, _, object_key = origin[len("s3://") :].partition("/")
        parent = object_key.rpartition("/")[0]
        return StoreFolder(
            sm.object_store_for(f"s3://{bucket}"), parent + "/" if parent else ""
        ), name
    path = Path(urllib.request.url2pathname(urllib.parse.urlparse(origin).path))
    return LocalFolder(path.parent), path.name


def record_file_metadata(
    sm: Any,
    *,
    domain: str,
    document_id: int,
    document: Any,
    folder: Folder | None,
    name: str,
    extracted: bool = True,
) -> dict[str, Any]:
    """Write the ``extracted`` (unless ``extracted=False``) and ``sidecar`` layers.

    Returns a JSON-ready summary: the fields each layer set, the sidecar files read, the
    collections joined and every warning.
    """
    summary: dict[str, Any] = {"warnings": []}
    warnings: list[str] = summary["warnings"]
    try:
        found = _checked(file_metadata(document), warnings) if extracted else None
        sidecar = read_sidecar(folder, name)
    except Exception as exc:  # a bug here must not fail a file that indexed fine
        log.warning("metadata of %s not read: %s", name, redact(exc))
        warnings.append(f"metadata not read: {exc.__class__.__name__}: {redact(exc)}")
        found, sidecar = ({} if extracted else None), Sidecar()
    warnings += sidecar.warnings
    try:
        with sm.connection() as conn, conn.transaction():
            if found is not None:
                write_layer(conn, document_id, "extracted", found, replace=True)
            write_layer(conn, document_id, "sidecar", sidecar.values, replace=True)
    except Exception as exc:
        log.warning("metadata of document %s not stored: %s", document_id, redact(exc))
        warnings.append(f"metadata not stored: {exc.__class__.__name__}: {redact(exc)}")
        return summary
    if found is not None:
        summary["extracted"] = sorted(found)
    document_id = _merge_same_paper(sm, document_id, summary, warnings)
    summary["sidecar"] = sorted(sidecar.values)
    if sidecar.sources:
        summary["sidecar_files"] = sidecar.sources
    if sidecar.collections:
        summary["collections"] = _join(sm, domain, document_id, sidecar.collections, warnings)
    for message in warnings:
        log.info("metadata of document %s: %s", document_id, message)
    return summary


def _merge_same_paper(sm: Any, document_id: int, summary: dict, warnings: list[str]) -> int:
    """The document the file's DOI or arXiv id says it is: an older one of the domain with
    the same identifier absorbs this one (:func:`tidyllm.knowledge.dedup.merge_identified`;
    a newer arXiv version brings its content). Returns the surviving document's id."""
    from tidyllm.knowledge.dedup import merge_identified

    try:
        merged = merge_identified(sm, document_id)
    except Exception as exc:
        log.warning("document %s not checked for its identifiers: %s", document_id, redact(exc))
        warnings.append(f"identifiers not checked: {exc.__class__.__name__}: {redact(exc)}")
        return document_id
    if merged is None:
        return document_id
    summary["merged_into"] = merged.kept
    summary["merged_because"] = merged.reason
    return merged.kept


def _checked(values: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out.update(normalise({key: value}))
        except MetadataError as exc:
            warnings.append(f"extracted {key} ignored: {exc}")
    return out


def _join(sm: Any, domain: str, document_id: int, names: list[str], warnings: list[str]) -> list:
    """Add the document to each collection, creating the missing ones; returns those joined."""
    from tidyllm.knowledge.collections import (
        CatalogError,
        CollectionExists,
        add_to_collection,
        create_collection,
    )

    joined = []
    for name in names:
        try:
            with contextlib.suppress(CollectionExists):
                create_collection(sm, name, domain=domain)
            add_to_collection(sm, name, [document_id], domain=domain)
            joined.append(name)
        except CatalogError as exc:
            warnings.append(f"collection {name!r:.80} not joined: {exc}")
        except Exception as exc:
            warnings.append(f"collection {name!r:.80} not joined: {exc.__class__.__name__}")
    return joined


def refresh_sidecar(sm: Any, *, domain: str, zone: Any, key: str) -> dict[str, Any] | None:
    """For a file whose content was already indexed (a ``duplicate``): re-read its sidecar.

    The document is the one indexed from the same key of the zone; None when there is none
    (the same bytes under another name: that document keeps its own sidecar).
    """
    from tidyllm.dropzones.zone import INCOMING
    from tidyllm.knowledge.domains import get_domain

    try:
        with sm.connection() as conn:
            dom = get_domain(conn, domain)
            row = conn.execute(
                "SELECT id FROM documents WHERE domain_id = %s AND source_uri = %s",
                (dom.id, zone.store.uri(INCOMING + key)),
            ).fetchone()
        if row is None:
            return None
        folder, name = sidecar_folder(sm, zone, key)
    except Exception as exc:
        log.warning("sidecar of %s not refreshed: %s", key, redact(exc))
        return None
    return record_file_metadata(
        sm,
        domain=domain,
        document_id=row[0],
        document=None,
        folder=folder,
        name=name,
        extracted=False,
    )
