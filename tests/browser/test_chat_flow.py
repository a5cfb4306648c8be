"""A visitor on a customer's site and an agent in the inbox, each in their own browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.workspace.models import Workspace
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def workspace():
    """A workspace whose people answer themselves: these tests are about the live chat."""
    from helpdesk.ai.models import AISettings

    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme", widget_greeting="Hello from Acme!")
    AISettings.objects.create(workspace=workspace, enabled=False)
    return workspace


@pytest.fixture
def agent(workspace):
    return make_member(workspace, "agent@acme.test")


def sign_in(browser, stack, agent, *, clock=None, **context_options):
    """The inbox, signed in through its form; with `clock` (True, or a datetime to start at),
    the page's timers run on Playwright's clock (time flows until the test moves it)."""
    context = browser.new_context(viewport={"width": 1400, "height": 850}, **context_options)
    if clock is True:
        context.clock.install()
    elif clock is not None:
        context.clock.install(time=clock)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/")
    page.fill("input[name=username]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator("#conversation-list")).to_be_visible()
    page.wait_for_function("document.querySelector('#connection').classList.contains('hidden')")
    page.evaluate("window.__noReload = 1")
    return page


# Every frame counts the messages it posts (window.__posts): read synchronously, unlike the
# network events, which reach the test a little later.
COUNT_POSTS = """
const realFetch = window.fetch;
window.__posts = 0;
window.fetch = function (url, options) {
  if (String(url).includes("/chat/api/messages") && options && options.method === "POST") window.__posts += 1;
  return realFetch.apply(this, arguments);
};
"""


def open_widget(browser, url, *, clock: bool = False):
    """The host page with the widget open; with `clock`, the page's timers run on Playwright's
    clock (time flows as usual until the test moves it: `page.clock.fast_forward`)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    if clock:
        context.clock.install()
        context.add_init_script(COUNT_POSTS)
    page = context.new_page()
    page.goto(url)
    page.click("#helpdesk-widget button")
    widget = page.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator("#composer-input")).to_be_visible()
    page.evaluate("window.__noReload = 1")
    return page, widget


def test_a_visitor_and_an_agent_talk_live(browser, stack, host_site, workspace, agent, screenshot):
    inbox = sign_in(browser, stack, agent)
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    expect(widget.locator(".greeting")).to_have_text("Hello from Acme!")

    # 1. The visitor sends a message; it shows at once in the widget.
    widget.locator("#composer-input").fill("Hi! Do you ship to Norway?")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer .bubble").last).to_have_text("Hi! Do you ship to Norway?")

    # 2. The agent sees the conversation appear, and opens it, without a reload.
    row = inbox.locator(".conversation-row").first
    expect(row).to_contain_text("Hi! Do you ship to Norway?")
    row.click()
    thread = inbox.locator("[data-thread]")
    expect(thread).to_contain_text("Hi! Do you ship to Norway?")
    widget.locator("#composer-input").fill("And to Iceland?")
    widget.locator("#composer-input").press("Enter")
    expect(thread).to_contain_text("And to Iceland?")

    # 4. Typing indicators, both ways.
    widget.locator("#composer-input").press_sequentially("Also", delay=30)
    expect(inbox.locator("[id^=typing-]")).to_contain_text("is typing")
    composer = inbox.locator(".composer textarea")
    composer.press_sequentially("Yes", delay=30)
    expect(widget.locator("#typing")).to_contain_text(f"{agent.display_name} is typing")

    # 3. The agent replies (Enter sends); the visitor sees it without a reload.
    composer.fill("Yes, we ship to both. Delivery takes 3-5 days.")
    composer.press("Enter")
    expect(widget.locator(".msg-agent .bubble").last).to_have_text("Yes, we ship to both. Delivery takes 3-5 days.")
    expect(thread).to_contain_text("Yes, we ship to both.")
    assert inbox.evaluate("window.__noReload") == 1
    assert site.evaluate("window.__noReload") == 1
    screenshot(site, "widget-conversation")
    screenshot(inbox, "inbox-conversation")

    # 5. Reloading the host page restores the visitor's history.
    site.reload()
    site.click("#helpdesk-widget button")
    widget = site.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator("#messages")).to_contain_text("Hi! Do you ship to Norway?")
    expect(widget.locator("#messages")).to_contain_text("Yes, we ship to both.")
    assert widget.locator("[data-seq]").count() == 3
    screenshot(site, "widget-after-reload")


