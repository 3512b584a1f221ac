"""Collections: named sets of documents inside one domain (a document can be in several).

A collection belongs to a domain; the same name may exist in two domains. A command that
names a collection without its domain finds it among the domains the actor may see: one
match is that collection, several are an error whose hint names each ``--domain``.

Every function takes an ``actor`` (None: the operator). The grant check is in the SQL
that finds the collection (:data:`~tidyllm.access.grants.VISIBLE`), so a collection in a
domain the actor was not granted answers exactly like one that does not exist; reading
needs viewer, changing needs editor (:func:`~tidyllm.knowledge.domains.get_domain`).
Writes by a user are audited in the same transaction (:func:`tidyllm.access.audit.record`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from psycopg import sql

from tidyllm.access.actor import Actor, acting
from tidyllm.access.audit import record
from tidyllm.access.grants import VISIBLE, visibility
from tidyllm.access.roles import Role
from tidyllm.errors import DocumentNotFound, KnowledgeError
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.domains import Domain, get_domain

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$")  # as the table's CHECK
MAX_DESCRIPTION = 2_000
MAX_DOCUMENTS_PER_CALL = 10_000
SHOW_LIMIT = 50


class CatalogError(KnowledgeError):
    """A metadata or collection request that cannot be done; ``hint`` says what to do.

    ``str(error)`` joins message and hint (as :class:`~tidyllm.errors.AccessError`), so
    the CLI's one error line carries the hint.
    """

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message = message
        self.hint = hint


class CollectionNotFound(CatalogError, LookupError):
    """No such collection (or none the actor may see: the same error)."""


class CollectionExists(CatalogError):
    """A collection of that name already exists in the domain."""


@dataclass(frozen=True)
class Collection:
    """One collection with its domain and how many documents it holds."""

    id: int
    domain: str
    name: str
    description: str
    documents: int
    created_at: datetime


@dataclass(frozen=True)
class CollectionDetail:
    """A collection and its first documents (id, title), newest first."""

    collection: Collection
    documents: list[tuple[int, str | None]]


@dataclass(frozen=True)
class Membership:
    """What an add or remove did: ``changed`` ids were added/removed, ``unchanged`` were
    already in (add) or not in (remove) the collection."""

    collection: Collection
    changed: list[int]
    unchanged: list[int]


_COUNT = "(SELECT count(*) FROM collection_documents cd WHERE cd.collection_id = c.id)"
_FIND = sql.SQL(
    "SELECT c.id, d.name, c.name, c.description, " + _COUNT + ", c.created_at "
    "FROM collections c JOIN domains d ON d.id = c.domain_id "
    "WHERE c.name = %(name)s AND (%(domain)s::text IS NULL OR d.name = %(domain)s) "
    "AND {visible} ORDER BY d.name"
).format(visible=VISIBLE)
_LIST = sql.SQL(
    "SELECT c.id, d.name, c.name, c.description, " + _COUNT + ", c.created_at "
    "FROM collections c JOIN domains d ON d.id = c.domain_id "
    "WHERE (%(domain_id)s::bigint IS NULL OR d.id = %(domain_id)s) AND {visible} "
    "ORDER BY d.name, c.name"
).format(visible=VISIBLE)
_NAMES_IN = "SELECT name FROM collections WHERE domain_id = %s ORDER BY name LIMIT 20"


def check_collection_name(name: object) -> str:
    """A valid collection name or a clear error."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise CatalogError(
            f"invalid collection name {str(name)[:80]!r}",
            hint="use 1-128 letters, digits, spaces, '.', '_' or '-', starting with a letter "
            "or digit",
        )
    return name


def check_document_ids(ids: Iterable[object]) -> list[int]:
    """Ids that may exist (anything else: :class:`DocumentNotFound`), without repeats."""
    out: list[int] = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise DocumentNotFound(f"no document {str(value)[:40]}")
        if value not in out:
            out.append(value)
    if not out:
        raise CatalogError("no document ids given")
    if len(out) > MAX_DOCUMENTS_PER_CALL:
        raise CatalogError(f"at most {MAX_DOCUMENTS_PER_CALL} documents at a time")
    return out


