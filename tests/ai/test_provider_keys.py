"""Whose API key goes where, and what a provider's failure shows, from the side of the people it
could hurt:

- the operator, whose OPENAI_API_KEY must never reach a base URL that a workspace set (answers,
  suggestions, Test connection, embeddings alike);
- everyone, when a provider's error echoes the key it was sent ("Incorrect API key provided:
  sk-..."): agents, admins and the logs see a status and a short reason, never the key;
- the unlucky admin whose saved key cannot be decrypted after SECRET_KEY changed: the page says
  so, the key is never used, and the server's key never silently replaces it.

The stub plays every provider; the workspace's own endpoint is the stub on loopback, allowed
through OUTBOUND_PRIVATE_HOSTS as an operator would allow a local Ollama.
"""

from __future__ import annotations

import logging
import traceback

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from helpdesk.ai import agent, provider
from helpdesk.ai.models import AIRun, AISettings
from helpdesk.conversations import actions
from helpdesk.conversations.models import Message
from helpdesk.knowledge.models import Article, IndexStatus
from helpdesk.realtime import groups
from tests.ai.conftest import add_article
from tests.workspace.test_ai_settings import VALID

OPERATOR_KEY = "sk-operator-9f8e7d6c5b4a39281706-SECRET"
WORKSPACE_KEY = "sk-workspace-1a2b3c4d5e6f7a8b9c0d-SECRET"
SHIPPING = "We ship to every country in the European Union. Delivery to Norway takes five to seven days."


@pytest.fixture
def knowledge(workspace):
    return add_article(workspace, "Shipping and delivery", f"# Shipping\n\n{SHIPPING}")


@pytest.fixture
def own_endpoint(stub, settings, workspace):
    """The workspace set its own base URL (the stub, allowed by the operator) and no key; the
    server's provider is elsewhere, with the operator's key."""
    settings.OPENAI_BASE_URL = "https://llm.operator.test/v1"
    settings.OPENAI_API_KEY = OPERATOR_KEY
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{stub.port}"]
    AISettings.objects.update_or_create(workspace=workspace, defaults={"base_url": stub.url, "retries": 0})
    return stub


@pytest.fixture
def servers_endpoint(stub, settings, workspace):
    """The stub is the server's provider, with the operator's key; the workspace has no base URL."""
    settings.OPENAI_API_KEY = OPERATOR_KEY
    AISettings.objects.update_or_create(workspace=workspace, defaults={"retries": 0})
    return stub


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def ask(visitor, text: str = "How long does delivery to Norway take?") -> Message:
    v, _raw = visitor
    return actions.post_customer_message(v, text)


def suggestion_pushed_to(agent_user, conversation_id: int) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.agent(agent_user.pk), channel)
    agent.suggest(conversation_id, agent_user.pk)
    return async_to_sync(layer.receive)(channel)["html"]


def set_key(workspace, key: str) -> None:
    ai = AISettings.for_workspace(workspace)
    ai.api_key = key
    ai.save()


# ---------------------------------------------------------------- the operator's key stays home


def test_an_answer_sends_no_key_to_a_base_url_the_workspace_set(db, own_endpoint, knowledge, visitor):
    question = ask(visitor)
    agent.answer(question.pk)
    assert AIRun.objects.get(trigger=question).status == AIRun.Status.ANSWERED
    assert own_endpoint.authorizations == [None]


def test_a_suggestion_sends_no_key_to_a_base_url_the_workspace_set(db, own_endpoint, knowledge, visitor, agent):
    question = ask(visitor)
    assert "European Union" in suggestion_pushed_to(agent, question.conversation_id)
    assert own_endpoint.authorizations == [None]


def test_test_connection_sends_no_key_to_a_base_url_the_admin_typed(db, own_endpoint, owner_client):
    html = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": own_endpoint.url}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Connected" in html
    assert own_endpoint.authorizations == [None]


