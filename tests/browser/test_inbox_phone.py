"""The inbox at phone width: the conversation list, then a conversation with a way back to the
list, the menu in a drawer, and never a page wider than the screen. At desktop width the three
columns stay side by side."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.conversations import actions, identity
from tests.browser.pages import DESKTOP, PHONE, conversation_with_every_kind, quiet_workspace, signed_in
from tests.conftest import make_member

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

# Wider than the screen: the page itself, or a scrolling column that scrolls sideways.
SIDEWAYS = """() => [document.documentElement, ...document.querySelectorAll("#conversation-list, [data-thread]")]
  .filter(el => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > innerWidth + 1)
  .map(el => `${el.id || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`)"""


@pytest.fixture
def workspace():
    return quiet_workspace()


@pytest.fixture
def owner(workspace):
    return make_member(workspace, "owner@acme.test", Membership.Role.OWNER)


@pytest.fixture
def conversations(workspace, owner):
    """Two conversations: one with a message of every kind, and a newer one at the top."""
    first, _raw = conversation_with_every_kind(workspace, owner)
    visitor, _raw = identity.start_visitor(workspace, page_url="https://acme.test/")
    second = actions.post_customer_message(
        visitor, "A long question with a long word: https://acme.test/orders/1234567890/invoice/download"
    ).conversation
    return first, second


def test_at_phone_width_the_inbox_shows_the_list_then_a_conversation_and_the_way_back(
    browser, stack, owner, conversations, screenshot
):
    first, _second = conversations
    context = signed_in(browser, stack, owner, **PHONE)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/?status=all")
    rows = page.locator(".conversation-row")
    expect(rows).to_have_count(2)
    expect(page.locator("#inbox-nav")).to_be_hidden()
    expect(page.locator("#pane")).to_be_hidden()
    assert page.evaluate("window.innerWidth") == 390
    assert page.evaluate(SIDEWAYS) == []
    screenshot(page, "inbox-phone-list")

    # The conversation takes the screen; the list is a tap away.
    page.locator(f"#row-{first.pk}").tap()
    expect(page.locator("[data-thread] .message")).to_have_count(4)
    expect(page.locator("#list-column")).to_be_hidden()
    back = page.locator("[data-back]")
    expect(back).to_be_visible()
    expect(back).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/inbox/c/{first.pk}/$"))
    assert page.evaluate(SIDEWAYS) == []
    composer = page.locator(".composer textarea")
    assert composer.evaluate("el => getComputedStyle(el).fontSize") == "16px"  # no zoom on iOS
    screenshot(page, "inbox-phone-conversation")

    back.tap()
    expect(rows).to_have_count(2)
    expect(page.locator("#list-column")).to_be_visible()
    expect(page.locator("#pane")).to_be_hidden()
    expect(page.locator(f"#row-{first.pk}")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/inbox/\?status=all"))  # the list as it was filtered
    assert page.evaluate("window.__noReload = 1") == 1
    page.locator(f"#row-{first.pk}").tap()  # and opens again, without a reload
    expect(page.locator("[data-thread] .message")).to_have_count(4)
    assert page.evaluate("window.__noReload") == 1
    context.close()


def test_at_phone_width_a_conversation_opened_by_its_address_has_the_way_back(browser, stack, owner, conversations):
    first, _second = conversations
    context = signed_in(browser, stack, owner, **PHONE)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/c/{first.pk}/")
    expect(page.locator("[data-thread] .message")).to_have_count(4)
    expect(page.locator("#list-column")).to_be_hidden()
    assert page.evaluate(SIDEWAYS) == []
    page.locator("[data-back]").tap()
    expect(page.locator(".conversation-row")).to_have_count(2)
    expect(page.locator("[data-thread]")).to_have_count(0)
    context.close()


def test_at_phone_width_the_menu_is_a_drawer(browser, stack, owner, conversations):
    context = signed_in(browser, stack, owner, **PHONE)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/")
    nav, toggle = page.locator("#inbox-nav"), page.locator("[data-nav-open]")
    toggle.tap()
    expect(nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate(SIDEWAYS) == []
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # A choice in the menu closes it, and the list follows the choice.
    toggle.tap()
    nav.get_by_role("link", name=re.compile(r"^All\b")).tap()  # the link reads "All" and its count
    expect(nav).to_be_hidden()
    expect(page.locator(".conversation-row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"status=all"))
    context.close()


def test_at_desktop_width_the_menu_the_list_and_the_conversation_stand_side_by_side(
    browser, stack, owner, conversations
):
    first, _second = conversations
    context = signed_in(browser, stack, owner, **DESKTOP)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/c/{first.pk}/")
    expect(page.locator("[data-thread] .message")).to_have_count(4)
    nav, column, pane = (page.locator(s).bounding_box() for s in ("#inbox-nav", "#list-column", "#pane"))
    assert (nav["x"], nav["width"]) == (0, 224)
    assert (column["x"], column["width"]) == (224, 384)
    assert pane["x"] == 608 and pane["width"] == 1280 - 608
    expect(page.locator("[data-back]")).to_be_hidden()
    expect(page.locator("[data-nav-open]")).to_be_hidden()
    context.close()


FIELD_SIZES = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter(el => el.offsetParent !== null && !["checkbox", "radio", "range", "color", "hidden"].includes(el.type))
  .map(el => `${el.name || el.id || el.type} ${getComputedStyle(el).fontSize}`)"""


