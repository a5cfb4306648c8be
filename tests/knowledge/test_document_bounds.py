"""Hostile documents: a tiny PDF that holds a minute of work and megabytes of text, one that
inflates past the memory bound, too many pages, too much text. Each ends in an error status
that says which bound it crossed, within that bound, with no chunk; the reading child
process is gone afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from helpdesk.knowledge import extract
from helpdesk.knowledge.chunking import MAX_CHARS, MAX_HEADING_CHARS
from helpdesk.knowledge.models import Document, IndexStatus
from helpdesk.knowledge.tasks import index_document
from tests.knowledge import files

pytestmark = pytest.mark.django_db


def upload(workspace, name: str, data: bytes, title: str = "Handbook") -> Document:
    document = Document(workspace=workspace, title=title)
    document.file.save(name, ContentFile(data), save=False)
    document.save()
    return document


def indexed(document: Document) -> Document:
    index_document.call(document.pk)
    document.refresh_from_db()
    return document


def child_processes() -> set[int]:
    """The live children of this process (a zombie counts: it was not waited for)."""
    pids = set()
    for task in Path("/proc/self/task").iterdir():
        pids |= {int(pid) for pid in (task / "children").read_text().split()}
    return pids


@pytest.fixture
def no_children_left():
    before = child_processes()
    yield
    assert child_processes() - before == set(), "the PDF reader was left running"


def test_a_tiny_pdf_whose_five_pages_share_a_huge_text_stream_stops_at_the_page_bound(
    workspace, settings, no_children_left
):
    settings.KNOWLEDGE_EXTRACT_SECONDS = 120  # only the character bound may stop it here
    data = files.shared_stream_pdf(1_000_000)
    assert len(data) < 20_000
    document = indexed(upload(workspace, "tiny.pdf", data))
    assert document.status == IndexStatus.ERROR
    assert document.status_detail == (
        "Page 1 of the PDF has over 100,000 characters of text, more than a page holds; "
        "upload its text as a .txt file instead."
    )
    assert document.progress == 0
    assert not document.chunks.exists()


def test_a_pdf_that_takes_too_long_to_read_is_killed_at_the_time_bound(workspace, settings, no_children_left):
    settings.KNOWLEDGE_EXTRACT_SECONDS = 1
    settings.KNOWLEDGE_PAGE_MAX_CHARS = settings.KNOWLEDGE_DOCUMENT_MAX_CHARS = 10**9  # only time may stop it
    document = indexed(upload(workspace, "tiny.pdf", files.shared_stream_pdf(4_000_000)))
    assert document.status == IndexStatus.ERROR
    assert document.status_detail == (
        "The PDF took too long to read (over 1 s); split it into smaller files, or upload its text as a .txt file."
    )
    assert not document.chunks.exists()


def test_a_pdf_that_inflates_past_the_memory_bound_is_stopped(workspace, settings, no_children_left):
    settings.KNOWLEDGE_EXTRACT_MEMORY_MB = 64
    data = files.bloated_pdf(60_000_000)
    assert len(data) < 100_000
    document = indexed(upload(workspace, "bloated.pdf", data))
    assert document.status == IndexStatus.ERROR
    assert document.status_detail == (
        "The PDF needed more than 64 MB of memory to read; split it into smaller files, or upload its text as a .txt file."
    )


def test_a_pdf_over_the_page_bound_is_refused_before_its_pages_are_read(workspace, settings, no_children_left):
    settings.KNOWLEDGE_PDF_MAX_PAGES = 2
    document = indexed(upload(workspace, "manual.pdf", files.pdf(["One.", "Two.", "Three."])))
    assert document.status == IndexStatus.ERROR
    assert document.status_detail == "The PDF has 3 pages, over the limit of 2; split it into smaller files."


@pytest.mark.parametrize(
    "name, data",
    [
        ("manual.pdf", files.pdf(["Every page of the router manual says a lot. " * 12] * 5)),
        ("notes.txt", ("Every line of these notes says a lot. " * 100).encode()),
    ],
)
def test_a_document_over_the_character_bound_is_an_error_and_keeps_no_chunks(workspace, settings, name, data):
    settings.KNOWLEDGE_DOCUMENT_MAX_CHARS = 1000
    document = indexed(upload(workspace, name, data))
    assert document.status == IndexStatus.ERROR
    assert document.status_detail == "The document's text is over 1,000 characters; split it into smaller documents."
    assert not document.chunks.exists()


def test_a_document_of_one_huge_word_is_indexed_in_chunks_of_bounded_size(workspace):
    document = indexed(upload(workspace, "dump.txt", b"# " + b"Z" * 900 + b"\n\n" + b"x" * 1_500_000, title="Dump"))
    assert document.status == IndexStatus.READY, document.status_detail
    chunks = list(document.chunks.values_list("heading", "text"))
    assert len(chunks) >= 1_500_000 // MAX_CHARS
    assert max(len(text) for _, text in chunks) <= MAX_CHARS
    assert max(len(heading) for heading, _ in chunks) <= MAX_HEADING_CHARS


def test_a_normal_pdf_is_still_read_in_full(workspace, no_children_left):
    document = indexed(
        upload(workspace, "manual.pdf", files.pdf([f"Page {n} covers the router setup." for n in range(30)]))
    )
    assert document.status == IndexStatus.READY, document.status_detail
    text = " ".join(document.chunks.values_list("text", flat=True))
    assert "Page 0 covers" in text and "Page 29 covers" in text


def test_nul_characters_in_a_documents_text_are_dropped_not_a_failure(workspace):
    document = indexed(upload(workspace, "notes.txt", b"Opening\x00 hours are 9 to 5."))
    assert document.status == IndexStatus.READY, document.status_detail
    assert list(document.chunks.values_list("text", flat=True)) == ["Opening hours are 9 to 5."]


def test_the_pdf_reader_gets_none_of_the_servers_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-of-the-server")
    seen = {}
    real = subprocess.Popen

    def spy(argv, **kwargs):
        env = kwargs.get("env")
        seen.update(os.environ if env is None else env)  # no env: the child inherits ours
        return real(argv, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    assert extract.extract(files.pdf(["Hello."]), ".pdf") == "Hello."
    assert seen and "OPENAI_API_KEY" not in seen and "DATABASE_URL" not in seen and "SECRET_KEY" not in seen
