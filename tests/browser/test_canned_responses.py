"""An agent types /shortcut in the reply box and picks a canned response to insert."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from helpdesk.canned.models import CannedResponse
from helpdesk.conversations import identity
from helpdesk.conversations.models import Conversation
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"
REFUND = "Refunds reach your card within 5 days."
SHIPPING = "We ship within 2 working days."


@pytest.fixture
def workspace():
    from helpdesk.ai.models import AISettings

    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme", away_message="")
    AISettings.objects.create(workspace=workspace, enabled=False)
    for shortcut, text in (("refund", REFUND), ("refund-late", "Sorry your refund is late!"), ("shipping", SHIPPING)):
        CannedResponse.objects.create(workspace=workspace, shortcut=shortcut, text=text)
    CannedResponse.objects.create(
        workspace=Workspace.objects.create(name="Globex"), shortcut="refund-globex", text="Globex only"
    )
    return workspace


def open_conversation(browser, stack, workspace):
    agent = make_member(workspace, "agent@acme.test")
    _visitor, raw = identity.start_visitor(workspace, page_url="https://acme.test/orders")
    message = urllib.request.Request(
        f"{stack.base_url}/chat/api/messages",
        data=urlencode({"body": "Where is my refund?"}).encode(),
        headers={"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw},
    )
    urllib.request.urlopen(message, timeout=30).close()  # as the widget sends it
    conversation = Conversation.objects.get(workspace=workspace)
    page = browser.new_context(viewport={"width": 1400, "height": 850}).new_page()
    page.goto(f"{stack.base_url}/inbox/c/{conversation.pk}/")
    page.fill("input[name=username]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator("[data-thread]")).to_contain_text("Where is my refund?")
    page.wait_for_function("document.querySelector('#connection').classList.contains('hidden')")
    return page


def test_slash_and_a_shortcut_offers_the_workspaces_responses_and_inserts_the_chosen_one(
    browser, stack, workspace, screenshot
):
    page = open_conversation(browser, stack, workspace)
    box = page.locator(".composer textarea")
    menu = page.locator("#canned-menu")

    # 1. "/ref" at the start: this workspace's two refund responses, not Globex's.
    box.press_sequentially("/ref", delay=30)
    expect(menu).to_be_visible()
    expect(menu.locator("li")).to_have_text([f"/refund{REFUND}", "/refund-lateSorry your refund is late!"])
    screenshot(page, "inbox-canned-menu")

    # 2. Enter takes the first; the menu closes and the reply is ready to send with Enter.
    box.press("Enter")
    expect(box).to_have_value(REFUND)
    expect(menu).to_be_hidden()
    box.press("Enter")
    expect(page.locator("[data-thread] .message").last).to_contain_text(REFUND)
    expect(box).to_have_value("")

    # 3. After a space, mid-sentence, chosen by a click.
    box.press_sequentially("Hello! /sh", delay=30)
    page.locator("#canned-menu li", has_text="/shipping").click()
    expect(box).to_have_value(f"Hello! {SHIPPING}")
    expect(box).to_be_focused()

    # 4. Arrow down and Tab take the second match.
    box.fill("")
    box.press_sequentially("/refund", delay=30)
    expect(menu.locator("li")).to_have_count(2)
    box.press("ArrowDown")
    box.press("Tab")
    expect(box).to_have_value("Sorry your refund is late!")

    # 5. A slash inside a word, or a shortcut nobody saved, opens nothing; Escape closes.
    box.fill("")
    box.press_sequentially("and/or /nothing", delay=30)
    expect(menu).to_be_hidden()
    box.fill("")
    box.press_sequentially("/s", delay=30)
    expect(menu).to_be_visible()
    box.press("Escape")
    expect(menu).to_be_hidden()
    expect(box).to_have_value("/s")
