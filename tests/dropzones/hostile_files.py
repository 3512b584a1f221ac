"""Builders of hostile drop-zone inputs (real files, written with real libraries)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def blank_pdf(pages: int = 1) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(72, 72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="user-pass", owner_password="owner-pass", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    """A DOCX-shaped zip whose one member inflates 1000-fold to 64 MiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x90" * 2000


def write_hostile_local_set(incoming: Path, outside: Path) -> dict[str, str]:
    """Write every hostile input into a local zone; return name -> expected error code."""
    expected = {}

    def put(name: str, data: bytes, code: str) -> None:
        (incoming / name).write_bytes(data)
        expected[name] = code

    put("empty.txt", b"", "empty")
    put("truncated.pdf", blank_pdf()[:200], "corrupt")
    put("locked.pdf", encrypted_pdf(), "encrypted")
    put("bomb.docx", zip_bomb_docx(), "zip_bomb")
    put("ten-thousand.pdf", blank_pdf(10_000), "too_many_pages")
    put("program.pdf", ELF_EXECUTABLE, "mislabelled")
    put("line\nbreak.txt", b"newline in the name", "invalid_name")
    put("back\\slash.txt", b"backslash in the name", "invalid_name")
    with open(incoming / "sparse.bin", "wb") as f:
        f.truncate(3 * 1024 * 1024 * 1024)  # 3 GiB, no blocks written
    expected["sparse.bin"] = "too_large"
    outside.write_text("a secret outside the zone")
    (incoming / "escape.txt").symlink_to(outside)
    expected["escape.txt"] = "symlink"
    return expected
