"""The text of a PDF, read in a child process of its own (see extract.pdf_text).

pypdf bounds decompression but not the text a page's content stream yields nor the time it
takes: a 13 KB PDF whose pages share one large content stream keeps a CPU busy for a minute
and yields megabytes of text. So the parent runs this module with a wall-clock timeout and
kills it when that passes; here the process limits its own CPU time and memory
(setrlimit) before it reads anything, and stops at the page and character bounds.

    python -m helpdesk.knowledge.pdf_reader SECONDS MEMORY_MB MAX_PAGES PAGE_CHARS TOTAL_CHARS < file.pdf

Writes one JSON object a line to stdout: {"page": n, "pages": total} after each page, then
{"text": "..."} or {"error": "<code>", ...}. Imports nothing but the standard library and
pypdf (no Django), so it starts quickly.
"""

from __future__ import annotations

import io
import json
import resource
import sys

from pypdf import PdfReader


class _Over(Exception):
    def __init__(self, code: str, **detail):
        super().__init__(code)
        self.code = code
        self.detail = detail


def _limit(seconds: int, memory_mb: int) -> None:
    # Past the soft CPU limit the kernel sends SIGXCPU (which ends the process), past the hard one SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 2))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it writes no files


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def read(data: bytes, *, max_pages: int, page_chars: int, total_chars: int) -> str:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:
            raise _Over("encrypted") from None
    pages = reader.pages
    total = len(pages)
    if total > max_pages:
        raise _Over("pages", pages=total)
    texts: list[str] = []
    count = 0
    for number, page in enumerate(pages, start=1):
        seen = 0

        def visit(text, *_args, number=number):
            # Called as the page's text grows: stop as soon as it is over a bound.
            nonlocal seen
            seen += len(text)
            if seen > page_chars:
                raise _Over("page_chars", page=number)
            if count + seen > total_chars:  # noqa: B023 (called within this iteration)
                raise _Over("total_chars")

        text = (page.extract_text(visitor_text=visit) or "").strip()
        if len(text) > page_chars:
            raise _Over("page_chars", page=number)
        count += len(text) + 2
        if count > total_chars:
            raise _Over("total_chars")
        if text:
            texts.append(text)
        _emit({"page": number, "pages": total})
    return "\n\n".join(texts)


def main(argv: list[str]) -> int:
    seconds, memory_mb, max_pages, page_chars, total_chars = (int(a) for a in argv)
    _limit(seconds, memory_mb)
    try:
        data = sys.stdin.buffer.read()
        _emit({"text": read(data, max_pages=max_pages, page_chars=page_chars, total_chars=total_chars)})
    except _Over as over:
        _emit({"error": over.code, **over.detail})
    except MemoryError:
        _emit({"error": "memory"})
    except RecursionError as exc:
        _emit({"error": "unreadable", "detail": f"RecursionError: {exc}"})
    except Exception as exc:  # pypdf raises many kinds on a broken file: all mean "cannot read it"
        _emit({"error": "unreadable", "detail": f"{exc.__class__.__name__}: {exc}"[:500]})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
