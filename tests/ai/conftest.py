from __future__ import annotations

import pytest

from tests.llm_stub import LLMStub


@pytest.fixture(scope="session")
def llm():
    stub = LLMStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(llm, settings):
    """The stub, reset, configured as the installation's provider."""
    llm.mode, llm.reply, llm.first_token_delay, llm.token_delay = "ok", None, 0.0, 0.0
    llm.redirect_to = None
    llm.resume()  # no pause left over
    llm.requests.clear()
    llm.authorizations.clear()
    settings.OPENAI_BASE_URL = llm.url
    settings.OPENAI_API_KEY = "sk-test"
    return llm


@pytest.fixture
def no_model(settings):
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""


def add_article(workspace, title: str, body: str, **extra):
    from helpdesk.knowledge.models import Article
    from helpdesk.knowledge.tasks import index_article

    article = Article.objects.create(workspace=workspace, title=title, body=body, **extra)
    index_article.call(article.pk)
    return article


def add_faq(workspace, question: str, answer: str):
    from helpdesk.knowledge.models import FAQ
    from helpdesk.knowledge.tasks import index_faq

    faq = FAQ.objects.create(workspace=workspace, question=question, answer=answer)
    index_faq.call(faq.pk)
    return faq
