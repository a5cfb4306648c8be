"""An admin invites a teammate and passes the link on by hand: it is shown once, right after
inviting, with a copy button, and it opens the invitation in another browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.ai.models import AISettings
from helpdesk.team.models import Invitation
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"
# On screen, and the topmost element at its centre.
UNCOVERED = """el => {
  const box = el.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return box.bottom <= window.innerHeight && (top === el || el.contains(top));
}"""


def test_the_link_is_shown_once_after_inviting_copied_and_opens_the_invitation(browser, stack, screenshot):
    workspace = Workspace.objects.create(name="Acme")
    AISettings.objects.create(workspace=workspace, enabled=False)
    admin = make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(f"{stack.base_url}/settings/team/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")

    page.fill("#invite-form input[name=email]", "new@acme.test")
    page.click("#invite-form button:has-text('Send invitation')")
    expect(page.locator("#toasts")).to_contain_text("Invitation sent to new@acme.test")
    panel = page.locator("[data-invitation-link]")
    expect(panel).to_contain_text("Copy it now: it is not shown again.")
    link = panel.locator("code").inner_text()
    assert re.fullmatch(rf"{re.escape(stack.base_url)}/invite/[\w-]+/", link), link
    copy = panel.locator("button[data-copy]")
    expect(copy).to_have_text("Copy link")
    expect(copy).to_be_focused()  # brought to the admin, who was at the form above
    assert copy.evaluate(UNCOVERED)  # by the toast, say
    screenshot(page, "team-invitation-link")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link

    page.reload()  # once: it is gone from the page after
    expect(page.locator(f"#invitation-{Invitation.objects.get().pk}")).to_be_visible()
    expect(page.locator("[data-invitation-link]")).to_have_count(0)
    assert "/invite/" not in page.content()

    teammate = browser.new_context().new_page()
    teammate.goto(link)
    expect(teammate.locator("body")).to_contain_text("Acme")
    expect(teammate.locator("input[name=password]")).to_be_visible()
    context.close()
