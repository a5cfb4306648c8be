"""The widget on a phone fills the screen, with a 16px composer and thumb-sized targets, and
holds the page behind it still; at desktop size it floats in the corner as before."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from tests.browser.pages import DESKTOP, PHONE, conversation_with_every_kind, quiet_workspace, remember_visitor
from tests.conftest import make_member

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

# Every button and link the visitor can see in the widget, with its size in CSS pixels.
TARGETS = """() => [...document.querySelectorAll("button, a[href], [role=button]")]
  .filter(el => el.offsetParent !== null)
  .map(el => { const r = el.getBoundingClientRect();
               return {name: el.getAttribute("aria-label") || el.textContent.trim(), width: r.width, height: r.height}; })"""


@pytest.fixture
def workspace():
    return quiet_workspace()


def long_host_page(host_site, workspace, stack, path: str) -> str:
    """The demo host page, long enough to scroll."""
    url = host_site.publish(workspace, stack.base_url, path)
    host_site.pages[path] = host_site.pages[path].replace("</body>", '<div style="height:3000px"></div></body>')
    return url


def open_with_a_thread(browser, stack, host_site, workspace, options, path):
    """The host page with the widget open on a visitor's thread that holds an AI answer (its
    sources and rating buttons) and an agent's reply."""
    owner = make_member(workspace, "owner@acme.test", Membership.Role.OWNER)
    _conversation, raw = conversation_with_every_kind(workspace, owner)
    context = browser.new_context(**options)
    remember_visitor(context, workspace, raw)
    page = context.new_page()
    page.goto(long_host_page(host_site, workspace, stack, path))
    page.evaluate("window.scrollTo(0, 400)")
    page.locator("#helpdesk-widget > button").click()
    widget = page.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator(".msg-ai .feedback button")).to_have_count(3)
    return page, widget


def test_on_a_phone_the_open_widget_fills_the_screen_and_the_page_behind_holds_still(
    browser, stack, host_site, workspace, screenshot
):
    page, widget = open_with_a_thread(browser, stack, host_site, workspace, PHONE, "/phone")
    assert page.evaluate("window.innerWidth") == 390  # the demo site's viewport tag: no 980px page

    assert page.locator("#helpdesk-widget iframe").bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    expect(page.locator("#helpdesk-widget > button")).to_be_hidden()
    assert page.evaluate("getComputedStyle(document.documentElement).overflow") == "hidden"

    assert widget.locator("#composer-input").evaluate("el => getComputedStyle(el).fontSize") == "16px"
    targets = widget.locator("body").evaluate(TARGETS)
    names = {t["name"] for t in targets}
    assert {"Close the chat", "Send", "Helpful", "Not helpful", "That solved it", "Shipping and delivery"} <= names
    small = [t for t in targets if t["width"] < 44 or t["height"] < 44]
    assert small == []
    screenshot(page, "widget-phone")

    widget.locator("#close-widget").tap()
    expect(page.locator("#helpdesk-widget iframe")).to_be_hidden()
    expect(page.locator("#helpdesk-widget > button")).to_be_visible()
    expect(page.locator("#helpdesk-widget > button")).to_be_focused()
    assert page.evaluate("document.documentElement.style.overflow") == ""
    assert page.evaluate("getComputedStyle(document.documentElement).overflow") == "visible"
    assert page.evaluate("window.scrollY") == 400
    page.context.close()


def test_at_desktop_size_the_widget_floats_in_the_corner_as_before(browser, stack, host_site, workspace):
    page, widget = open_with_a_thread(browser, stack, host_site, workspace, DESKTOP, "/desktop")
    # 380 x 600, 20px from the right edge, 88px above the bottom: where it always was
    assert page.locator("#helpdesk-widget iframe").bounding_box() == {"x": 880, "y": 112, "width": 380, "height": 600}
    expect(page.locator("#helpdesk-widget > button")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.documentElement).overflow") == "visible"
    assert widget.locator("#composer-input").evaluate("el => getComputedStyle(el).fontSize") == "14px"
    send = widget.locator("button.send").bounding_box()
    assert (round(send["width"], 1), round(send["height"], 1)) == (36.8, 36.8)
    page.locator("#helpdesk-widget > button").click()  # closes it
    expect(page.locator("#helpdesk-widget iframe")).to_be_hidden()
    page.context.close()


IN_CHAT = "() => document.activeElement === document.querySelector('#helpdesk-widget iframe')"


def test_on_a_phone_tab_goes_round_the_chat_and_never_to_the_hidden_page(browser, stack, host_site, workspace):
    page, widget = open_with_a_thread(browser, stack, host_site, workspace, PHONE, "/phone-tab")
    expect(widget.locator("#composer-input")).to_be_focused()
    controls = widget.locator("body").evaluate(
        "() => document.querySelectorAll('a[href], button, input, textarea, select, [tabindex]').length"
    )
    seen = set()
    for _ in range(controls + 3):  # once round and on again
        page.keyboard.press("Tab")
        assert page.evaluate(IN_CHAT), "the focus left the chat for the page behind it"
        seen.add(widget.locator("body").evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
    assert len(seen) > 3  # it went round the chat's controls, not stuck on one
    for _ in range(controls + 3):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(IN_CHAT), "the focus left the chat backwards"
    page.keyboard.press("Escape")  # and the way out is still there
    expect(page.locator("#helpdesk-widget > button")).to_be_focused()
    page.context.close()


def test_at_desktop_size_tab_leaves_the_chat_for_the_page_around_it(browser, stack, host_site, workspace):
    page, widget = open_with_a_thread(browser, stack, host_site, workspace, DESKTOP, "/desktop-tab")
    expect(widget.locator("#composer-input")).to_be_focused()
    for _ in range(60):
        page.keyboard.press("Tab")
        if not page.evaluate(IN_CHAT):
            break
    assert not page.evaluate(IN_CHAT)  # a corner box, not a dialog: the page is still there
    page.context.close()