def test_private_notes_stay_in_the_inbox(browser, stack, host_site, workspace, agent):
    inbox = sign_in(browser, stack, agent)
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    widget.locator("#composer-input").fill("My invoice is wrong")
    widget.locator("#composer-input").press("Enter")
    inbox.locator(".conversation-row").first.click()
    inbox.locator(".composer label:has-text('Private note')").click()
    inbox.locator(".composer textarea").fill("Check with finance first")
    inbox.locator(".composer textarea").press("Enter")
    expect(inbox.locator("[data-thread] .note")).to_have_text("Check with finance first")
    inbox.locator(".composer label:has-text('Reply')").click()  # the note mode sticks until changed
    inbox.locator(".composer textarea").fill("Sorry about that, fixing it now")
    inbox.locator(".composer textarea").press("Enter")
    expect(widget.locator("#messages")).to_contain_text("Sorry about that, fixing it now")
    assert "finance" not in widget.locator("#messages").inner_text()


def test_the_widget_polls_when_the_websocket_cannot_connect(browser, stack, host_site, workspace, agent):
    inbox = sign_in(browser, stack, agent)
    context = browser.new_context()
    site = context.new_page()
    # A proxy that refuses websockets: the widget must still get replies.
    site.route_web_socket(re.compile(r".*/ws/chat/.*"), lambda ws: ws.close(code=1006))
    site.goto(host_site.publish(workspace, stack.base_url))
    site.click("#helpdesk-widget button")
    widget = site.frame_locator("#helpdesk-widget iframe")
    widget.locator("#composer-input").fill("Is the socket blocked?")
    widget.locator("#composer-input").press("Enter")
    inbox.locator(".conversation-row").first.click()
    inbox.locator(".composer textarea").fill("Polling still brings you this")
    inbox.locator(".composer textarea").press("Enter")
    expect(widget.locator("#messages")).to_contain_text("Polling still brings you this", timeout=15000)


def test_the_unread_badge_counts_replies_while_the_widget_is_closed(browser, stack, host_site, workspace, agent):
    inbox = sign_in(browser, stack, agent)
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    widget.locator("#composer-input").fill("Ping")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer")).to_have_count(1)
    site.click("#helpdesk-widget button")  # close it
    inbox.locator(".conversation-row").first.click()
    inbox.locator(".composer textarea").fill("Pong")
    inbox.locator(".composer textarea").press("Enter")
    badge = site.locator("#helpdesk-widget [data-unread]")
    expect(badge).to_have_attribute("data-unread", "1")
    site.click("#helpdesk-widget button")  # open again: read
    expect(badge).to_have_attribute("data-unread", "0")


def test_with_its_socket_open_the_widget_sends_over_it_and_the_push_confirms(
    browser, stack, host_site, workspace, agent
):
    inbox = sign_in(browser, stack, agent)
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url), clock=True)
    expect(widget.locator("body[data-live]")).to_have_count(1)  # the socket is open
    widget.locator("#composer-input").fill("Over the socket, please")
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer:not(.pending) .bubble").last).to_have_text("Over the socket, please")
    expect(inbox.locator(".conversation-row").first).to_contain_text("Over the socket, please")
    # Past the HTTP fallback's delay (3 s): its timer fires now, if it is still set, and posts
    # at once. It was not needed.
    site.clock.fast_forward(3500)
    assert widget.locator("body").evaluate("() => window.__posts") == 0
    assert widget.locator(".msg-customer").count() == 1
