"""The link in an email that reopens a conversation in the widget, on any device: signed,
expiring, for its own workspace only; the hosted chat page it opens; and what the widget
reports as seen (what is seen is not emailed)."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.urls import reverse

from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Conversation
from helpdesk.widget import resume
from tests.conftest import widget_headers

pytestmark = pytest.mark.django_db

OPEN = reverse("widget:open_resume")
THREAD = reverse("widget:thread")
SEEN = reverse("widget:seen")


@pytest.fixture
def code(conversation) -> str:
    return resume.make_code(conversation)


def test_a_link_opened_in_another_browser_shows_the_conversation(client, workspace, conversation, code, agent):
    actions.post_agent_reply(conversation, agent, "Your order ships today.")
    response = client.post(OPEN, {"code": code}, **widget_headers(workspace))
    assert response.status_code == 201
    raw = response.json()["visitor"]
    page = client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    assert "Hello, where is my order?" in page and "Your order ships today." in page


def test_the_same_browser_keeps_its_visitor(client, workspace, visitor, conversation, code):
    _v, raw = visitor
    response = client.post(OPEN, {"code": code}, **widget_headers(workspace, raw))
    assert response.status_code == 200 and response.json() == {"ok": True, "visitor": None}


def test_an_expired_link_says_so_and_opens_nothing(client, workspace, conversation, code, monkeypatch, settings):
    later = time.time() + settings.RESUME_LINK_MAX_AGE_DAYS * 86400 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.post(OPEN, {"code": code}, **widget_headers(workspace))
    assert response.status_code == 410
    assert response.json()["error"] == "This link has expired. You can write to us again here."
    # Its hosted page still opens (the widget then says the link has expired).
    assert client.get(reverse("widget:resume", args=[code])).status_code == 200


@pytest.mark.parametrize("tamper", ["flip", "other contact", "garbage", "empty"])
def test_a_forged_link_opens_nothing(client, workspace, conversation, code, tamper):
    forged = {
        "flip": code[:-2] + ("AA" if not code.endswith("AA") else "BB"),
        "other contact": signing.dumps({"c": conversation.pk, "k": conversation.contact_id + 1}, salt="other"),
        "garbage": "x" * 50,
        "empty": "",
    }[tamper]
    response = client.post(OPEN, {"code": forged}, **widget_headers(workspace))
    assert response.status_code == 410 and "visitor" not in response.json()


def test_a_link_to_a_conversation_whose_contact_changed_opens_nothing(client, workspace, conversation, code):
    other = identity.start_visitor(workspace)[0].contact
    Conversation.objects.filter(pk=conversation.pk).update(contact=other)
    assert client.post(OPEN, {"code": code}, **widget_headers(workspace)).status_code == 410


def test_another_workspaces_widget_cannot_open_the_link(client, other_workspace, code):
    response = client.post(OPEN, {"code": code}, **widget_headers(other_workspace))
    assert response.status_code == 410


def test_the_hosted_page_is_the_chat_of_that_workspace_with_the_link(client, workspace, code):
    page = client.get(reverse("widget:resume", args=[code]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-token="{workspace.public_token}"' in html and f'data-resume="{code}"' in html
    assert 'data-parent-origin=""' in html
    assert page["Referrer-Policy"] == "no-referrer" and page["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_a_forged_hosted_link_is_not_found(client, workspace, code):
    assert client.get(reverse("widget:resume", args=[code[:-3] + "abc"])).status_code == 404


def test_the_hosted_page_of_a_disabled_widget_is_not_found(client, workspace, code):
    workspace.widget_enabled = False
    workspace.save()
    assert client.get(reverse("widget:resume", args=[code])).status_code == 404


def test_the_widget_reports_what_was_seen_and_only_its_own(client, workspace, visitor, conversation, agent):
    _v, raw = visitor
    reply = actions.post_agent_reply(conversation, agent, "hello")
    other, _other_raw = identity.start_visitor(workspace)
    foreign = actions.post_customer_message(other, "not yours")
    assert client.post(SEEN, {"id": foreign.pk}, **widget_headers(workspace, raw)).status_code == 404
    assert client.post(SEEN, {"id": "x"}, **widget_headers(workspace, raw)).status_code == 400
    assert client.post(SEEN, {"id": reply.pk}, **widget_headers(workspace)).status_code == 403
    assert client.post(SEEN, {"id": reply.pk}, **widget_headers(workspace, raw)).status_code == 200
    conversation.refresh_from_db()
    foreign.conversation.refresh_from_db()
    assert conversation.customer_seen_id == reply.pk and foreign.conversation.customer_seen_id is None
    # Never backwards.
    client.post(SEEN, {"id": conversation.messages.first().pk}, **widget_headers(workspace, raw))
    conversation.refresh_from_db()
    assert conversation.customer_seen_id == reply.pk
