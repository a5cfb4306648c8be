"""Hostile input: markup in everything a visitor controls renders as text wherever it is shown,
Markdown goes through the sanitizer, and oversized requests get a clear 4xx with nothing saved.
(Forged tokens and HMACs, bad websocket frames, wrong origins, CSRF and other workspaces' IDs
are tested beside the code they attack: tests/realtime, tests/widget, tests/test_access.py,
tests/workspace/test_settings_walk.py.)"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Contact, Message
from helpdesk.knowledge.models import Article
from helpdesk.realtime import handlers
from tests.conftest import widget_headers

SCRIPT = "<script>alert('body')</script>"
IMG = '<img src=x onerror="alert(1)">'
NAME = '<b onmouseover="alert(2)">Mallory</b>'
TRAIT = "<svg onload=alert(3)>"
RAW = [SCRIPT, IMG, NAME, TRAIT, "<img", "<svg", "<b "]  # as markup, never as text


@pytest.fixture
def hostile(workspace, agent, visitor):
    """A conversation where the visitor named themself, set a trait and wrote markup; the agent
    quoted it back."""
    _v, raw = visitor
    client = Client()
    identify = client.post(
        reverse("widget:identify"),
        json.dumps({"name": NAME, "traits": {"plan": TRAIT}}),
        content_type="application/json",
        **widget_headers(workspace, raw),
    )
    assert identify.status_code == 200
    sent = client.post(reverse("widget:send"), {"body": f"{SCRIPT} {IMG} **bold**"}, **widget_headers(workspace, raw))
    assert sent.status_code == 201
    conversation = Message.objects.get(body__startswith=SCRIPT).conversation
    actions.post_agent_reply(conversation, agent, f"You wrote {SCRIPT} and {IMG}")
    return conversation, raw, sent.content.decode()


def assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{raw!r} unescaped in {where}"


def test_markup_from_a_visitor_is_text_in_the_widget(client, workspace, hostile):
    _conversation, raw, post_response = hostile
    assert_inert(post_response, "the post's response")
    thread = client.get(reverse("widget:thread"), {"after": 0}, **widget_headers(workspace, raw)).content.decode()
    assert_inert(thread, "the widget thread")
    assert "&lt;script&gt;" in thread
    v = identity.visitor_for_token(workspace, raw)
    assert_inert(handlers.widget_replay(v, 0), "the widget socket's replay")


def test_markup_from_a_visitor_is_text_in_the_inbox(client, agent, workspace, hostile):
    conversation, _raw, _ = hostile
    client.force_login(agent)
    pages = {
        "the list": client.get(reverse("inbox:index")).content.decode(),
        "the conversation": client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode(),
        "the socket's replay": handlers.inbox_replay(agent.memberships.get(), conversation.pk, 0),
    }
    for where, html in pages.items():
        assert_inert(html, where)
    assert "&lt;b onmouseover" in pages["the conversation"]  # the name, shown as typed
    assert "&lt;svg onload" in pages["the conversation"]  # the trait too


def test_a_help_article_goes_through_the_sanitizer(client, workspace):
    article = Article.objects.create(
        workspace=workspace,
        title="Returns",
        body=f"# Returns\n\n{SCRIPT}\n\n[x](javascript:alert(5))\n\n{IMG}\n\nSend it back.",
    )
    page = client.get(reverse("widget:article", args=[article.public_id])).content.decode()
    assert "Send it back." in page
    assert "<script>alert" not in page and "javascript:" not in page and "onerror" not in page


def test_a_request_body_over_the_upload_limit_gets_400_and_saves_nothing(client, workspace, visitor, settings):
    _v, raw = visitor
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = client.post(reverse("widget:send"), {"body": "x" * 20_000}, **widget_headers(workspace, raw))
    assert response.status_code in (400, 413)
    assert not Message.objects.exists()


def test_an_oversized_identify_payload_is_refused(client, workspace, visitor):
    v, raw = visitor
    traits = {f"k{i}": "v" * 500 for i in range(200)}
    response = client.post(
        reverse("widget:identify"),
        json.dumps({"name": "Ada", "traits": traits}),
        content_type="application/json",
        **widget_headers(workspace, raw),
    )
    assert response.status_code in (400, 413) and response.json()["error"]
    v.contact.refresh_from_db()
    assert v.contact.traits == {} and v.contact.name == ""


# ---------------------------------------------------------------- NUL characters
# PostgreSQL text refuses NUL: anything carrying one to a query was a 500. Outside the widget's
# intake (which strips them, tests/realtime/test_hostile_frames.py) it is refused with a 400.


@pytest.mark.parametrize(
    "path",
    [
        "/inbox/?q=%00",
        "/inbox/?q=order%00",
        "/inbox/canned?q=%00",
        "/inbox/?before=%00",
        "/inbox/?%00=1",
        "/settings/knowledge/?q=%00",
        "/settings/knowledge/?q=returns%00&kind=article",
    ],
)
def test_a_nul_in_a_query_parameter_is_refused_with_400(client, owner, conversation, path):
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 400
    assert response.content.decode() == "NUL characters are not allowed."


def test_a_nul_in_an_agents_reply_is_refused_and_nothing_is_saved(agent_client, conversation):
    before = conversation.messages.count()
    response = agent_client.post(reverse("inbox:reply", args=[conversation.pk]), {"body": "On its way\x00"})
    assert response.status_code == 400
    assert conversation.messages.count() == before


def test_a_nul_in_the_path_is_refused_with_400(client, db):
    assert client.get("/invite/abc%00def/").status_code == 400


def test_a_nul_in_the_sign_in_form_is_refused_with_400(client, db):
    response = client.post(reverse("accounts:login"), {"username": "ada@example.com\x00", "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize("query", [{"token": "wt_\x00"}, {"title": "Help\x00"}])
def test_a_nul_in_the_widgets_query_string_is_refused_with_400(client, workspace, query):
    query = {"token": workspace.public_token, **query}
    assert client.get(reverse("widget:chat"), query).status_code == 400


def test_a_nul_in_the_widgets_cursor_is_refused_with_400(client, workspace, visitor):
    _v, raw = visitor
    response = client.get(reverse("widget:thread"), {"after": "1\x00"}, **widget_headers(workspace, raw))
    assert response.status_code == 400 and response.json()["error"]


def test_a_widget_cursor_past_the_largest_id_is_refused_with_400(client, workspace, visitor):
    _v, raw = visitor
    response = client.get(reverse("widget:thread"), {"after": str(2**64)}, **widget_headers(workspace, raw))
    assert response.status_code == 400 and response.json()["error"] == "Bad cursor."


def test_a_nul_in_a_widget_token_header_is_not_a_500(client, workspace, visitor):
    _v, raw = visitor
    response = client.get(reverse("widget:thread"), HTTP_X_WIDGET_TOKEN="wt_\x00", HTTP_X_VISITOR_TOKEN=raw)
    assert response.status_code == 403


def test_the_widgets_message_form_keeps_a_visitors_message_with_its_nul_stripped(client, workspace, visitor):
    _v, raw = visitor
    response = client.post(
        reverse("widget:send"),
        {"body": "Hi\x00 there", "page_url": "https://acme.test/\x00x"},
        **widget_headers(workspace, raw),
    )
    assert response.status_code == 201
    message = Message.objects.get()
    assert message.body == "Hi there" and message.conversation.page_url == "https://acme.test/x"


def test_a_new_visitors_page_url_loses_its_nul(client, workspace):
    response = client.post(
        reverse("widget:start"), {"page_url": "https://acme.test/\x00pricing"}, **widget_headers(workspace)
    )
    assert response.status_code == 201
    assert Contact.objects.get().last_page_url == "https://acme.test/pricing"


# ---------------------------------------------------------------- Markdown in messages
# Agents and the AI write Markdown; what they type as HTML is shown as text, and links keep
# only web addresses. A customer's message is text whose http(s) addresses are links.

MARKDOWN_ATTACKS = (
    f"{SCRIPT}\n\n{IMG}\n\n[click](javascript:alert(6)) [data](data:text/html;base64,PHNjcmlwdD4=) "
    "![pixel](https://evil.example/p.png) <a href='javascript:alert(7)'>a</a> **still bold**"
)


def _every_view_of(client, agent, workspace, conversation, raw) -> dict[str, str]:
    client.force_login(agent)
    membership = agent.memberships.get()
    v = identity.visitor_for_token(workspace, raw)
    return {
        "the widget thread": Client()
        .get(reverse("widget:thread"), {"after": 0}, **widget_headers(workspace, raw))
        .content.decode(),
        "the widget socket's replay": handlers.widget_replay(v, 0),
        "the inbox list": client.get(reverse("inbox:index")).content.decode(),
        "the conversation": client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode(),
        "the inbox socket's replay": handlers.inbox_replay(membership, conversation.pk, 0),
    }


DANGEROUS_ATTRIBUTE = re.compile(
    r"<[^>]*\b(?:href|src|on\w+)\s*=\s*[\"']?\s*(?:javascript:|data:[a-z]|vbscript:|https://evil|alert)", re.I
)


def assert_no_live_markup(html: str, where: str) -> None:
    for raw in (SCRIPT, IMG, "<img", "<script>alert", "<a href='"):
        assert raw not in html, f"{raw!r} unescaped in {where}"
    found = DANGEROUS_ATTRIBUTE.search(html)
    assert found is None, f"{found.group(0) if found else ''!r} in {where}"


@pytest.mark.parametrize("author", ["agent", "ai"])
def test_html_and_dangerous_links_in_markdown_from_an_agent_or_the_ai_stay_inert(
    client, agent, workspace, visitor, author
):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation
    if author == "agent":
        actions.post_agent_reply(conversation, agent, MARKDOWN_ATTACKS)
    else:
        actions.post_ai_reply(conversation, conversation.messages.get().pk, MARKDOWN_ATTACKS, [])
    for where, html in _every_view_of(client, agent, workspace, conversation, raw).items():
        assert_no_live_markup(html, where)
        if where != "the inbox list":
            assert "<strong>still bold</strong>" in html, where  # the Markdown is rendered
            assert "&lt;script&gt;" in html, where  # and the HTML shown as typed
    conversation.refresh_from_db()
    assert "**" not in conversation.last_message_preview and "still bold" in conversation.last_message_preview


def test_a_customers_markup_and_javascript_address_are_text(client, agent, workspace, visitor):
    _v, raw = visitor
    body = f"{SCRIPT} **not bold** javascript:alert(8) [x](javascript:alert(9)) see https://acme.test/o?id=1&n=2"
    sent = Client().post(reverse("widget:send"), {"body": body}, **widget_headers(workspace, raw))
    assert sent.status_code == 201
    conversation = Message.objects.get().conversation
    views = _every_view_of(client, agent, workspace, conversation, raw)
    views["the post's response"] = sent.content.decode()
    link = '<a href="https://acme.test/o?id=1&amp;n=2" target="_blank" rel="noopener noreferrer nofollow">'
    for where, html in views.items():
        assert_no_live_markup(html, where)
        if where != "the inbox list":
            assert "**not bold**" in html and "javascript:alert(8)" in html, where  # as typed
            assert link in html, where  # the web address is a link