def test_embeddings_send_no_key_to_a_base_url_the_workspace_set(db, own_endpoint, settings, workspace):
    settings.EMBEDDING_PROVIDER = "openai"
    article = add_article(workspace, "Shipping and delivery", SHIPPING)
    article.refresh_from_db()
    assert article.status == IndexStatus.READY and article.status_detail == ""
    assert own_endpoint.authorizations and set(own_endpoint.authorizations) == {None}


def test_a_workspaces_own_key_goes_to_its_own_base_url(db, own_endpoint, knowledge, visitor, workspace):
    set_key(workspace, WORKSPACE_KEY)
    agent.answer(ask(visitor).pk)
    assert own_endpoint.authorizations == [f"Bearer {WORKSPACE_KEY}"]


@pytest.mark.parametrize("base_url", ["", "same"])
def test_the_operators_key_goes_to_the_operators_base_url(
    db, servers_endpoint, knowledge, visitor, workspace, base_url
):
    AISettings.objects.filter(workspace=workspace).update(base_url=servers_endpoint.url + "/" if base_url else "")
    agent.answer(ask(visitor).pk)
    assert servers_endpoint.authorizations == [f"Bearer {OPERATOR_KEY}"]  # trusted: no OUTBOUND_PRIVATE_HOSTS needed


# ---------------------------------------------------------------- a provider that echoes the key


@pytest.fixture(params=["workspace key", "operator key"])
def echoing(request, stub, settings, workspace):
    """A provider that answers 401 with the key it was sent in the body; returns the key."""
    if request.param == "workspace key":
        request.getfixturevalue("own_endpoint")
        set_key(workspace, WORKSPACE_KEY)
        key = WORKSPACE_KEY
    else:
        request.getfixturevalue("servers_endpoint")
        key = OPERATOR_KEY
    stub.mode = "bad_key"
    return key


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_an_agents_suggestion_shows_only_that_the_provider_failed(db, echoing, knowledge, visitor, agent, logs):
    question = ask(visitor)
    pushed = suggestion_pushed_to(agent, question.conversation_id)
    assert "The AI provider failed (HTTP 401). An admin can check Settings \u2192 AI." in pushed
    assert echoing not in pushed and "Incorrect API key" not in pushed and "Bearer" not in pushed
    assert "sk-" not in pushed
    assert echoing not in logs.text


def test_a_failed_answer_logs_the_status_but_not_the_key(db, echoing, knowledge, visitor, logs):
    question = ask(visitor)
    agent.answer(question.pk)
    assert AIRun.objects.get(trigger=question).status == AIRun.Status.HANDED_OVER
    assert "HTTP 401 Unauthorized (invalid_api_key)" in logs.text
    assert echoing not in logs.text and "Incorrect API key" not in logs.text
    bodies = " ".join(Message.objects.values_list("body", flat=True))
    assert echoing not in bodies and echoing not in " ".join(AIRun.objects.values_list("reason", flat=True))


def test_test_connection_shows_the_admin_the_status_but_not_the_key(db, echoing, owner_client, workspace, logs):
    base_url = AISettings.for_workspace(workspace).base_url
    html = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": base_url}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "The connection failed" in html and "HTTP 401 Unauthorized (invalid_api_key)" in html
    assert echoing not in html and "Incorrect API key" not in html
    assert echoing not in logs.text


def test_a_knowledge_items_status_after_failed_embeddings_has_no_key(db, echoing, settings, workspace, logs):
    settings.EMBEDDING_PROVIDER = "openai"
    article = add_article(workspace, "Shipping and delivery", SHIPPING)
    article.refresh_from_db()
    assert article.status == IndexStatus.ERROR and "HTTP 401 Unauthorized" in article.status_detail
    assert echoing not in article.status_detail and "Incorrect API key" not in article.status_detail
    assert echoing not in logs.text


