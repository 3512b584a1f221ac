"""Retrieval quality and speed of a dynamically quantized (int8) MiniLM against the default.

    python benchmarks/bench_embedder_quality.py [DATASET_DIR ...] [--rounds 3]
        [--no-speed | --no-quality] [--keep-down-projections-fp32]

The int8 graph is built here, with onnxruntime's own tools: the default's
graph (softmax NaN guards dropped), its int8 weights folded to fp32
initializers, then ``onnxruntime.quantization.quantize_dynamic`` on every
MatMul with a constant weight (int8 symmetric per-channel weights, uint8
activations quantized per call); ``--keep-down-projections-fp32`` leaves the
six feed-forward down-projections (1536 -> 384, whose GELU input has the
largest outliers) in fp32. It was measured and rejected (docs/embedding.md),
so it is not an embedder TidyLLM ships; this script keeps the measurement
reproducible.

For each dataset folder in datasets/ (or those named), ``tidyllm eval``'s
``evaluate`` runs twice in one process against one private PostgreSQL: once
with the default embedder and once with the int8 one, each through its own
``UnifiedSessionManager`` (so each indexes the corpus with its own vectors).
Every metric ``report.results`` holds is printed per mode, side by side,
with the difference int8 - default; the largest |difference| of nDCG@10 and
hit@5 over all sets and modes decides the verdict (keep: within 0.01
everywhere; default-worthy: within 0.005).

Then both embedders embed the same texts (the chunks of the Fed report and of
a legacy-kb PDF) in alternating rounds; the median chunks/s of each and their
ratio are printed (ratios, not absolute rates, are what a shared machine
measures well). Both graphs are built first, so neither rate includes
quantization.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from _services import private_database
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from tidyllm import UnifiedSessionManager
from tidyllm.embedding import MiniLMEmbedder
from tidyllm.embedding.graph import drop_softmax_nan_guards
from tidyllm.extraction import extract
from tidyllm.knowledge.domains import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP
from tidyllm.knowledge.evaluation import EvalReport, evaluate
from tidyllm.knowledge.indexing import chunker_for, embedding_text

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
CORPUS = ROOT.parent / "shared" / "corpus"
SPEED_PDFS = (
    CORPUS / "fed-sr-model-validation-stress-testing-2015.pdf",
    CORPUS / "legacy-kb" / "bcbs_wp14.pdf",
)
DECIDING = ("ndcg@10", "hit@5")  # the keep/reject criterion (hit@5 once evaluate reports it)


def fold_int8_weights(model: onnx.ModelProto) -> None:
    """Replace every ``Mul(Cast(int8 initializer), scale initializer)`` by its fp32 value.

    The packaged model stores its MatMul weights as int8 with a per-channel scale
    and dequantizes them in the graph; ``quantize_dynamic`` only quantizes MatMuls
    whose weight is an fp32 initializer. The folded values are what the graph computed.
    """
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    for node in list(graph.node):
        if node.op_type != "Mul" or len(node.input) != 2:
            continue
        cast, scale = producer.get(node.input[0]), initializers.get(node.input[1])
        if cast is None or cast.op_type != "Cast" or scale is None:
            continue
        source = initializers.get(cast.input[0])
        if source is None or numpy_helper.to_array(source).dtype != np.int8:
            continue
        value = numpy_helper.to_array(source).astype(np.float32) * numpy_helper.to_array(scale)
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        graph.node.remove(node)
    while True:  # drop what nobody reads any more
        used = {name for node in graph.node for name in node.input}
        used |= {output.name for output in graph.output}
        dead = [node for node in graph.node if not any(out in used for out in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    for initializer in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(initializer)


def quantize_int8(data: bytes, *, keep_down_projections: bool) -> bytes:
    """The packaged model, rewritten, its weights folded, then dynamically quantized."""
    model = onnx.load_from_string(data)
    drop_softmax_nan_guards(model)
    fold_int8_weights(model)
    shapes = {i.name: tuple(i.dims) for i in model.graph.initializer}
    down = [  # feed-forward down-projections: weights wider in than out (1536 -> 384)
        n.name
        for n in model.graph.node
        if n.op_type == "MatMul" and len(shapes.get(n.input[1], ())) == 2
        if shapes[n.input[1]][0] > shapes[n.input[1]][1]
    ]
    with tempfile.TemporaryDirectory(prefix="bench-quantize-") as folder:
        target = Path(folder) / "int8.onnx"
        quantize_dynamic(
            model,
            target,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=down if keep_down_projections else None,
            extra_options={"MatMulConstBOnly": True},
        )
        return target.read_bytes()


class Int8MiniLM(MiniLMEmbedder):
    """MiniLM running the dynamically quantized graph, under its own name."""

    name = "minilm-l6-v2-int8-dynamic"
    keep_down_projections = False
    _built: dict[bool, bytes] = {}  # noqa: RUF012 - quantized once per process and variant

    def _graph(self, data: bytes, digest: str) -> bytes:
        key = self.keep_down_projections
        if key not in self._built:
            self._built[key] = quantize_int8(data, keep_down_projections=key)
        return self._built[key]


class Int8Session(UnifiedSessionManager):
    """A session manager whose embedder is :class:`Int8MiniLM`."""

    def _make_embedder(self) -> Int8MiniLM:
        return Int8MiniLM()


def _evaluate(sm: UnifiedSessionManager, folder: Path) -> EvalReport:
    """``evaluate`` without MLflow logging and, when it supports the switch, without answers."""
    options: dict[str, object] = {"log_run": False}
    if "answers" in inspect.signature(evaluate).parameters:
        options["answers"] = False  # answer scoring does not depend on the embedder's speed
    return evaluate(sm, folder, **options)


def quality(folders: list[Path]) -> dict[str, float]:
    """Print both embedders' metrics per set; return the largest |int8 - fp32| per metric."""
    worst: dict[str, float] = {}
    with private_database("bench-embedder-quality-") as (root, url):
        managers = {
            "fp32": UnifiedSessionManager(data_dir=root / "data", database={"url": url}),
            "int8": Int8Session(data_dir=root / "data", database={"url": url}),
        }
        try:
            for folder in folders:
                reports = {label: _evaluate(sm, folder) for label, sm in managers.items()}
                first = reports["fp32"]
                print(
                    f"\n{first.dataset}: {first.queries} queries, {first.documents} documents, "
                    f"{first.chunks} chunks (fp32) / {reports['int8'].chunks} (int8)"
                )
                for mode, values in first.results.items():
                    other = reports["int8"].results.get(mode, {})
                    print(f"  {mode}")
                    print(f"    {'metric':12}{'fp32':>9}{'int8':>9}{'diff':>9}")
                    for metric, value in values.items():
                        if metric not in other:
                            continue
                        diff = other[metric] - value
                        if abs(diff) >= abs(worst.get(metric, 0.0)):
                            worst[metric] = diff
                        print(f"    {metric:12}{value:9.4f}{other[metric]:9.4f}{diff:+9.4f}")
        finally:
            for sm in managers.values():
                sm.close()
    return worst


