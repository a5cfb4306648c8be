"""What a newcomer sees in the first hour, in real browsers: messages as Markdown and links,
rating an answer, times in the reader's zone and format, readable names with avatars, each
view's count, and the activity log's sentences."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from helpdesk.conversations.models import Contact, Conversation, Message
from helpdesk.workspace import activity
from helpdesk.workspace.models import Workspace
from tests.ai.conftest import add_article
from tests.browser.test_chat_flow import open_widget, sign_in
from tests.conftest import make_member
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
REL = "noopener noreferrer nofollow"


@pytest.fixture
def workspace():
    from helpdesk.ai.models import AISettings

    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme")
    AISettings.objects.create(workspace=workspace, enabled=False)
    return workspace


def send(widget, text):
    widget.locator("#composer-input").fill(text)
    widget.locator("#composer-input").press("Enter")


def test_markdown_from_agents_renders_and_a_customers_links_work(browser, stack, host_site, workspace, screenshot):
    agent = make_member(workspace, "agent@acme.test")
    inbox = sign_in(browser, stack, agent)
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    send(widget, "My order https://acme.test/orders/42 is late <b>again</b>")

    inbox.locator(".conversation-row").first.click()
    customer = inbox.locator("[data-thread] .message[data-kind=customer]").last
    link = customer.locator("a")
    expect(link).to_have_attribute("href", "https://acme.test/orders/42")
    assert (link.get_attribute("target"), link.get_attribute("rel")) == ("_blank", REL)
    expect(customer).to_contain_text("is late <b>again</b>")  # markup, as typed

    composer = inbox.locator(".composer textarea")
    composer.fill(
        "**Sorry!** It ships today:\n- tracking by email\n- delivery tomorrow\n\n"
        '[Track it](https://acme.test/track) <img src=x onerror="window.__xss = 1">'
    )
    composer.press("Enter")
    for where, bubble in (
        ("widget", widget.locator(".msg-agent .bubble").last),
        ("inbox", inbox.locator("[data-thread] .message[data-kind=agent] .md").last),
    ):
        expect(bubble.locator("strong")).to_have_text("Sorry!")
        expect(bubble.locator("li")).to_have_count(2)
        track = bubble.locator("a", has_text="Track it")
        expect(track).to_have_attribute("href", "https://acme.test/track")
        assert (track.get_attribute("target"), track.get_attribute("rel")) == ("_blank", REL), where
        expect(bubble.locator("img")).to_have_count(0)
        expect(bubble).to_contain_text("<img src=x")  # shown, never run
    assert widget.locator("body").evaluate("() => window.__xss") is None
    assert inbox.evaluate("() => window.__xss") is None
    expect(inbox.locator(".conversation-row").first).to_contain_text("Sorry! It ships today: tracking by email")
    screenshot(inbox, "inbox-markdown")


def test_an_ai_answer_in_markdown_can_be_rated_and_still_marked_solved(browser, stack, host_site, llm):
    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme", away_message="")
    add_article(workspace, "Shipping", "# Shipping\n\nDelivery to Norway takes five working days.")
    llm.mode, llm.first_token_delay, llm.token_delay = "ok", 0.0, 0.0
    llm.reply = (
        "**Five working days** to Norway:\n- tracked\n- insured\n\n[Shipping rates](https://acme.test/rates) [1]"
    )
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    send(widget, "How long does delivery to Norway take?")

    answer = widget.locator(".msg-ai").last
    expect(answer.locator(".bubble strong")).to_have_text("Five working days", timeout=15000)
    expect(answer.locator(".bubble li")).to_have_count(2)
    expect(answer.locator(".bubble a", has_text="Shipping rates")).to_have_attribute("target", "_blank")

    answer.locator("[data-rate=up]").click()
    expect(answer.locator(".feedback-note")).to_have_text("Thanks for the feedback")
    expect(answer.locator("[data-rate=up]")).to_have_attribute("aria-pressed", "true")
    solved = answer.locator("[data-rate=solved]")
    expect(solved).to_be_visible()  # a thumbs up no longer takes it away
    solved.click()
    expect(answer.locator(".feedback")).to_have_text("Glad it helped!")
    conversation = Conversation.objects.get(workspace=workspace)
    wait_for(lambda: Conversation.objects.get(pk=conversation.pk).status == "resolved", 5, message="not resolved")
    assert Message.objects.get(conversation=conversation, author_kind="ai").feedback.rating == "up"


def test_every_time_follows_the_readers_zone_and_locale(browser, stack, host_site, workspace):
    owner = make_member(workspace, "owner@acme.test", role="owner")
    # The visitor in New York with 12-hour clocks; the agent in Kolkata with 24-hour ones.
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    widget_page = widget.locator("body")
    send(widget, "What time is it there?")
    message = wait_for(lambda: Message.objects.filter(workspace=workspace).first(), 5, message="no message")
    # The message is dated one minute past midnight in Kolkata, where en-GB pads the hour
    # ("00:01", not "0:01"), and the inbox's clock starts a second later: what the page shows
    # does not depend on when the test runs.
    kolkata_zone = ZoneInfo("Asia/Kolkata")
    now = message.created_at.astimezone(kolkata_zone)
    sent = now.replace(hour=0, minute=1, second=30, microsecond=0)
    sent = sent if sent <= now else sent - timedelta(days=1)
    Message.objects.filter(pk=message.pk).update(created_at=sent)
    Conversation.objects.filter(pk=message.conversation_id).update(
        created_at=sent, last_message_at=sent, last_customer_message_at=sent
    )
    inbox = sign_in(
        browser, stack, owner, locale="en-GB", timezone_id="Asia/Kolkata", clock=sent + timedelta(seconds=1)
    )

    row_time = inbox.locator(".conversation-row time").first
    expect(row_time).to_have_text("now")
    inbox.locator(".conversation-row").first.click()
    thread_time = inbox.locator("[data-thread] .message time").first
    expect(thread_time).to_have_text("00:01")  # 24-hour, padded, Kolkata time
    first_seen = inbox.locator("aside dd time")
    expect(first_seen).to_contain_text(re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}"))  # en-GB
    # Relative times move on by themselves.
    inbox.clock.fast_forward("06:00")
    expect(row_time).to_have_text(re.compile(r"^(6|7) mins?$"))  # en-GB says "6 mins"

    # The widget, in the visitor's browser (Playwright's default: en-US, the machine's zone).
    expect(widget.locator(".msg-customer time").last).to_have_text(
        re.compile(r"^([A-Z][a-z]{2} \d{1,2}, )?\d{1,2}:\d{2}\s?[AP]M$")
    )
    assert widget_page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().locale") == "en-US"

    # A settings page: the activity log's times too.
    activity.record(workspace, owner, "widget.updated", changed={"widget_title": "Hi"})
    inbox.goto(f"{stack.base_url}/settings/activity/")
    logged = inbox.locator("tbody time").first
    expect(logged).to_have_attribute("data-local", "")
    expect(inbox.locator("tbody")).to_contain_text("Owner changed the widget settings")
    assert "UTC" not in logged.get_attribute("title")


def test_visitors_have_names_and_avatars_and_each_view_shows_its_count(
    browser, stack, host_site, workspace, screenshot
):
    agent = make_member(workspace, "agent@acme.test")
    inbox = sign_in(browser, stack, agent)
    expect(inbox.locator('[data-count="new"]')).to_have_text("0")
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    send(widget, "Hello there")

    contact = wait_for(lambda: Contact.objects.filter(workspace=workspace).first(), 5, message="no contact")
    row = inbox.locator(".conversation-row").first
    expect(row).to_contain_text(contact.display_name)
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", contact.display_name)
    expect(row.locator(".avatar")).to_have_text(contact.initials)
    expect(inbox.locator('[data-count="new"]')).to_have_text("1")  # live, without a reload
    expect(inbox.locator('[data-count="active"]')).to_have_text("1")
    expect(inbox.locator('#assigned-filter option[value="unassigned"]')).to_have_text("Unassigned (1)")

    row.click()
    expect(inbox.locator("header .avatar")).to_have_text(contact.initials)
    expect(inbox.locator("[data-thread] .message[data-kind=customer] .avatar")).to_have_text(contact.initials)
    inbox.locator("select[name=assignee]").select_option(str(agent.pk))
    expect(inbox.locator('#assigned-filter option[value="mine"]')).to_have_text("Mine (1)")
    expect(inbox.locator('#assigned-filter option[value="unassigned"]')).to_have_text("Unassigned (0)")

    # Another view: "Mine", and its tabs count with it.
    inbox.locator("#assigned-filter").select_option("mine")
    expect(inbox.locator('[data-count="resolved"]')).to_have_text("0")
    inbox.locator("select[name=status]").select_option("resolved")
    expect(inbox.locator('[data-count="resolved"]')).to_have_text("1")
    expect(inbox.locator('[data-count="active"]')).to_have_text("0")
    inbox.locator('#status-nav a:has-text("Resolved")').click()
    expect(inbox.locator('#status-nav a[aria-current="page"]')).to_contain_text("Resolved")
    expect(inbox.locator(".conversation-row")).to_have_count(1)
    expect(inbox.locator("#assigned-filter")).to_have_value("mine")  # the tab kept the filter
    screenshot(inbox, "inbox-names-and-counts")
