"""Toasts (helpdesk/lib/toasts.py): every message reaches the `#toasts` region once, whether the
answer is a whole page or an htmx swap, and waits for the next page when htmx navigates."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from helpdesk.canned.models import CannedResponse
from helpdesk.knowledge.models import Article

HTMX = {"HTTP_HX_REQUEST": "true"}
CANNED = "/settings/team/canned/"


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def toasts(html: str) -> list[str]:
    """The texts of the toasts in an answer, in order."""
    return [
        re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<div data-toast[^>]*>\s*<p[^>]*>(.*?)</p>", html, re.S)
    ]


def region(html: str) -> str:
    match = re.search(r'<div id="toasts" role="status" aria-live="polite"[^>]*>(.*?)</div>\s*<dialog', html, re.S)
    assert match, "the page has no toast region"
    return match.group(1)


def test_an_htmx_save_gets_its_message_as_an_out_of_band_toast_shown_once(owner_client):
    response = owner_client.post(CANNED, {"shortcut": "refund", "text": "Within 5 days."}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert '<div hx-swap-oob="beforeend:#toasts">' in html
    assert toasts(html) == ["Saved /refund. Agents can type it in the reply box now."]
    # Shown: the next page does not show it again.
    assert toasts(region(owner_client.get(CANNED).content.decode())) == []


def test_a_refused_htmx_form_keeps_its_errors_in_the_form_and_gets_no_toast(owner_client):
    response = owner_client.post(CANNED, {"shortcut": "", "text": ""}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422 and 'aria-invalid="true"' in html
    assert "hx-swap-oob" not in html and not CannedResponse.objects.exists()


def test_a_message_before_an_htmx_redirect_waits_for_the_page_it_opens(owner_client):
    response = owner_client.post(
        "/settings/knowledge/article/new", {"title": "Returns", "body": "Within 30 days.", "enabled": "on"}, **HTMX
    )
    assert response["HX-Redirect"] == "/settings/knowledge/?type=article"
    assert "hx-swap-oob" not in response.content.decode()
    # An htmx read in between (a row polling its status) leaves it alone.
    article = Article.objects.get()
    poll = owner_client.get(f"/settings/knowledge/article/{article.pk}/row", **HTMX).content.decode()
    assert "data-toast" not in poll
    page = owner_client.get(response["HX-Redirect"]).content.decode()
    assert toasts(region(page)) == ["“Returns” is saved. It is being indexed."]


def test_a_page_after_a_post_without_javascript_shows_the_toast_in_its_region(owner_client, workspace):
    canned = CannedResponse.objects.create(workspace=workspace, shortcut="refund", text="Within 5 days.")
    response = owner_client.post(f"{CANNED}{canned.pk}/", {"shortcut": "refund", "text": "Within 3 days."})
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert toasts(region(page)) == ["Saved /refund."]


def test_an_answer_htmx_does_not_swap_leaves_the_message_for_the_next_page(owner_client):
    """A refused action (400, which htmx does not swap) must not use up a message waiting for
    the page that a redirect opens: it would be lost."""
    redirect = owner_client.post(
        "/settings/knowledge/article/new", {"title": "Returns", "body": "Within 30 days.", "enabled": "on"}, **HTMX
    )
    refused = owner_client.post("/settings/knowledge/bulk", {"action": "wizard"}, **HTMX)
    assert refused.status_code == 400 and "data-toast" not in refused.content.decode()
    page = owner_client.get(redirect["HX-Redirect"]).content.decode()
    assert toasts(region(page)) == ["“Returns” is saved. It is being indexed."]


def test_markup_in_a_message_is_shown_as_text(owner_client):
    response = owner_client.post(
        "/settings/knowledge/faq/new", {"question": "<script>alert(1)</script>?", "answer": "No.", "order": "0"}, **HTMX
    )
    page = owner_client.get(response["HX-Redirect"]).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert toasts(region(page)) == ["“&lt;script&gt;alert(1)&lt;/script&gt;?” is saved. It is being indexed."]


def test_the_inbox_never_shows_a_conversations_messages_as_toasts(agent_client, conversation):
    page = agent_client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert "Hello, where is my order?" in page
    assert toasts(region(page)) == []
