"""Load-time clean-up of the exported MiniLM graph: drop the NaN guards after each softmax.

Why: the model was exported from PyTorch's scaled-dot-product attention, which
guards every attention softmax with ``Where(IsNaN(p), 0, p)`` in case a row is
masked completely. That cannot happen for an encoder whose ``[CLS]`` token is
always attended, yet onnxruntime's profiler puts about 30 % of its node time
in those two element-wise passes over every (batch, head, token, token)
tensor. Removing them leaves the outputs bit-for-bit identical (a test checks
that) and makes embedding 5-15 % faster end to end (``benchmarks/bench_embedder.py``).

The rewrite is a pattern match: a graph without the pattern is returned
unchanged, so a replaced model file still loads.

The rewrite needs the ``onnx`` package, whose import alone takes 0.5-2 s (it
loads ``ml_dtypes``), longer than the rest of a query. So the rewritten model is
cached in the data directory (:func:`cached_optimised`), keyed by the source
model's sha256: after the first load, a command reads the cached bytes and never
imports ``onnx``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx

#: Bumped whenever the rewrite changes, so that older cached graphs are not used.
REWRITE_VERSION = 1
_DIGEST_BYTES = 64  # a cache file is the hex sha256 of the model, then the model


def drop_softmax_nan_guards(model: onnx.ModelProto) -> int:
    """Remove every ``Where(IsNaN(x), c, x)`` whose ``x`` is a Softmax output; returns how many.

    Consumers of the ``Where`` read ``x`` directly afterwards. The graph is
    changed in place.
    """
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    outputs = {output.name for output in graph.output}
    removed = []
    for node in graph.node:
        if node.op_type != "Where" or len(node.input) != 3 or node.output[0] in outputs:
            continue
        guard = producer.get(node.input[0])
        if guard is None or guard.op_type != "IsNaN":
            continue
        value = guard.input[0]
        source = producer.get(value)
        if node.input[2] != value or source is None or source.op_type != "Softmax":
            continue
        removed.append((guard, node, value))
    for guard, where, value in removed:
        _rewire(graph, where.output[0], value)
        graph.node.remove(where)
        if not any(guard.output[0] in n.input for n in graph.node):
            graph.node.remove(guard)
    return len(removed)


def _rewire(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        for position, name in enumerate(node.input):
            if name == old:
                node.input[position] = new


def load_optimised(data: bytes) -> bytes:
    """The serialized model ``data`` with its softmax NaN guards removed."""
    import onnx

    model = onnx.load_from_string(data)
    drop_softmax_nan_guards(model)
    return model.SerializeToString()


def cache_path(cache_dir: Path, source_sha256: str) -> Path:
    """Where the rewritten graph of the model whose bytes hash to ``source_sha256`` is kept."""
    return Path(cache_dir) / f"minilm-{source_sha256[:32]}-rewrite{REWRITE_VERSION}.onnx"


def cached_optimised(data: bytes, source_sha256: str, cache_dir: Path | None) -> bytes:
    """:func:`load_optimised` of ``data``, from the cache under ``cache_dir`` when it is there.

    A cache file carries the sha256 of the model it holds and is used only when
    that matches, so a truncated or corrupt file is rebuilt, never loaded. The
    cache is written atomically (a temporary file renamed into place), so
    concurrent processes at worst both build it. A cache that cannot be written
    (a read-only data directory) costs only the rewrite.
    """
    if cache_dir is None:
        return load_optimised(data)
    path = cache_path(cache_dir, source_sha256)
    with contextlib.suppress(OSError):
        stored = path.read_bytes()
        digest, model = stored[:_DIGEST_BYTES], stored[_DIGEST_BYTES:]
        if digest == hashlib.sha256(model).hexdigest().encode():
            return model
    model = load_optimised(data)
    _write_atomically(path, hashlib.sha256(model).hexdigest().encode() + model)
    return model


def _write_atomically(path: Path, content: bytes) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