def _row(row: tuple[Any, ...]) -> Collection:
    return Collection(row[0], row[1], row[2], row[3], int(row[4]), row[5])


def _not_found(conn: Any, name: str, dom: Domain | None, actor: Actor | None) -> CollectionNotFound:
    where = f" in domain {dom.name!r}" if dom else ""
    if dom is not None:
        names = [r[0] for r in conn.execute(_NAMES_IN, (dom.id,))]
        if names:
            hint = f"its collections: {', '.join(names)}"
        else:
            hint = f"create it: `tidyllm collections create {_quote(name)} --domain {dom.name}`"
    elif acting(actor).user_id is None:
        hint = "`tidyllm collections list` shows the collections there are"
    else:
        hint = "the collection list shows the collections you can use"
    return CollectionNotFound(f"no collection {name!r}{where}", hint=hint)


def _quote(name: str) -> str:
    return f"'{name}'" if " " in name else name


def find_collection(
    conn: Any,
    name: str,
    *,
    domain: str | None = None,
    actor: Actor | None = None,
    need: Role = "viewer",
) -> tuple[Collection, Domain]:
    """The collection ``name`` (in ``domain`` when given) as the actor may see it.

    Not visible and not existing are the same :class:`CollectionNotFound`; the same name
    in several visible domains without ``domain`` is a :class:`CatalogError` naming them.
    """
    check_collection_name(name)
    dom = get_domain(conn, domain, actor=actor) if domain is not None else None
    params = {"name": name, "domain": domain, **visibility(actor)}
    rows = conn.execute(_FIND, params).fetchall()
    if not rows:
        raise _not_found(conn, name, dom, actor)
    if len(rows) > 1:
        options = " or ".join(f"--domain {r[1]}" for r in rows)
        raise CatalogError(
            f"collection {name!r} exists in {len(rows)} domains ({', '.join(r[1] for r in rows)})",
            hint=f"name the one you mean: add {options} to the command",
        )
    found = _row(rows[0])
    return found, get_domain(conn, found.domain, actor=actor, need=need)


def collection_id(conn: Any, dom: Domain, name: str, actor: Actor | None = None) -> int:
    """The id of collection ``name`` in the (already checked) domain ``dom``."""
    check_collection_name(name)
    row = conn.execute(
        "SELECT id FROM collections WHERE domain_id = %s AND name = %s", (dom.id, name)
    ).fetchone()
    if row is None:
        raise _not_found(conn, name, dom, actor)
    return int(row[0])


def create_collection(
    sm: Any,
    name: str,
    *,
    domain: str,
    description: str = "",
    actor: Actor | None = None,
) -> Collection:
    """Create an empty collection in ``domain`` (editor)."""
    check_collection_name(name)
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise CatalogError(f"the description must be text of at most {MAX_DESCRIPTION} chars")
    description = " ".join(description.replace("\x00", " ").split())
    with sm.connection() as conn, conn.transaction():
        dom = get_domain(conn, domain, actor=actor, need="editor")
        row = conn.execute(
            "INSERT INTO collections (domain_id, name, description) VALUES (%s, %s, %s) "
            "ON CONFLICT (domain_id, name) DO NOTHING RETURNING id, created_at",
            (dom.id, name, description),
        ).fetchone()
        if row is None:
            raise CollectionExists(
                f"collection {name!r} already exists in domain {dom.name!r}",
                hint=f"`tidyllm collections show {_quote(name)} --domain {dom.name}` shows it",
            )
        if actor is not None:
            record(conn, actor, "collection.create", f"collection:{dom.name}/{name}")
    return Collection(row[0], dom.name, name, description, 0, row[1])


def list_collections(
    sm: Any, *, domain: str | None = None, actor: Actor | None = None
) -> list[Collection]:
    """Every collection the actor may see (of ``domain``), by domain then name."""
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor) if domain is not None else None
        params = {"domain_id": dom.id if dom else None, **visibility(actor)}
        return [_row(r) for r in conn.execute(_LIST, params)]


