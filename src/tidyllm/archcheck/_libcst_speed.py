"""Make LibCST's per-visitor set-up cost once per class instead of once per instance.

Every ``MatcherDecoratableTransformer``/``Visitor`` (LibCST's codemods and
``AddImportsVisitor``/``RemoveImportsVisitor`` among them) looks for
matcher-decorated methods with ``dir()`` and ``getattr`` over all of its
members when it is *created*: ~30 ms each, and a codemod run creates about
seven, so ~0.2 s per file whatever its size (a two-line module took 0.23 s).
The answer only depends on the class (decorators sit on class methods), so a
class found to have no decorated method is remembered and skipped. Classes
that do use matcher decorators are still inspected every time, exactly as
LibCST does. Likewise the metadata providers' ``get_visitors()``
(``inspect.getmembers`` per instance) keeps the method names per class.
Applied once, on import of :mod:`tidyllm.archcheck.migrate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_PATCHED = False


def _cached(gather: Callable[[object], dict[Any, Any]]) -> Callable[[object], dict[Any, Any]]:
    empty: set[type] = set()

    def gather_once(obj: object) -> dict[Any, Any]:
        cls = type(obj)
        if cls in empty:
            return {}
        found = gather(obj)
        if not found:
            empty.add(cls)
        return found

    gather_once.__wrapped__ = gather  # type: ignore[attr-defined]
    return gather_once


def apply() -> None:
    """Install the per-class cache (idempotent; a no-op if LibCST's internals moved)."""
    global _PATCHED
    if _PATCHED:
        return
    try:
        from libcst.matchers import _visitors
    except ImportError:  # pragma: no cover
        return
    names = (
        "_gather_matchers",
        "_gather_constructed_visit_funcs",
        "_gather_constructed_leave_funcs",
    )
    if all(callable(getattr(_visitors, n, None)) for n in names):
        for name in names:
            setattr(_visitors, name, _cached(getattr(_visitors, name)))
    try:
        from libcst._batched_visitor import BatchableCSTVisitor
    except ImportError:  # pragma: no cover
        BatchableCSTVisitor = None
    if BatchableCSTVisitor is not None and hasattr(BatchableCSTVisitor, "get_visitors"):
        original = BatchableCSTVisitor.get_visitors
        names_by_class: dict[type, tuple[str, ...]] = {}

        def get_visitors(self: Any) -> dict[str, Any]:
            cls = type(self)
            known = names_by_class.get(cls)
            if known is None:
                methods = original(self)
                names_by_class[cls] = tuple(methods)
                return dict(methods)
            return {name: getattr(self, name) for name in known}

        BatchableCSTVisitor.get_visitors = get_visitors  # type: ignore[method-assign]
    _PATCHED = True
