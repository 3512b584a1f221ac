"""``90d``-style durations (``--expires``) and ``--since`` values (``1h`` or a date)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tidyllm.errors import AccessError

_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=3650)


def parse_duration(text: object, *, option: str = "--expires") -> timedelta:
    """``30m``, ``12h``, ``90d`` or ``2w`` as a timedelta from one minute to ten years."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    hint = "use a number and a unit: 30m (minutes), 12h (hours), 90d (days) or 2w (weeks)"
    if match is None:
        raise AccessError(f"{option} {str(text)[:40]!r} is not a duration", hint=hint)
    value = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if not timedelta(minutes=1) <= value <= MAX_DURATION:
        raise AccessError(
            f"{option} {text!r} is out of range", hint="choose from 1m to 3650d (ten years)"
        )
    return value


def parse_since(text: object, now: datetime | None = None) -> datetime:
    """A start time: a duration back from ``now`` (``1h``, ``7d``) or an ISO date/time (UTC
    unless it says otherwise)."""
    now = now or datetime.now(UTC)
    if isinstance(text, str) and _DURATION.match(text.strip()):
        return now - parse_duration(text, option="--since")
    try:
        when = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        when = None
    if when is None:
        raise AccessError(
            f"--since {str(text)[:40]!r} is neither a duration nor a date",
            hint="use e.g. 1h, 7d, 2026-12-01 or 2026-12-01T08:00",
        )
    return when if when.tzinfo else when.replace(tzinfo=UTC)
