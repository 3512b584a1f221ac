"""Help placeholders that mean something: none on flags, ``<str>`` for repeatable options.

Typer (0.2x) prints the Python annotation as each parameter's placeholder:
``--json <bool>``, ``--help <bool>``, ``--zone <list[str]>``. A flag takes no
value, so it gets no placeholder; an option given several times takes one
value each time, so it shows the element's type. Installed once, when the
``tidyllm.cli`` package is imported.
"""

from __future__ import annotations

from typing import Any


def _element(label: str) -> str:
    """``<list[str]>`` -> ``<str>`` (and ``<list[str]>...`` -> ``<str>...``)."""
    return label.replace("list[", "", 1).replace("]>", ">", 1) if "<list[" in label else label


def install() -> None:
    """Patch Typer's option and argument placeholders (idempotent)."""
    from typer.core import TyperArgument, TyperOption

    if getattr(TyperOption, "_tidyllm_placeholders", False):
        return
    option_type = TyperOption.display_type_rich
    argument_type = TyperArgument.display_type_rich

    def option_placeholder(self: Any, ctx: Any) -> str | None:
        if self.is_flag or self.count:  # takes no value
            return None
        label = option_type(self, ctx)
        return _element(label) if isinstance(label, str) else label

    def argument_placeholder(self: Any, ctx: Any) -> str | None:
        label = argument_type(self, ctx)
        return _element(label) if isinstance(label, str) else label

    TyperOption.display_type_rich = option_placeholder  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_placeholder  # type: ignore[method-assign]
    TyperOption._tidyllm_placeholders = True  # type: ignore[attr-defined]
