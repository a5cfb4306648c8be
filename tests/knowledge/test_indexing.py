import pytest
from django.core.files.base import ContentFile

from helpdesk.knowledge import chunking, indexing, retrieval
from helpdesk.knowledge.models import Article, Chunk, Document, IndexStatus
from helpdesk.knowledge.tasks import index_article, index_document, index_faq
from tests.knowledge import files
from tests.knowledge.conftest import add_article, add_faq

pytestmark = pytest.mark.django_db

LONG = "\n\n".join(
    f"## Part {i}\n\n" + " ".join(f"Step {i}.{j} explains the widget settings." for j in range(40)) for i in range(3)
)


def chunk_rows(item):
    return list(item.chunks.order_by("position").values_list("id", "position", "heading", "text"))


def upload(workspace, name: str, data: bytes, title: str = "Handbook") -> Document:
    document = Document(workspace=workspace, title=title)
    document.file.save(name, ContentFile(data), save=False)
    document.save()
    return document


def test_indexing_an_article_makes_its_chunks_and_marks_it_ready(workspace):
    article = add_article(workspace, "Widget guide", LONG)
    rows = chunk_rows(article)
    assert len(rows) > 3
    assert [r[1] for r in rows] == list(range(len(rows)))
    assert rows[0][2] == "Widget guide › Part 0"
    assert article.status == IndexStatus.READY
    assert article.status_detail == ""
    assert article.progress == 100
    assert Chunk.objects.filter(article=article, workspace=workspace, kind="article").count() == len(rows)


def test_indexing_again_replaces_the_chunks_with_the_same_ones(workspace):
    article = add_article(workspace, "Widget guide", LONG)
    before = chunk_rows(article)
    index_article.call(article.pk)
    after = chunk_rows(article)
    assert [r[1:] for r in after] == [r[1:] for r in before]
    assert not {r[0] for r in before} & {r[0] for r in after}
    assert Chunk.objects.count() == len(before)


def test_an_edit_then_indexing_leaves_no_trace_of_the_old_text(workspace):
    article = add_article(workspace, "Returns", "Send it back within 14 days.")
    Article.objects.filter(pk=article.pk).update(body="Send it back within 30 days.")
    index_article.call(article.pk)
    assert [r[3] for r in chunk_rows(article)] == ["Send it back within 30 days."]


def test_a_faq_is_indexed_as_one_chunk(workspace):
    faq = add_faq(workspace, "Do you ship abroad?", "Yes, to the EU.")
    assert [(c.kind, c.heading, c.text) for c in faq.chunks.all()] == [
        ("faq", "Do you ship abroad?", "Do you ship abroad?\nYes, to the EU.")
    ]
    assert faq.status == IndexStatus.READY


def test_an_item_edited_while_it_was_being_indexed_is_left_to_the_newer_task(workspace, monkeypatch):
    article = Article.objects.create(workspace=workspace, title="Returns", body="Old text.")
    real = chunking.chunk_markdown

    def edited_meanwhile(title, body):
        Article.objects.filter(pk=article.pk).update(body="New text.")
        return real(title, body)

    monkeypatch.setattr(chunking, "chunk_markdown", edited_meanwhile)
    index_article.call(article.pk)
    article.refresh_from_db()
    assert article.status == IndexStatus.PROCESSING
    assert not article.chunks.exists()


def test_a_deleted_item_is_skipped(workspace):
    article = Article.objects.create(workspace=workspace, title="Gone", body="Text.")
    Article.objects.filter(pk=article.pk).delete()
    index_article.call(article.pk)  # no error
    index_faq.call(123456789)
    assert not Chunk.objects.exists()


