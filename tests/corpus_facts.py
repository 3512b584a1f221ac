"""What is known to be true of the shared corpus's documents, for the journey tests.

Questions whose answers are on known pages of the Federal Reserve report (the labelled set
``datasets/fed-sr-2015``), and the failure the scanned patent (no text layer) must meet.
"""

from __future__ import annotations

SEARCH = ("How much additional capital were the SCAP bank holding companies required to add?", 9)
ASK = (
    "How many reviewers did the MVU recruit for the 2014-2015 supervisory stress test cycle?",
    13,
)
CHAT = ("What model development cycle has the MOG instituted?", 22)
FOLLOW_UP = "Why did it institute it?"  # "it": the MOG, and its cycle, from the first turn


def no_text_layer_error() -> tuple[str, str]:
    """The message and hint of the scanned patent's failure on this machine."""
    from tidyllm.extraction.failures import HINTS
    from tidyllm.extraction.ocr import ocr_available
    from tidyllm.extraction.pdf import OCR_OFF_HINT

    if ocr_available():  # installed here, but the domain's OCR is off
        return "the PDF has no text layer (scanned images only) and OCR is off", OCR_OFF_HINT
    return "the PDF has no text layer (scanned images only)", HINTS["no_text_layer"]
