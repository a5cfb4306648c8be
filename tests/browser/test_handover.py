"""Around a handover, from both sides: the visitor is told once what to expect and the AI stays
quiet; the inbox shows how long they have waited for a person, live; an agent's reply ends
the wait, and "Hand back to AI" clears "Handed over" from the header without a reload."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from helpdesk.ai.tasks import answer
from helpdesk.conversations.models import Message
from helpdesk.workspace.models import Workspace
from tests.ai.conftest import add_faq
from tests.browser.test_chat_flow import sign_in
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
MINUTE_MS = 60_000


def test_after_a_handover_the_visitor_knows_what_to_expect_and_the_inbox_shows_the_wait(
    browser, stack, host_site, screenshot
):
    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme")
    add_faq(workspace, "How do I reset my password?", "Click 'Forgot password' on the sign-in page.")
    agent = make_member(workspace, "agent@acme.test")
    inbox = sign_in(browser, stack, agent, clock=True)  # the agent is online

    site = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    site.goto(host_site.publish(workspace, stack.base_url))
    site.click("#helpdesk-widget button")
    widget = site.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator("#availability")).to_contain_text("We're online")
    site.evaluate("window.__noReload = 1")

    # The visitor asks for a person: told once, in the widget, that someone will reply here.
    widget.locator("#composer-input").fill("I need a human, please")
    widget.locator("#composer-input").press("Enter")
    told = widget.locator(".msg-system")
    expect(told).to_have_count(1, timeout=15000)
    expect(told).to_contain_text(
        "I'm passing your question to our team. Someone from the team will reply here shortly."
    )

    # The FAQ's exact question next: no AI answer, and no second message.
    widget.locator("#composer-input").fill("How do I reset my password?")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer:not(.pending)")).to_have_count(2)
    question = Message.objects.get(workspace=workspace, body="How do I reset my password?")
    # Saved (and shown) means committed, together with any answer task it was to get: none.
    asked = [r.args_kwargs["args"] for r in DBTaskResult.objects.filter(task_path=answer.module_path)]
    first = Message.objects.get(workspace=workspace, body="I need a human, please")
    assert [first.pk] in asked and [question.pk] not in asked
    expect(widget.locator(".msg-ai")).to_have_count(0)
    expect(told).to_have_count(1)
    screenshot(site, "widget-after-handover")

    # The inbox: waiting for a person, and for how long, kept current.
    row = inbox.locator(".conversation-row").first
    expect(row.locator(".waiting")).to_have_text("Waiting for a person · <1 min")
    inbox.clock.fast_forward(12 * MINUTE_MS)
    expect(row.locator(".waiting")).to_have_text("Waiting for a person · 12 min")
    row.click()
    header = inbox.locator("[id^=meta-]")
    expect(header).to_contain_text("Handed over: The visitor asked for a person")
    expect(header.locator(".waiting")).to_have_text("Waiting for a person · 12 min")
    screenshot(inbox, "inbox-waiting-for-a-person")

    # An agent's reply ends the wait, in the header and the row, without a reload.
    composer = inbox.locator(".composer textarea")
    composer.fill("Hi, I'm here. What do you need?")
    composer.press("Enter")
    expect(widget.locator(".msg-agent .bubble").last).to_have_text("Hi, I'm here. What do you need?")
    expect(header.locator(".waiting")).to_have_count(0)
    expect(row.locator(".waiting")).to_have_count(0)
    expect(header).to_contain_text("Handed over")

    # Hand back to AI: "Handed over" leaves the header (and the row) at once.
    inbox.locator("button:has-text('Hand back to AI')").click()
    expect(inbox.locator("button:has-text('Hand back to AI')")).to_have_count(0)
    expect(header).not_to_contain_text("Handed over")
    expect(row).not_to_contain_text("Handed over")
    assert inbox.evaluate("window.__noReload") == 1
    assert site.evaluate("window.__noReload") == 1


def test_another_agents_inbox_sees_the_hand_back_live(browser, stack, host_site):
    """The header of an agent who did not click is updated by the push."""
    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme")
    first, second = make_member(workspace, "agent@acme.test"), make_member(workspace, "other@acme.test")
    site = browser.new_context().new_page()
    site.goto(host_site.publish(workspace, stack.base_url))
    site.click("#helpdesk-widget button")
    widget = site.frame_locator("#helpdesk-widget iframe")
    widget.locator("#composer-input").fill("Can I talk to a real person?")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-system")).to_have_count(1, timeout=15000)

    watching = sign_in(browser, stack, second)
    watching.locator(".conversation-row").first.click()
    header = watching.locator("[id^=meta-]")
    expect(header).to_contain_text("Handed over")
    clicking = sign_in(browser, stack, first)
    clicking.locator(".conversation-row").first.click()
    clicking.locator("button:has-text('Hand back to AI')").click()
    expect(header).not_to_contain_text("Handed over")
    expect(watching.locator("button:has-text('Hand back to AI')")).to_have_count(0)
    assert watching.evaluate("window.__noReload") == 1
