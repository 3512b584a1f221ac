"""Turn raw chains into fully qualified names, across files.

A chain is resolved first inside its own file (through imports and simple
aliases, order-independent), then through the *index* of every scanned
module: if ``app.aws`` re-exports ``boto3.client`` as ``client``,
``app.aws.client`` resolves to ``boto3.client``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tidyllm.archcheck.scanner import FileScan

_MAX_STEPS = 32


def module_name(path: Path) -> tuple[str, bool]:
    """Dotted module name of ``path`` from its package folders; and whether it is a package."""
    path = path.resolve()
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.append(folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    if not parts:  # a bare __init__.py outside any package folder
        parts.append(path.parent.name)
    return ".".join(reversed(parts)), is_package


class Resolver:
    """Resolves chains against every scanned module's bindings.

    ``load`` scans a module on demand (a file the pre-filter skipped) when a
    chain passes through it; it returns None for a module that is not ours.
    """

    def __init__(
        self,
        scans: dict[str, FileScan],
        load: Callable[[str], FileScan | None] | None = None,
    ) -> None:
        self._scans = scans
        self._load = load
        self._cache: dict[tuple[str, str], str | None] = {}

    def qualify(self, qualname: str) -> str:
        """A fully qualified name followed through every re-export we know of."""
        return self._through_index(qualname)

    def resolve(self, scan: FileScan, chain: str) -> list[str]:
        """Fully qualified candidates for ``chain`` seen from ``scan`` (empty if unknown)."""
        local = self._local(scan, chain)
        if local is not None:
            return [self._through_index(local)]
        if chain.startswith("!"):
            return []
        # An unbound name may come from a star import.
        return [self._through_index(f"{m}.{chain}") for m in scan.star_imports]

    def _local(self, scan: FileScan, chain: str) -> str | None:
        for _ in range(_MAX_STEPS):
            if chain.startswith("!"):
                return chain[1:]
            root, _, rest = chain.partition(".")
            bound = scan.bindings.get(root)
            if bound is None:
                return "__import__" if chain == "__import__" else None
            if bound == root:  # `x = x`
                return None
            chain = f"{bound}.{rest}" if rest else bound
        return None

    def _through_index(self, qualname: str) -> str:
        key = ("", qualname)
        if key in self._cache:
            return self._cache[key] or qualname
        seen = {qualname}
        current = qualname
        for _ in range(_MAX_STEPS):
            step = self._one_step(current)
            if step is None or step in seen:
                break
            seen.add(step)
            current = step
        self._cache[key] = current
        return current

    def _one_step(self, qualname: str) -> str | None:
        parts = qualname.split(".")
        # Longest module prefix that we scanned and that binds the next name.
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            scan = self._scans.get(module)
            if scan is None and self._load is not None:
                scan = self._load(module)
            if scan is None:
                continue
            name = parts[cut]
            if name not in scan.bindings:
                return None
            target = self._local(scan, name)
            if target is None:
                return None
            rest = parts[cut + 1 :]
            return ".".join([target, *rest])
        return None
