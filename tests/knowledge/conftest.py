"""Knowledge fixtures: uploaded files under a temporary MEDIA_ROOT, the embeddings stub,
and helpers that create items and index them right away (as the worker would)."""

from __future__ import annotations

import pytest

from helpdesk.knowledge.models import FAQ, Article
from helpdesk.knowledge.tasks import index_article, index_faq
from tests.knowledge.embedding_stub import EmbeddingStub


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _no_embeddings(settings):
    """Full-text only unless a test asks for vectors."""
    settings.EMBEDDING_PROVIDER = "none"


@pytest.fixture(scope="session")
def embedding_stub():
    stub = EmbeddingStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def vectors(settings, embedding_stub):
    """Embeddings through the real OpenAI client against the stub."""
    embedding_stub.fail = False
    embedding_stub.requests.clear()
    settings.EMBEDDING_PROVIDER = "openai"
    settings.OPENAI_BASE_URL = embedding_stub.url
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_EMBEDDING_MODEL = "stub-embedding"
    settings.OPENAI_MAX_RETRIES = 0
    settings.OPENAI_TIMEOUT = 5.0
    yield embedding_stub
    embedding_stub.fail = False


def add_article(workspace, title: str, body: str, **fields) -> Article:
    article = Article.objects.create(workspace=workspace, title=title, body=body, **fields)
    index_article.call(article.pk)
    article.refresh_from_db()
    return article


def add_faq(workspace, question: str, answer: str, **fields) -> FAQ:
    faq = FAQ.objects.create(workspace=workspace, question=question, answer=answer, **fields)
    index_faq.call(faq.pk)
    faq.refresh_from_db()
    return faq