def test_the_traceback_of_a_provider_error_has_no_key(db, echoing, workspace):
    """What logger.exception, or the task queue storing a failed task, would print."""
    config = agent.provider_config(AISettings.for_workspace(workspace))
    with pytest.raises(provider.ProviderError) as failed:
        provider.chat(config, "gpt-4o-mini", [{"role": "user", "content": "hi"}], temperature=0, max_tokens=5)
    printed = "".join(traceback.format_exception(failed.value))
    assert failed.value.status == 401 and "HTTP 401" in printed
    assert echoing not in printed and "Incorrect API key" not in printed


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-AbCdEf0123456789xyz.",
        "Incorrect API key provided: sk-abc***********wxyz",
        "header was Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "Bearer abc.DEF-123_456",
        '{"api-key": "0123456789abcdef0123"}',
        "x-api-key=0123456789abcdef0123; next",
        "api_key: 0123456789abcdef0123",
        "the key my-own-secret-value was refused",
    ],
)
def test_the_scrubber_removes_keys_of_every_shape(text):
    scrubbed = provider.scrub(text, key="my-own-secret-value")
    for secret in ("sk-proj-AbCdEf", "sk-abc", "eyJhbGci", "abc.DEF", "0123456789abcdef0123", "my-own-secret-value"):
        assert secret not in scrubbed
    assert "[API key]" in scrubbed


# ---------------------------------------------------------------- a saved key that cannot be read


@pytest.fixture
def unreadable(settings, workspace, servers_endpoint):
    """A key saved under another SECRET_KEY, as after the server's secret key changed; the
    server's own provider (the stub, with the operator's key) is configured."""
    current = settings.SECRET_KEY
    settings.SECRET_KEY = "an-older-secret-key-that-the-server-had-before-0123456789"
    set_key(workspace, WORKSPACE_KEY)
    settings.SECRET_KEY = current
    assert AISettings.for_workspace(workspace).api_key_encrypted
    return servers_endpoint


def test_the_settings_page_says_the_key_cannot_be_read(db, unreadable, owner_client):
    html = owner_client.get("/settings/ai/").content.decode()
    assert "Cannot be read (the server&#x27;s secret key changed?): set it again." in html
    assert "Set. Leave blank to keep it." not in html


def test_an_unreadable_key_is_not_replaced_by_the_servers_key_in_answers(db, unreadable, knowledge, visitor):
    question = ask(visitor, "delivery to Norway")
    agent.answer(question.pk)
    assert unreadable.requests == []  # knowledge-only mode: neither the lost key nor the operator's is sent
    reply = question.conversation.messages.get(author_kind=Message.Author.AI)
    assert "Norway" in reply.body and reply.sources[0]["id"] == knowledge.pk


def test_an_unreadable_key_is_not_replaced_by_the_servers_key_in_suggestions(db, unreadable, knowledge, visitor, agent):
    question = ask(visitor)
    # knowledge-only: the draft quotes the sentence that answers "delivery to Norway"
    assert "Delivery to Norway takes five to seven days." in suggestion_pushed_to(agent, question.conversation_id)
    assert unreadable.requests == []


def test_an_unreadable_key_fails_the_embeddings_with_a_clear_status(db, unreadable, settings, workspace):
    settings.EMBEDDING_PROVIDER = "openai"
    article = add_article(workspace, "Shipping and delivery", SHIPPING)
    article = Article.objects.get(pk=article.pk)
    assert article.status == IndexStatus.ERROR
    assert "saved API key cannot be read (the server's secret key changed?)" in article.status_detail
    assert "set it again in Settings" in article.status_detail
    assert unreadable.requests == []


def test_test_connection_says_the_saved_key_cannot_be_read(db, unreadable, owner_client):
    html = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": ""}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "The saved API key cannot be read" in html
    assert unreadable.requests == []


def test_setting_the_key_again_mends_it(db, unreadable, owner_client, knowledge, visitor, workspace):
    assert (
        owner_client.post("/settings/ai/", {**VALID, "base_url": "", "api_key": "sk-set-again-123456"}).status_code
        == 200
    )
    assert "Set. Leave blank to keep it." in owner_client.get("/settings/ai/").content.decode()
    agent.answer(ask(visitor).pk)
    assert unreadable.authorizations == ["Bearer sk-set-again-123456"]
