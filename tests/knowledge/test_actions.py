import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError

from helpdesk.knowledge import actions, retrieval
from helpdesk.knowledge.models import Chunk, IndexStatus
from helpdesk.knowledge.tasks import index_article, index_document, index_faq

pytestmark = pytest.mark.django_db


def run(enqueued):
    """Play the worker: run what was enqueued, then forget it."""
    tasks = {t.name: t for t in (index_article, index_faq, index_document)}
    for name, args in enqueued:
        tasks[name].call(*args)
    enqueued.clear()


def test_creating_an_article_marks_it_processing_and_indexes_it_after_commit(
    workspace, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        article = actions.create_article(workspace, title="Returns", body="Send it back within 30 days.")
    assert article.status == IndexStatus.PROCESSING
    assert enqueued == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert enqueued == [(index_article.name, (article.pk,))]
    run(enqueued)
    article.refresh_from_db()
    assert article.status == IndexStatus.READY
    assert [h.item_id for h in retrieval.search(workspace, "send back")] == [article.pk]


def test_an_edit_of_the_text_reindexes_but_other_fields_do_not(workspace, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = actions.create_article(workspace, title="Returns", body="Within 14 days.")
    run(enqueued)
    with django_capture_on_commit_callbacks(execute=True):
        article = actions.update(article, url="https://acme.test/returns", channels=["widget"])
    assert enqueued == []
    assert article.status == IndexStatus.READY
    with django_capture_on_commit_callbacks(execute=True):
        article = actions.update(article, body="Within 30 days.")
    assert article.status == IndexStatus.PROCESSING
    assert enqueued == [(index_article.name, (article.pk,))]
    run(enqueued)
    assert list(article.chunks.values_list("text", flat=True)) == ["Within 30 days."]


def test_disabling_hides_at_once_and_enabling_reindexes(workspace, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        faq = actions.create_faq(workspace, question="Do you ship abroad?", answer="Yes, to the EU.")
    run(enqueued)
    assert retrieval.search(workspace, "ship abroad")
    with django_capture_on_commit_callbacks(execute=True):
        faq = actions.disable(faq)
    assert enqueued == []
    assert not faq.active
    assert retrieval.search(workspace, "ship abroad") == []
    with django_capture_on_commit_callbacks(execute=True):
        faq = actions.enable(faq)
    assert enqueued == [(index_faq.name, (faq.pk,))]
    run(enqueued)
    assert [h.item_id for h in retrieval.search(workspace, "ship abroad")] == [faq.pk]


def test_update_can_switch_an_item_off_and_refuses_unknown_fields(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = actions.create_article(workspace, title="Returns", body="Text.")
        article = actions.update(article, enabled=False)
    assert article.enabled is False
    with pytest.raises(ValueError):
        actions.update(article, workspace_id=1)
    with pytest.raises(ValueError):
        actions.update(article, channels=["fax"])


def test_a_question_is_unique_in_its_workspace_whatever_the_case(workspace, other_workspace):
    actions.create_faq(workspace, question="Do you ship abroad?", answer="Yes.")
    actions.create_faq(other_workspace, question="Do you ship abroad?", answer="No.")
    with pytest.raises(IntegrityError):
        actions.create_faq(workspace, question="DO YOU SHIP ABROAD?", answer="Maybe.")


def test_documents_are_uploaded_indexed_replaced_and_deleted_with_their_file(
    workspace, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = actions.create_document(
            workspace, title="Hours", file=ContentFile(b"Open 9 to 5.", name="hours.txt")
        )
    assert document.content_type == "text/plain"
    first_file = document.file.name
    assert first_file.startswith(f"knowledge/{workspace.pk}/")
    run(enqueued)
    with django_capture_on_commit_callbacks(execute=True):
        document = actions.update(document, file=ContentFile(b"# Hours\n\nOpen 8 to 6.", name="hours.md"))
    assert document.content_type == "text/markdown"
    assert not document.file.storage.exists(first_file)
    run(enqueued)
    assert list(document.chunks.values_list("text", flat=True)) == ["Open 8 to 6."]
    second_file = document.file.name
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete(document)
    assert not document.file.storage.exists(second_file)
    assert not Chunk.objects.exists()


def test_an_unsupported_upload_is_refused(workspace):
    with pytest.raises(ValueError, match=r"unsupported file type \.exe"):
        actions.create_document(workspace, title="Setup", file=ContentFile(b"MZ", name="setup.exe"))


def test_deleting_an_article_deletes_its_chunks(workspace, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = actions.create_article(workspace, title="Returns", body="Text.")
    run(enqueued)
    assert Chunk.objects.filter(article=article).exists()
    actions.delete(article)
    assert not Chunk.objects.exists()
