"""An inbox left open in a tab follows the sign-in: signing out (in another tab) or a password
changed elsewhere takes it to the sign-in page instead of reconnecting forever; the browser
that changed the password stays in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.workspace.models import Workspace
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"
NEW_PASSWORD = "a-new-Passw0rd-for-tests"


@pytest.fixture
def agent():
    workspace = Workspace.objects.create(name="Acme", away_message="")
    return make_member(workspace, "agent@acme.test")


def signed_in_inbox(context, stack, agent):
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/")
    if "/accounts/login/" in page.url:
        page.fill("input[name=username]", agent.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{stack.base_url}/inbox/")
    page.wait_for_function("document.querySelector('#connection').classList.contains('hidden')")  # the socket is open
    return page


def test_signing_out_in_one_tab_takes_the_other_tab_to_the_sign_in_page(browser, stack, agent):
    context = browser.new_context()
    left_open = signed_in_inbox(context, stack, agent)
    other_tab = signed_in_inbox(context, stack, agent)

    other_tab.click("button:has-text('Sign out')")
    expect(other_tab).to_have_url(re.compile(r"/accounts/login/"))
    expect(left_open).to_have_url(re.compile(r"/accounts/login/\?next=%2Finbox%2F"))
    context.close()


def test_a_password_changed_in_one_browser_signs_the_other_out_and_keeps_the_first(browser, stack, agent):
    laptop, phone = browser.new_context(), browser.new_context()
    laptop_inbox = signed_in_inbox(laptop, stack, agent)
    phone_inbox = signed_in_inbox(phone, stack, agent)

    settings_tab = laptop.new_page()
    settings_tab.goto(f"{stack.base_url}/accounts/password/")
    settings_tab.fill("input[name=old_password]", PASSWORD)
    settings_tab.fill("input[name=new_password1]", NEW_PASSWORD)
    settings_tab.fill("input[name=new_password2]", NEW_PASSWORD)
    # When its socket opens again the inbox refreshes its list (catching up on what it missed).
    with laptop_inbox.expect_request(lambda r: r.url.startswith(f"{stack.base_url}/inbox/?"), timeout=15000):
        settings_tab.click("button:has-text('Change the password')")
        expect(settings_tab.locator("h1")).to_have_text("Password changed")
    expect(phone_inbox).to_have_url(re.compile(r"/accounts/login/"))
    expect(laptop_inbox).to_have_url(re.compile(r"/inbox/(\?.*)?$"))
    expect(laptop_inbox.locator("#connection")).to_be_hidden()
    laptop.close()
    phone.close()
