"""Smart routing of uploads: which domain a file goes to, by rules in the settings, and why.

``upload.routes`` is a list of rules, each with a name, conditions on the file (its
detected MIME type, exact or ``family/*``; a glob on its base name, case-insensitive;
a smallest and a largest size) and a domain. The first rule whose conditions all hold
wins; ``upload.default_domain``, when set, takes what no rule matched. A decision says
which rule chose and each condition that held, so the person uploading sees why.

:func:`route_upload` is pure (rules and facts in, decision out). :func:`route_for` is
what the API asks: it decides the type from the file's first bytes as an upload does,
and routes among the rules whose domain the actor may upload into, as if the others did
not exist: a rule to a domain the actor is not an editor of (or one that does not exist)
is never named nor hinted at, and its files fall through to the next rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidyllm.access.actor import Actor
from tidyllm.access.roles import at_least
from tidyllm.errors import PermissionDenied, TidyLLMError
from tidyllm.knowledge.uploads import HEAD_BYTES  # the browser sends what an upload sniffs
from tidyllm.settings.schema import UploadRoute


@dataclass(frozen=True)
class RouteDecision:
    """Where a file goes and why: ``domain`` None when no rule (and no default) applies."""

    domain: str | None
    rule: str | None
    reasons: list[str] = field(default_factory=list)


def _size(n: int) -> str:
    return f"{n:,} bytes"


def type_matches(pattern: str, detected: str | None) -> bool:
    """``application/pdf`` matches itself; ``text/*`` every ``text/...``; case-insensitive."""
    if detected is None:
        return False
    pattern, detected = pattern.lower(), detected.lower()
    if pattern.endswith("/*"):
        return detected.startswith(pattern[:-1])
    return pattern == detected


def name_matches(glob: str, name: str) -> bool:
    """The glob against the base name, both lower-cased (``*.PDF`` matches ``a.pdf``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(base.lower(), glob.lower())


def _check(rule: UploadRoute, name: str, size: int, detected: str | None) -> list[str] | None:
    """Each condition that held, or None as soon as one does not."""
    why = []
    match = rule.match
    if match.type is not None:
        if not type_matches(match.type, detected):
            return None
        why.append(f"type {detected} matched {match.type}")
    if match.name is not None:
        if not name_matches(match.name, name):
            return None
        why.append(f"name matched {match.name}")
    if match.min_bytes is not None:
        if size < match.min_bytes:
            return None
        why.append(f"size {_size(size)} is at least {_size(match.min_bytes)}")
    if match.max_bytes is not None:
        if size > match.max_bytes:
            return None
        why.append(f"size {_size(size)} is at most {_size(match.max_bytes)}")
    return why


def route_upload(
    rules: Sequence[UploadRoute],
    name: str,
    size: int,
    detected_type: str | None,
    *,
    default_domain: str | None = None,
    usable: Collection[str] | None = None,
) -> RouteDecision:
    """The first rule whose conditions all hold for the file, else the default, else none.

    ``usable`` (when given) is the set of domains the decision may name: rules and a
    default pointing elsewhere are treated as absent.
    """

    def allowed(domain: str) -> bool:
        return usable is None or domain in usable

    for rule in rules:
        if not allowed(rule.domain):
            continue
        why = _check(rule, name, size, detected_type)
        if why is not None:
            return RouteDecision(rule.domain, rule.name, why)
    if default_domain is not None and allowed(default_domain):
        return RouteDecision(default_domain, None, ["no rule matched: the default domain"])
    return RouteDecision(None, None, ["no rule applies to you: choose a domain"])


@dataclass(frozen=True)
class RouteAnswer:
    """What the API answers: the decision, the detected type, or why the upload would fail."""

    decision: RouteDecision
    detected_type: str | None
    refused: str | None


def editable_domains(sm: Any, actor: Actor) -> set[str]:
    """The names of the domains ``actor`` may upload into (editor there, or admin)."""
    from tidyllm.access.grants import domain_role
    from tidyllm.knowledge.domains import list_domains

    found = list_domains(sm, actor=actor)
    with sm.connection() as conn:
        return {
            s.domain.name
            for s in found
            if at_least(domain_role(conn, actor, s.domain.id), "editor")
        }


def route_for(sm: Any, actor: Actor, name: str, size: int, head: bytes) -> RouteAnswer:
    """Route a file the browser describes (name, size, first bytes) for ``actor``.

    A user whose role is below editor may upload nowhere: :class:`PermissionDenied`. The
    type is decided as an upload decides it (:func:`~tidyllm.knowledge.uploads.content_type`,
    here on at most :data:`HEAD_BYTES`); a file an upload would refuse is routed nowhere,
    with the reason. Rules to domains the actor may not upload into are invisible.
    """
    from tidyllm.knowledge.uploads import content_type, safe_name

    if not at_least(actor.role, "editor"):
        raise PermissionDenied(
            f"user {actor.name!r} has the {actor.role} role; routing an upload needs editor",
            hint=f"an admin can raise the role: `tidyllm users set-role {actor.name} editor`",
        )
    limit = sm.settings.server.max_upload_bytes
    nowhere = RouteDecision(None, None, ["the upload would be refused"])
    try:
        base = safe_name(name)
        if size > limit:
            return RouteAnswer(
                nowhere, None, f"the file is larger than the server's limit of {_size(limit)}"
            )
        detected = content_type(head[:HEAD_BYTES], base)
    except TidyLLMError as exc:
        return RouteAnswer(nowhere, None, str(getattr(exc, "message", exc)))
    upload = sm.settings.upload
    decision = route_upload(
        upload.routes,
        base,
        size,
        detected,
        default_domain=upload.default_domain,
        usable=editable_domains(sm, actor),
    )
    return RouteAnswer(decision, detected, None)