def test_at_phone_width_no_form_field_is_small_enough_to_zoom_the_page(browser, stack, owner, conversations):
    """iOS zooms in on a focused field whose text is below 16 px: the sign-in form, the
    inbox's search and a settings form have none."""
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{stack.base_url}/accounts/login/")
    fields = page.evaluate(FIELD_SIZES)
    assert fields and all(f.endswith(" 16px") for f in fields), fields
    page.close()

    page = signed_in(browser, stack, owner, **PHONE).new_page()
    for path in ("/inbox/", "/settings/widget/", "/settings/ai/"):
        page.goto(f"{stack.base_url}{path}")
        fields = page.evaluate(FIELD_SIZES)
        assert fields and all(f.endswith(" 16px") for f in fields), (path, fields)
    page = signed_in(browser, stack, owner, **DESKTOP).new_page()
    page.goto(f"{stack.base_url}/settings/widget/")
    assert any(f.endswith(" 14px") for f in page.evaluate(FIELD_SIZES))  # wider screens keep their size


WIDE = """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)
  .map(e => e.tagName + '#' + e.id + '.' + e.className.toString().slice(0,60) + ' ' + Math.round(e.getBoundingClientRect().right))
  .slice(0, 12)"""


def test_at_phone_width_every_settings_page_fits_the_screen_under_its_menu(browser, stack, owner, conversations):
    """The settings menu is a row above the page (scrolling sideways when it must), so the page
    has the screen's width: no settings page is wider than the phone, and its menu names it."""
    page = signed_in(browser, stack, owner, **PHONE).new_page()
    page.goto(f"{stack.base_url}/settings/widget/")
    menu = page.locator("#settings-menu a")
    paths = [link.get_attribute("href") for link in menu.all()]
    assert len(paths) >= 7
    for path in [*paths, "/settings/knowledge/article/new"]:
        page.goto(f"{stack.base_url}{path}")
        width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width == [PHONE["viewport"]["width"]] * 2, (path, width, page.evaluate(WIDE))
        main = page.locator("main").bounding_box()
        assert main and main["x"] == 0 and main["width"] == PHONE["viewport"]["width"], (path, main)
        if path in paths:
            expect(page.locator("#settings-menu a[aria-current=page]")).to_have_attribute("href", path)
    # The last of the menu's links is reached by scrolling the row, and opens its page.
    last = menu.last
    last.scroll_into_view_if_needed()
    last.tap()
    expect(page).to_have_url(f"{stack.base_url}{paths[-1]}")
