"""A workspace's owner who follows the README to /admin/ is told it is for operators and how one
gets in; an operator's account (manage.py createsuperuser) then opens it from the same page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership, User
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"


def test_an_owner_is_shown_the_way_in_and_an_operator_takes_it(browser, stack, screenshot):
    workspace = Workspace.objects.create(name="Acme")
    owner = make_member(workspace, "owner@acme.test", Membership.Role.OWNER)
    User.objects.create_superuser("ops@example.com", "an-operator-password-9")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{stack.base_url}/admin/")
    page.fill("input[name=username]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.get_by_role("heading")).to_have_text("The admin is for operators")
    expect(page.locator("[data-operators-only] pre code")).to_have_text(".venv/bin/python manage.py createsuperuser")
    screenshot(page, "admin-operators-only")

    page.click("button:has-text('Sign out, to sign in as an operator')")
    page.fill("input[name=username]", "ops@example.com")
    page.fill("input[name=password]", "an-operator-password-9")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{stack.base_url}/admin/")
    expect(page.locator("body")).to_contain_text("Site administration")
