"""Background indexing. The tasks take ids and re-read the item: it may have changed or gone."""

from __future__ import annotations

from django_tasks import task

from helpdesk.knowledge import indexing
from helpdesk.knowledge.models import FAQ, Article, Document


@task()
def index_article(article_id: int) -> None:
    indexing.index(Article, article_id)


@task()
def index_faq(faq_id: int) -> None:
    indexing.index(FAQ, faq_id)


@task()
def index_document(document_id: int) -> None:
    indexing.index(Document, document_id)


@task()
def reembed_workspace(workspace_id: int) -> None:
    """After a workspace's embedding model changed: its chunks' vectors, computed again."""
    indexing.reembed_workspace(workspace_id)
