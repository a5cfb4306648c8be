"""Answering by email once the visitor has left, in a real browser: while nobody is online the
widget offers, inline and skippable, to take an address; a bad one gets its error, a good one
is kept (unverified) and the offer does not come back; skipped, it stays away in this browser;
with the team online and no handover, it is not offered."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.conversations.models import Contact
from helpdesk.workspace.models import Workspace
from tests.browser.pages import quiet_workspace
from tests.browser.test_chat_flow import open_widget
from tests.conftest import make_member

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workspace():
    return quiet_workspace()  # the AI stays quiet: nobody answers


def write(widget, text):
    widget.locator("#composer-input").fill(text)
    widget.locator("#composer-input").press("Enter")
    expect(widget.locator(".msg-customer[data-seq]").last).to_contain_text(text)


def test_while_nobody_is_online_the_widget_takes_an_address_for_the_reply(browser, stack, host_site, workspace):
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    offer = widget.locator("#email-offer")
    expect(offer).to_be_hidden()  # nothing written yet
    write(widget, "Is my order on its way?")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("Get the reply by email")

    offer.locator("input").fill("not an address")
    offer.locator("button:has-text('Save')").click()
    expect(offer.locator(".email-offer-error")).to_have_text("That doesn't look like an email address.")
    assert Contact.objects.get(workspace=workspace).email == ""

    offer.locator("input").fill("ada@example.com")
    offer.locator("input").press("Enter")
    expect(widget.locator("#email-saved")).to_have_text(
        "Thanks! If you leave, we'll email the reply to ada@example.com."
    )
    expect(offer).to_be_hidden()
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.email, contact.email_verified) == ("ada@example.com", False)

    site.reload()  # the same browser, later: the address is known, nothing is asked again
    site.click("#helpdesk-widget button")
    expect(widget.locator(".msg-customer[data-seq]")).to_have_count(1)
    expect(widget.locator("#email-state")).to_have_attribute("data-known", "1")
    expect(offer).to_be_hidden()
    assert site.evaluate("window.__noReload") is None


def test_skipped_the_offer_stays_away_in_this_browser(browser, stack, host_site, workspace):
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    write(widget, "Hello?")
    offer = widget.locator("#email-offer")
    offer.locator("button:has-text('Not now')").click()
    expect(offer).to_be_hidden()
    expect(widget.locator("#composer-input")).to_be_focused()
    site.reload()
    site.click("#helpdesk-widget button")
    expect(widget.locator("#email-state")).to_have_attribute("data-known", "0")
    write(widget, "Still there?")
    expect(offer).to_be_hidden()
    assert Contact.objects.get(workspace=workspace).email == ""


def test_with_the_team_online_and_no_handover_it_is_not_offered(browser, stack, host_site, workspace):
    agent = make_member(workspace, "agent@acme.test")
    Membership.objects.filter(user=agent).update(last_seen_at=timezone.now())
    Workspace.objects.filter(pk=workspace.pk).update(widget_availability="online")
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    expect(widget.locator("#availability")).to_have_text("We're online")
    write(widget, "Quick question")
    expect(widget.locator("#email-state")).to_have_attribute("data-known", "0")
    expect(widget.locator("#email-offer")).to_be_hidden()


def test_a_workspace_that_asks_first_offers_before_the_first_message(browser, stack, host_site):
    workspace = quiet_workspace(widget_ask_email_first=True)
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    offer = widget.locator("#email-offer")
    expect(offer).to_be_visible()  # nothing written yet
    offer.locator("input").fill("ada@example.com")
    offer.locator("button:has-text('Save')").click()
    expect(widget.locator("#email-saved")).to_contain_text("ada@example.com")
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.email, contact.email_verified) == ("ada@example.com", False)
    write(widget, "Now my question")
    expect(offer).to_be_hidden()
