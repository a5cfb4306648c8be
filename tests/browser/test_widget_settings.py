"""An admin changes the widget's colour and greeting in the settings form; the widget on the
business's site shows both the next time it opens, with no change to the snippet."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.ai.models import AISettings
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"


def test_a_new_colour_and_greeting_show_on_the_host_page(browser, stack, host_site, screenshot):
    workspace = Workspace.objects.create(name="Acme", widget_greeting="Hello from Acme!")
    AISettings.objects.create(workspace=workspace, enabled=False)
    admin = make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)
    host_url = host_site.publish(workspace, stack.base_url, "/colours")

    settings = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    settings.goto(f"{stack.base_url}/settings/widget/")
    settings.fill("input[name=username]", admin.email)
    settings.fill("input[name=password]", PASSWORD)
    settings.click("button:has-text('Sign in')")
    expect(settings.locator("#widget-form")).to_be_visible()
    settings.fill("input[name=widget_primary_color]", "#d0342c")
    settings.fill("textarea[name=widget_greeting]", "Welcome to the new Acme!")
    settings.click("#widget-form button:has-text('Save')")
    expect(settings.locator("#toasts [data-toast]")).to_contain_text("Widget settings saved")
    # The preview follows the saved form.
    preview = settings.frame_locator("#widget-preview")
    expect(preview.locator(".greeting")).to_have_text("Welcome to the new Acme!")
    screenshot(settings, "settings-widget-saved")

    site = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    site.goto(host_url)
    launcher = site.locator("#helpdesk-widget button").first
    expect(launcher).to_have_css("background-color", "rgb(208, 52, 44)")
    launcher.click()
    widget = site.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator(".greeting")).to_have_text("Welcome to the new Acme!")
    expect(widget.locator(".chat-header")).to_have_css("background-color", "rgb(208, 52, 44)")
    screenshot(site, "host-page-new-colour")
