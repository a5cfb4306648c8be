"""The text of an uploaded document, as Markdown-ish plain text for the chunker.

Supported: .txt, .md, .html (tags stripped, headings kept as Markdown headings) and .pdf
(text layer through pypdf; scanned PDFs without text are refused).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html.parser import HTMLParser

from helpdesk.knowledge.models import DOCUMENT_TYPES


class ExtractionError(Exception):
    """The file's text cannot be read; the message says why, for the admin."""


def extract(data: bytes, extension: str, *, progress: Callable[[int, int], None] | None = None) -> str:
    extension = extension.lower()
    if extension not in DOCUMENT_TYPES:
        supported = ", ".join(sorted(DOCUMENT_TYPES))
        raise ExtractionError(f"Unsupported file type {extension or '(none)'}: use one of {supported}.")
    if extension == ".pdf":
        text = pdf_text(data, progress=progress)
    elif extension in (".html", ".htm"):
        text = html_text(decode(data))
    else:
        text = decode(data)
    if not text.strip():
        raise ExtractionError("The file contains no text.")
    return text


def decode(data: bytes) -> str:
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# ---------------------------------------------------------------- HTML

_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "li", "ul", "ol",
    "table", "tr", "blockquote", "pre", "br", "hr", "dl", "dt", "dd", "figure", "figcaption", "form",
}
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _HEADINGS:
            self.out.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in _BLOCKS:
            self.out.append("\n\n" if tag not in ("br",) else "\n")

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _HEADINGS or tag in _BLOCKS:
            self.out.append("\n\n" if tag != "li" else "\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def html_text(markup: str) -> str:
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.out)  # character references are already converted by the parser
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ---------------------------------------------------------------- PDF


def pdf_text(data: bytes, *, progress: Callable[[int, int], None] | None = None) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise ExtractionError("The PDF is password-protected.") from None
        pages = reader.pages
        total = len(pages)
        texts = []
        for number, page in enumerate(pages, start=1):
            texts.append(page.extract_text() or "")
            if progress:
                progress(number, total)
    except ExtractionError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise ExtractionError(f"The PDF could not be read ({exc.__class__.__name__}: {exc}).") from exc
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text:
        raise ExtractionError("The PDF has no text layer (a scanned document?); upload a text version.")
    return text