def show_collection(
    sm: Any,
    name: str,
    *,
    domain: str | None = None,
    limit: int = SHOW_LIMIT,
    actor: Actor | None = None,
) -> CollectionDetail:
    """A collection and its first ``limit`` documents (newest first)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise CatalogError("limit must be 1..1000")
    with sm.connection() as conn:
        found, _ = find_collection(conn, name, domain=domain, actor=actor)
        rows = conn.execute(
            "SELECT doc.id, doc.title FROM collection_documents cd "
            "JOIN documents doc ON doc.id = cd.document_id WHERE cd.collection_id = %s "
            "ORDER BY doc.id DESC LIMIT %s",
            (found.id, limit),
        ).fetchall()
    return CollectionDetail(found, [(r[0], r[1]) for r in rows])


def delete_collection(
    sm: Any, name: str, *, domain: str | None = None, actor: Actor | None = None
) -> Collection:
    """Delete a collection (editor); its documents stay. Returns what was deleted."""
    with sm.connection() as conn, conn.transaction():
        found, dom = find_collection(conn, name, domain=domain, actor=actor, need="editor")
        conn.execute("DELETE FROM collections WHERE id = %s", (found.id,))
        if actor is not None:
            detail = {"documents": found.documents}
            record(conn, actor, "collection.delete", f"collection:{dom.name}/{name}", detail)
    return found


def _members(conn: Any, collection: Collection, dom: Domain, ids: list[int]) -> set[int]:
    """Which of ``ids`` are in the collection; every id must be a document of ``dom``."""
    known = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM documents WHERE domain_id = %s AND id = ANY(%s) FOR SHARE",
            (dom.id, ids),
        )
    }
    missing = [i for i in ids if i not in known]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise DocumentNotFound(
            f"no document {shown} in domain {dom.name!r}; nothing was changed "
            f"(`tidyllm docs list {dom.name}` lists its documents)"
        )
    return {
        r[0]
        for r in conn.execute(
            "SELECT document_id FROM collection_documents "
            "WHERE collection_id = %s AND document_id = ANY(%s)",
            (collection.id, ids),
        )
    }


def add_to_collection(
    sm: Any,
    name: str,
    document_ids: Iterable[int],
    *,
    domain: str | None = None,
    actor: Actor | None = None,
) -> Membership:
    """Put documents of the collection's domain into it (editor); all or nothing."""
    return _change_members(sm, name, document_ids, domain, actor, add=True)


def remove_from_collection(
    sm: Any,
    name: str,
    document_ids: Iterable[int],
    *,
    domain: str | None = None,
    actor: Actor | None = None,
) -> Membership:
    """Take documents out of a collection (editor); the documents stay in the domain."""
    return _change_members(sm, name, document_ids, domain, actor, add=False)


def _change_members(
    sm: Any,
    name: str,
    document_ids: Iterable[int],
    domain: str | None,
    actor: Actor | None,
    *,
    add: bool,
) -> Membership:
    """Add (every id must be a document of the domain) or remove documents, audited;
    ``changed`` in the order given, ``unchanged`` the ones already in (or not in) it."""
    ids = check_document_ids(document_ids)
    with sm.connection() as conn, conn.transaction():
        found, dom = find_collection(conn, name, domain=domain, actor=actor, need="editor")
        if add:
            already = _members(conn, found, dom, ids)
            changed = [i for i in ids if i not in already]
            conn.execute(
                "INSERT INTO collection_documents (collection_id, document_id) "
                "SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                (found.id, changed),
            )
        else:
            gone = {
                r[0]
                for r in conn.execute(
                    "DELETE FROM collection_documents WHERE collection_id = %s "
                    "AND document_id = ANY(%s) RETURNING document_id",
                    (found.id, ids),
                )
            }
            changed = [i for i in ids if i in gone]
        if actor is not None and changed:
            action = "collection.add" if add else "collection.remove"
            record(
                conn, actor, action, f"collection:{dom.name}/{name}", {"documents": changed[:1000]}
            )
    count = found.documents + (len(changed) if add else -len(changed))
    done = set(changed)
    return Membership(replace(found, documents=count), changed, [i for i in ids if i not in done])
