"""Helpers shared by the tracking tests (kept out of conftest so they can be imported)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlflow.tracking import MlflowClient


def client_factory(uri: str) -> Callable[[], MlflowClient]:
    """What the session manager will hand the tracker (tests may build clients themselves)."""
    return lambda: MlflowClient(tracking_uri=uri)


def sqlite_uri(data_dir: Path) -> str:
    """The session manager's embedded default tracking URI for ``data_dir``."""
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


def read_back(uri: str, run_id: str, dst: Path) -> tuple[object, dict[str, bytes]]:
    """Read a run and all its artifact files through a separate, fresh client."""
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    dst.mkdir(parents=True, exist_ok=True)
    local = Path(client.download_artifacts(run_id, "", str(dst)))
    paths = [p for p in local.rglob("*") if p.is_file()]
    return run, {p.relative_to(local).as_posix(): p.read_bytes() for p in paths}
