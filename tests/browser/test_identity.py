"""Logging out in the host app: `Helpdesk("reset")` forgets the browser's visitor, and the
next person on that computer starts with an empty chat, while the first keeps their history."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.conversations import identity
from helpdesk.conversations.models import Contact, Visitor
from helpdesk.workspace.models import Workspace
from tests.browser.test_chat_flow import open_widget

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workspace():
    from helpdesk.ai.models import AISettings

    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme")
    AISettings.objects.create(workspace=workspace, enabled=False)
    return workspace


def identify(site, workspace, external_id: str, name: str) -> None:
    """Identify through the host page's API and wait for the widget to say it is done."""
    user_hash = identity.identity_hash(workspace, external_id)
    done = site.evaluate("window.__identified || 0")
    site.evaluate(f"Helpdesk('identify', {{externalId: '{external_id}', userHash: '{user_hash}', name: '{name}'}})")
    site.wait_for_function(f"(window.__identified || 0) > {done}")


def test_reset_on_logout_gives_the_next_person_an_empty_chat(browser, stack, host_site, workspace):
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    site.evaluate(
        "window.addEventListener('message', e => {"
        " if (e.data && e.data.hd === 'identified' && e.data.ok) window.__identified = (window.__identified || 0) + 1; })"
    )
    identify(site, workspace, "alice", "Alice")
    widget.locator("#composer-input").fill("Alice's question about her order")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer:not(.pending) .bubble").last).to_have_text("Alice's question about her order")
    old_token = widget.locator("body").evaluate(
        "() => localStorage.getItem('hd.visitor.' + document.body.dataset.token)"
    )

    site.evaluate("Helpdesk('reset')")
    expect(widget.locator(".msg-customer")).to_have_count(0)
    new_token = widget.locator("body").evaluate(
        "() => new Promise(r => { const k = 'hd.visitor.' + document.body.dataset.token;"
        " const t = setInterval(() => { const v = localStorage.getItem(k); if (v) { clearInterval(t); r(v); } }, 20); })"
    )
    assert new_token and new_token != old_token
    identify(site, workspace, "bob", "Bob")
    widget.locator("#composer-input").fill("Bob here")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer:not(.pending) .bubble").last).to_have_text("Bob here")
    expect(widget.locator("#messages")).not_to_contain_text("Alice")

    alice = Contact.objects.get(external_id="alice", verified=True)
    assert list(alice.conversations.values_list("last_message_preview", flat=True)) == [
        "Alice's question about her order"
    ]
    assert not Visitor.objects.filter(contact=alice).exists()  # her old token is revoked
    bob = Contact.objects.get(external_id="bob", verified=True)
    assert list(bob.conversations.values_list("last_message_preview", flat=True)) == ["Bob here"]
