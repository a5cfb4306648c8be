"""Small real files for upload tests, and hostile ones."""

from __future__ import annotations

import zlib


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1; the first is the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, *, compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _page(contents: int) -> bytes:
    return (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        f"/Contents {contents} 0 R >>"
    ).encode()


def _head(n_pages: int, first_page: int, step: int) -> list[bytes]:
    kids = " ".join(f"{first_page + step * i} 0 R" for i in range(n_pages))
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page."""
    objects = _head(len(pages), 4, 2)
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        objects.append(_page(5 + 2 * i))
        objects.append(_stream(f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode()))
    return _pdf(objects)


def shared_stream_pdf(stream_bytes: int, pages: int = 5) -> bytes:
    """A tiny PDF (kilobytes) whose pages all show one flate-compressed content stream of
    about `stream_bytes` bytes of text operators: every page yields megabytes of text, and
    reading it takes pypdf seconds a page."""
    show = b"(ZEBRA zebra ZEBRA zebra ZEBRA zebra ZEBRA zebra ZEBRA zebra ZEBRA) Tj "
    content = b"BT /F1 12 Tf 72 720 Td " + show * (stream_bytes // len(show)) + b"ET"
    objects = _head(pages, 4, 1)
    objects += [_page(4 + pages) for _ in range(pages)]
    objects.append(_stream(content, compress=True))
    return _pdf(objects)


def bloated_pdf(stream_bytes: int) -> bytes:
    """A tiny PDF of one page whose content stream inflates to `stream_bytes` bytes of spaces
    (under pypdf's own limit of 75 MB)."""
    objects = [
        *_head(1, 4, 1),
        _page(5),
        _stream(b"BT /F1 12 Tf 72 720 Td (Hi) Tj ET" + b" " * stream_bytes, compress=True),
    ]
    return _pdf(objects)
