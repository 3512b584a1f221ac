"""Where the shared real-document corpus is: one answer for every test module.

``TIDYLLM_CORPUS`` if set, else ``../shared/corpus`` beside the checkout (CI), else
``/work/shared/corpus`` (a clone elsewhere on a developer's machine).
"""

from __future__ import annotations

import os
from pathlib import Path

_MARKER = "us-patent-12290739.pdf"


def _find() -> Path:
    env = os.environ.get("TIDYLLM_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [
        Path(__file__).resolve().parents[2] / "shared" / "corpus",
        Path("/work/shared/corpus"),
    ]
    for candidate in candidates:
        if (candidate / _MARKER).is_file():
            return candidate
    return candidates[0]  # missing: tests that need it fail naming this path


CORPUS = _find()
FED_PDF = CORPUS / "fed-sr-model-validation-stress-testing-2015.pdf"
PATENT_PDF = CORPUS / _MARKER
#: The labelled questions on the Fed report (BEIR layout), kept in this repository.
FED_DATASET = Path(__file__).resolve().parents[1] / "datasets" / "fed-sr-2015"
