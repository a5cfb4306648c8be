"""The conversation's header at the widths of ordinary laptop screens: the contact's name and
the handover reason are shown whole (never cut to "Vis..."), and every control stays reachable."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from helpdesk.ai.models import AISettings
from helpdesk.conversations import identity
from helpdesk.conversations.models import Contact, Conversation
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"
NAME = "Viswanathan Ramachandran-Subramaniam Venkataraghavan"
REASON = (
    "The visitor asked for a person after the AI could not find the order: a refund for a parcel "
    "that arrived damaged, paid by bank transfer, with the invoice attached"
)

# Is the element's text all there: nothing hidden by overflow, and inside the header?
WHOLE = """el => {
  const header = el.closest('[data-conversation-header]').getBoundingClientRect();
  const box = el.getBoundingClientRect();
  return {
    clipped: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight,
    inside: box.left >= header.left && box.right <= header.right && box.top >= header.top && box.bottom <= header.bottom,
    width: box.width,
  };
}"""
# Is the control on screen, and the topmost element at its centre (nothing covers it)?
REACHABLE = """el => {
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const top = document.elementFromPoint(x, y);
  return box.width > 0 && box.right <= window.innerWidth && box.bottom <= window.innerHeight
    && (top === el || el.contains(top));
}"""


@pytest.fixture
def handed_over(stack):
    workspace = Workspace.objects.create(name="Acme", away_message="")
    AISettings.objects.create(workspace=workspace, enabled=False)
    agent = make_member(workspace, "agent@acme.test")
    _visitor, raw = identity.start_visitor(workspace, page_url="https://acme.test/orders")
    message = urllib.request.Request(
        f"{stack.base_url}/chat/api/messages",
        data=urlencode({"body": "My parcel arrived damaged."}).encode(),
        headers={"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw},
    )
    urllib.request.urlopen(message, timeout=30).close()  # as the widget sends it
    conversation = Conversation.objects.get(workspace=workspace)
    Contact.objects.filter(pk=conversation.contact_id).update(name=NAME)
    Conversation.objects.filter(pk=conversation.pk).update(escalation_reason=REASON, ai_paused=True)
    return agent, conversation


@pytest.mark.parametrize("width", [1280, 1366, 1440])
def test_a_long_name_and_handover_reason_are_whole_and_the_controls_reachable(
    browser, stack, handed_over, width, screenshot
):
    agent, conversation = handed_over
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(f"{stack.base_url}/inbox/c/{conversation.pk}/")
    page.fill("input[name=username]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    header = page.locator("[data-conversation-header]")
    expect(header.locator("[data-contact-name]")).to_have_text(NAME)
    expect(header.locator("[data-handover-reason]")).to_have_text(f"Handed over: {REASON}")
    screenshot(page, f"inbox-header-{width}")

    for part in ("[data-contact-name]", "[data-handover-reason]", "[data-handover-reason] >> xpath=.."):
        seen = header.locator(part).evaluate(WHOLE)
        assert not seen["clipped"] and seen["inside"], (width, part, seen)
    assert header.locator("[data-contact-name]").evaluate(WHOLE)["width"] > 200  # not squeezed to a letter

    controls = [
        header.get_by_role("button", name="Hand back to AI"),
        header.get_by_label("Status"),
        header.get_by_label("Priority"),
        header.get_by_label("Assignee"),
    ]
    for control in controls:
        assert control.evaluate(REACHABLE), (width, control)
    header.get_by_label("Priority").select_option("3")  # and they work
    wait_for(
        lambda: Conversation.objects.get(pk=conversation.pk).priority == Conversation.Priority.HIGH,
        message="the priority set from the header",
    )
