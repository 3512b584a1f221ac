"""Reading the labelled page sets under datasets/ in tests: their rows, their committed page
text and their build scripts (scripts, not an installed package, so loaded from their files)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

DATASETS = Path(__file__).resolve().parents[2] / "datasets"

#: {source file: (title the extractor found or None, {page: text})}
Documents = dict[str, tuple[str | None, dict[int, str]]]


def load(name: str, path: Path) -> ModuleType:
    """A module from a file under datasets/."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


page_qa = load("page_qa", DATASETS / "page_qa.py")  # the builders' shared norm and split


def build_module(folder: Path) -> ModuleType:
    """A set's build.py as a module (tests pass it a temporary folder to write into)."""
    return load(f"{folder.name.replace('-', '_')}_build", folder / "build.py")


def rows(folder: Path, name: str) -> list[dict]:
    """The rows of one of a set's JSON-lines files."""
    return [json.loads(line) for line in (folder / name).read_text("utf-8").splitlines()]


def committed(folder: Path) -> Documents:
    """The committed page text of a set, by source file in corpus order."""
    documents: Documents = {}
    for row in rows(folder, "corpus.jsonl"):
        meta = row["metadata"]
        _, pages = documents.setdefault(meta["source"], (meta.get("title"), {}))
        pages[meta["page"]] = row["text"]
    return documents
