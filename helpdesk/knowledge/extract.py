"""The text of an uploaded document, as Markdown-ish plain text for the chunker.

Supported: .txt, .md, .html (tags stripped, headings kept as Markdown headings) and .pdf
(text layer through pypdf, in a child process with limits of time, CPU, memory, pages and
characters: see pdf_reader; scanned PDFs without text are refused). A document's text is at
most KNOWLEDGE_DOCUMENT_MAX_CHARS characters, whatever its type.
"""

from __future__ import annotations

import json
import logging
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from html.parser import HTMLParser

from django.conf import settings

from helpdesk.knowledge.models import DOCUMENT_TYPES

log = logging.getLogger(__name__)


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
    # PostgreSQL text refuses NUL and lone surrogates (which a PDF's text can hold).
    text = text.replace("\x00", "").encode("utf-8", "replace").decode()
    if len(text) > settings.KNOWLEDGE_DOCUMENT_MAX_CHARS:
        raise ExtractionError(_too_much_text(settings.KNOWLEDGE_DOCUMENT_MAX_CHARS))
    if not text.strip():
        raise ExtractionError("The file contains no text.")
    return text


def _too_much_text(limit: int) -> str:
    return f"The document's text is over {limit:,} characters; split it into smaller documents."


def decode(data: bytes) -> str:
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# ---------------------------------------------------------------- HTML

_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "nav",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "blockquote",
    "pre",
    "br",
    "hr",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "form",
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

READER = "helpdesk.knowledge.pdf_reader"


def pdf_text(data: bytes, *, progress: Callable[[int, int], None] | None = None) -> str:
    """The PDF's text layer, read by `pdf_reader` in a child process that is killed when it
    takes longer than KNOWLEDGE_EXTRACT_SECONDS, and that limits its own CPU time and memory
    and stops at the page and character bounds."""
    seconds = settings.KNOWLEDGE_EXTRACT_SECONDS
    memory_mb = settings.KNOWLEDGE_EXTRACT_MEMORY_MB
    max_pages = settings.KNOWLEDGE_PDF_MAX_PAGES
    page_chars = settings.KNOWLEDGE_PAGE_MAX_CHARS
    total_chars = settings.KNOWLEDGE_DOCUMENT_MAX_CHARS
    # -E and an environment of its own: the reader of a hostile file gets none of the
    # server's secrets (database URL, API keys) from its environment.
    argv = [
        sys.executable,
        "-E",
        "-m",
        READER,
        *(str(n) for n in (seconds, memory_mb, max_pages, page_chars, total_chars)),
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    too_long = (
        f"The PDF took too long to read (over {seconds} s); split it into smaller files, "
        "or upload its text as a .txt file."
    )
    with tempfile.TemporaryFile() as source:
        source.write(data)
        source.seek(0)
        # From the project's folder, so that `-m` finds this checkout's package.
        child = subprocess.Popen(
            argv, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=settings.BASE_DIR, env=env
        )
        assert child.stdout is not None and child.stderr is not None  # both are pipes (PIPE)
    try:
        messages, errors, finished = _read_child(child, time.monotonic() + seconds, progress)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    if not finished:
        raise ExtractionError(too_long)
    result = messages[-1] if messages else {}
    if "text" in result:
        text = result["text"]
        if not text.strip():
            raise ExtractionError("The PDF has no text layer (a scanned document?); upload a text version.")
        return text
    error = result.get("error")
    if error == "encrypted":
        raise ExtractionError("The PDF is password-protected.")
    if error == "pages":
        raise ExtractionError(
            f"The PDF has {result['pages']:,} pages, over the limit of {max_pages:,}; split it into smaller files."
        )
    if error == "page_chars":
        raise ExtractionError(
            f"Page {result['page']} of the PDF has over {page_chars:,} characters of text, more than a page "
            "holds; upload its text as a .txt file instead."
        )
    if error == "total_chars":
        raise ExtractionError(_too_much_text(total_chars))
    if error == "memory":
        raise ExtractionError(
            f"The PDF needed more than {memory_mb} MB of memory to read; split it into smaller files, "
            "or upload its text as a .txt file."
        )
    if child.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise ExtractionError(too_long)  # its CPU time ran out
    if error == "unreadable":
        raise ExtractionError(f"The PDF could not be read ({result.get('detail', '')}).")
    log.error("the PDF reader exited with code %s: %s", child.returncode, errors.decode(errors="replace"))
    raise ExtractionError(f"The PDF could not be read (the reader stopped with code {child.returncode}).")


def _read_child(
    child: subprocess.Popen, deadline: float, progress: Callable[[int, int], None] | None
) -> tuple[list[dict], bytes, bool]:
    """The child's messages (one JSON object a line), the end of its stderr, and whether it
    finished before the deadline. Both pipes are drained, so a child that logs a lot of
    warnings never blocks on a full pipe."""
    messages: list[dict] = []
    out = bytearray()
    errors = b""
    assert child.stdout is not None and child.stderr is not None  # pdf_text's pipes
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ, "out")
        selector.register(child.stderr, selectors.EVENT_READ, "err")
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return messages, errors, False
            for key, _events in selector.select(remaining):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.data == "err":
                    errors = (errors + chunk)[-4000:]
                else:
                    start = len(out)
                    out += chunk
                    if out.find(b"\n", start) < 0:
                        continue
                    *lines, rest = out.split(b"\n")
                    out = bytearray(rest)
                    for line in lines:
                        message = json.loads(line)
                        messages.append(message)
                        if progress and "page" in message and "pages" in message:
                            progress(message["page"], message["pages"])
    try:
        child.wait(timeout=max(0.01, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return messages, errors, bool(messages) and ("text" in messages[-1] or "error" in messages[-1])
    return messages, errors, True
