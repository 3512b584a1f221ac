"""Pipelines: named sequences of steps from a registry, each step with a version.

A zone names a built-in pipeline (``archive``, ``extract``, ``index``) or lists
steps itself, comma-separated (``extract,report``). The pipeline version is the
steps' names and versions; it is part of a file version's identity, so changing
a step's version makes the same content eligible to be processed again.

User-defined steps are found through the ``tidyllm.steps`` entry-point group:
each entry point names a step class (instantiated with no arguments) or instance.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tidyllm.errors import DropZoneError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tidyllm.steps"

BUILTIN_PIPELINES: Mapping[str, tuple[str, ...]] = {
    "archive": ("archive",),
    "extract": ("extract", "report"),
    "index": ("extract", "index", "report"),
}


@dataclass
class StepContext:
    """What a step sees: the file's bytes on local disk and what earlier steps left."""

    sm: Any
    zone: Any
    file_id: int
    key: str
    path: Path
    sha256: str
    size: int
    source_uri: str
    version: str
    document: Any = None
    reindex: bool = False  # redo the work even if its result is already there (--reindex)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[str, bytes] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@runtime_checkable
class Step(Protocol):
    """A pipeline step. ``run`` returns a JSON-ready summary or raises.

    Raise :class:`tidyllm.errors.FileRejected` for bad input (the file fails at
    once); anything else is treated as transient and retried with backoff.
    """

    name: str
    version: str

    def run(self, ctx: StepContext) -> dict[str, Any]: ...


_REGISTRY: dict[str, Step] = {}
_BUILTINS_LOADED = False
_BUILTINS_LOCK = threading.Lock()


def register_step(step: Step) -> Step:
    """Add a step to the registry (replacing one of the same name)."""
    if not isinstance(step, Step):
        raise DropZoneError(f"{step!r} is not a pipeline step (needs name, version and run())")
    _REGISTRY[step.name] = step
    return step


def _load_builtins() -> None:
    """Register the built-in steps once; threads asking at once wait for the first."""
    global _BUILTINS_LOADED
    from tidyllm.dropzones.steps import builtin_steps

    with _BUILTINS_LOCK:
        if _BUILTINS_LOADED:
            return
        for step in builtin_steps():
            _REGISTRY.setdefault(step.name, step)
        _BUILTINS_LOADED = True  # only now: another thread must not see a half-filled registry


def _load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        try:
            loaded = ep.load()
            step = loaded() if isinstance(loaded, type) else loaded
            register_step(step)
        except Exception as exc:  # a broken plugin must not stop the other zones
            log.warning("pipeline step plugin %s could not be loaded: %s", ep.name, exc)


def get_step(name: str) -> Step:
    """The registered step ``name`` (built-ins, then entry-point plugins)."""
    if not _BUILTINS_LOADED:
        _load_builtins()
    if name not in _REGISTRY:
        _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise DropZoneError(f"unknown pipeline step {name!r}; known steps: {known}") from None


@dataclass(frozen=True)
class Pipeline:
    """A resolved pipeline: its name, its steps and its version string."""

    name: str
    steps: tuple[Step, ...]

    @property
    def version(self) -> str:
        return "+".join(f"{s.name}@{s.version}" for s in self.steps) or "none"


def resolve_pipeline(spec: str) -> Pipeline:
    """A built-in pipeline name, or a comma-separated list of step names."""
    spec = spec.strip()
    names = BUILTIN_PIPELINES.get(spec)
    if names is None:
        names = tuple(part.strip() for part in spec.split(",") if part.strip())
        if not names:
            raise DropZoneError(f"pipeline {spec!r} names no steps")
    return Pipeline(spec, tuple(get_step(n) for n in names))