def speed(rounds: int) -> None:
    """Median chunks/s of both embedders on the same texts, rounds alternating."""
    chunker = chunker_for(DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP)
    texts = [embedding_text(c) for pdf in SPEED_PDFS for c in chunker.chunk(extract(pdf).pages)]
    embedders = {"fp32": MiniLMEmbedder(), "int8": Int8MiniLM()}
    vectors = {label: e.embed(texts) for label, e in embedders.items()}  # builds both graphs
    cosine = np.sum(vectors["fp32"] * vectors["int8"], axis=1)
    rates: dict[str, list[float]] = {label: [] for label in embedders}
    for _ in range(rounds):
        for label, embedder in embedders.items():
            started = time.perf_counter()
            embedder.embed(texts)
            rates[label].append(len(texts) / (time.perf_counter() - started))
    fp32 = statistics.median(rates["fp32"])
    int8 = statistics.median(rates["int8"])
    print(
        f"\nspeed: {len(texts)} chunks of {', '.join(p.name for p in SPEED_PDFS)}; "
        f"{rounds} alternating rounds, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  fp32 {fp32:6.1f} chunks/s   int8 {int8:6.1f} chunks/s   int8/fp32 {int8 / fp32:.2f}x")
    print(
        f"  cosine(int8, fp32) per chunk: min {cosine.min():.4f}, "
        f"1st percentile {np.percentile(cosine, 1):.4f}, mean {cosine.mean():.4f}"
    )


def verdict(worst: dict[str, float]) -> None:
    """Print the largest differences and what they mean for keeping the int8 embedder."""
    print("\nlargest |int8 - fp32| over all sets and modes (signed):")
    for metric, diff in worst.items():
        print(f"  {metric:12}{diff:+.4f}")
    deciding = [abs(worst[m]) for m in DECIDING if m in worst]
    gap = max(deciding, default=0.0)
    outcome = (
        "within 0.005: may be the default"
        if gap <= 0.005
        else "within 0.01: keep, opt-in"
        if gap <= 0.01
        else "outside 0.01: reject"
    )
    print(f"  verdict on {', '.join(m for m in DECIDING if m in worst)}: {outcome}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", type=Path, help="dataset folders (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="speed rounds per embedder")
    parser.add_argument("--no-speed", action="store_true", help="only the quality comparison")
    parser.add_argument("--no-quality", action="store_true", help="only the speed comparison")
    parser.add_argument(
        "--keep-down-projections-fp32",
        action="store_true",
        help="leave the feed-forward down-projections unquantized",
    )
    options = parser.parse_args(argv)
    Int8MiniLM.keep_down_projections = options.keep_down_projections_fp32
    print(
        f"int8 variant: down-projections {'fp32' if Int8MiniLM.keep_down_projections else 'int8'}"
    )
    folders = options.datasets or sorted(
        p for p in DATASETS.iterdir() if (p / "corpus.jsonl").is_file()
    )
    if not options.no_quality:
        verdict(quality(folders))
    if not options.no_speed:
        speed(options.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
