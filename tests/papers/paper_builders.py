"""Generated documents for the paper-repository tests."""

from __future__ import annotations

import io
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extraction"))
from extraction_builders import raw_pdf


def make_pdf(path: Path, lines: list[tuple[int, str]], info: dict[str, str] | None = None) -> Path:
    """A one-page PDF drawing each (font size, text) line top-down; ``info`` as its Info dict."""
    ops, y = [], 760
    for size, text in lines:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"BT /F1 {size} Tf 40 {y} Td ({escaped}) Tj ET")
        y -= size + 8
    content = zlib.compress("\n".join(ops).encode("latin-1"))
    data = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
            + content
            + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )
    if info:
        import pypdf

        writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
        writer.add_metadata({f"/{k}": v for k, v in info.items()})
        buffer = io.BytesIO()
        writer.write(buffer)
        data = buffer.getvalue()
    path.write_bytes(data)
    return path
