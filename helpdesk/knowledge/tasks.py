"""Background indexing. The tasks take ids and re-read the item: it may have changed or gone.

They run on a queue of their own (QUEUE, listed in settings.TASKS), which the worker serves
with a loop of its own: indexing a large document never holds up an AI answer."""

from __future__ import annotations

from django_tasks import task

from helpdesk.knowledge import indexing
from helpdesk.knowledge.models import FAQ, Article, Document

QUEUE = "knowledge"


@task(queue_name=QUEUE)
def index_article(article_id: int) -> None:
    indexing.index(Article, article_id)


@task(queue_name=QUEUE)
def index_faq(faq_id: int) -> None:
    indexing.index(FAQ, faq_id)


@task(queue_name=QUEUE)
def index_document(document_id: int) -> None:
    indexing.index(Document, document_id)


@task(queue_name=QUEUE)
def reembed_workspace(workspace_id: int) -> None:
    """After a workspace's embedding model changed: its chunks' vectors, computed again."""
    indexing.reembed_workspace(workspace_id)