def test_text_markdown_and_html_documents_are_read(workspace):
    txt = upload(workspace, "notes.txt", b"Opening hours are 9 to 5.", title="Notes")
    md = upload(workspace, "guide.md", b"# Shipping\n\nWe ship on Mondays.", title="Guide")
    html = upload(
        workspace,
        "page.html",
        b"<html><head><style>p{color:red}</style><script>var secret=1</script></head>"
        b"<body><h2>Refunds</h2><p>Money back &amp; no questions.</p></body></html>",
        title="Page",
    )
    for document in (txt, md, html):
        index_document.call(document.pk)
        document.refresh_from_db()
        assert document.status == IndexStatus.READY, document.status_detail
    assert [c.text for c in txt.chunks.all()] == ["Opening hours are 9 to 5."]
    assert [(c.heading, c.text) for c in md.chunks.all()] == [("Guide › Shipping", "We ship on Mondays.")]
    assert [(c.heading, c.text) for c in html.chunks.all()] == [("Page › Refunds", "Money back & no questions.")]


def test_a_pdf_is_read_page_by_page_with_progress(workspace, monkeypatch):
    document = upload(workspace, "manual.pdf", files.pdf([f"Page {n} covers the router setup." for n in range(20)]))
    seen = []
    real = indexing._Progress.__call__

    def record(self, percent):
        seen.append(int(percent))
        real(self, percent)

    monkeypatch.setattr(indexing._Progress, "__call__", record)
    index_document.call(document.pk)
    document.refresh_from_db()
    assert document.status == IndexStatus.READY
    assert document.progress == 100
    assert seen == sorted(seen)
    assert any(0 < p < 50 for p in seen)  # pages read
    text = " ".join(document.chunks.values_list("text", flat=True))
    assert "Page 0 covers the router setup." in text and "Page 19 covers" in text


def test_a_broken_pdf_is_an_error_with_its_reason_and_no_chunks(workspace):
    document = upload(workspace, "manual.pdf", files.pdf(["Old manual text."]))
    index_document.call(document.pk)
    assert document.chunks.exists()
    document.file.save("manual-v2.pdf", ContentFile(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage"), save=True)
    index_document.call(document.pk)
    document.refresh_from_db()
    assert document.status == IndexStatus.ERROR
    assert "PDF could not be read" in document.status_detail
    assert document.progress == 0
    assert not document.chunks.exists()  # the old manual's text is not served any more


def test_a_pdf_without_text_and_an_unsupported_file_are_errors(workspace):
    scanned = upload(workspace, "scan.pdf", files.pdf([""]))
    word = upload(workspace, "letter.docx", b"PK\x03\x04")
    for document in (scanned, word):
        index_document.call(document.pk)
        document.refresh_from_db()
        assert document.status == IndexStatus.ERROR
    assert "no text layer" in scanned.status_detail
    assert "Unsupported file type .docx" in word.status_detail


def test_a_missing_file_is_an_error(workspace):
    document = upload(workspace, "gone.txt", b"text")
    document.file.storage.delete(document.file.name)
    index_document.call(document.pk)
    document.refresh_from_db()
    assert document.status == IndexStatus.ERROR
    assert "could not be opened" in document.status_detail


def test_chunks_get_vectors_in_batches(workspace, vectors):
    article = add_article(workspace, "Widget guide", LONG)
    assert article.status == IndexStatus.READY
    embeddings = list(article.chunks.values_list("embedding", flat=True))
    assert all(e is not None and len(e) == 384 for e in embeddings)
    assert len(vectors.requests) == 1  # chunks and headings, one batch
    assert len(vectors.requests[0]["input"]) == len(embeddings) + len({c.heading for c in article.chunks.all()})


def test_when_embedding_fails_the_item_is_still_found_by_its_words(workspace, vectors):
    vectors.fail = True
    article = add_article(workspace, "Returns", "Send it back within 30 days.")
    assert article.status == IndexStatus.ERROR
    assert article.status_detail.startswith("Embeddings failed")
    assert list(article.chunks.values_list("embedding", flat=True)) == [None]
    hits = retrieval.search(workspace, "send back")
    assert [h.item_id for h in hits] == [article.pk]
    assert hits[0].similarity is None


def test_an_unexpected_failure_is_recorded_on_the_item(workspace, monkeypatch):
    article = Article.objects.create(workspace=workspace, title="Returns", body="Text.")

    def broken(title, body):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(chunking, "chunk_markdown", broken)
    with pytest.raises(RuntimeError):
        index_article.call(article.pk)
    article.refresh_from_db()
    assert article.status == IndexStatus.ERROR
    assert "disk on fire" in article.status_detail
