"""What an admin sees after acting on a settings page, wherever the page is scrolled: a toast for
a save (dismissible, announced), the first refused field scrolled into view and focused, and a
confirmation in the page's own dialog before every delete (never the browser's confirm())."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.ai.models import AISettings, GuidanceRule
from helpdesk.canned.models import CannedResponse
from helpdesk.knowledge.models import FAQ, Article
from helpdesk.team.models import Invitation
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"

IN_VIEW = """el => {
  const box = el.getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight && box.left >= 0 && box.right <= window.innerWidth;
}"""


# On screen, and the topmost element at its centre.
UNCOVERED = """el => {
  const box = el.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return box.bottom <= window.innerHeight && (top === el || el.contains(top));
}"""


@pytest.fixture
def admin(db):
    workspace = Workspace.objects.create(name="Acme")
    AISettings.objects.create(workspace=workspace, enabled=False)
    return make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)


@pytest.fixture
def page(browser, stack, admin):
    """The admin, signed in, in a window of an ordinary laptop's size; records native dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.native_dialogs = []
    page.on("dialog", lambda d: (page.native_dialogs.append(d.message), d.dismiss()))
    page.goto(f"{stack.base_url}/accounts/login/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{stack.base_url}/inbox/")
    yield page
    context.close()


def test_a_save_at_the_bottom_of_a_long_page_shows_a_toast_in_view_that_can_be_dismissed(page, stack, screenshot):
    page.clock.install()
    page.goto(f"{stack.base_url}/settings/ai/")
    save = page.locator("#ai-form button:has-text('Save')")
    save.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 300  # far from the form's top
    save.click()
    toast = page.locator("#toasts [data-toast]")
    expect(toast).to_contain_text("AI settings saved")
    assert toast.evaluate(IN_VIEW)
    assert save.evaluate(UNCOVERED)  # the toast hides nothing the admin needs
    assert page.locator("#toasts").get_attribute("role") == "status"
    assert page.locator("#toasts").get_attribute("aria-live") == "polite"
    screenshot(page, "settings-toast")

    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)

    save.click()  # a second save: this one fades by itself, unless hovered
    expect(toast).to_have_count(1)
    page.clock.fast_forward(3000)
    expect(toast).to_have_count(1)
    page.clock.fast_forward(6000)
    expect(toast).to_have_count(0)

    save.click()  # and a third goes with Esc
    expect(toast).to_have_count(1)
    page.keyboard.press("Escape")
    expect(toast).to_have_count(0)


def test_a_refused_field_far_up_the_page_is_scrolled_into_view_and_focused(page, stack):
    page.goto(f"{stack.base_url}/settings/ai/")
    page.fill("input[name=base_url]", "not a url")
    page.fill("input[name=temperature]", "7")
    save = page.locator("#ai-form button:has-text('Save')")
    save.scroll_into_view_if_needed()
    field = page.locator("input[name=base_url]")
    assert not field.evaluate(IN_VIEW)
    save.click()
    expect(page.locator("[data-error-for=base_url]").first).to_be_visible()
    expect(field).to_be_focused()  # the first of the two refused fields
    assert field.evaluate(IN_VIEW)
    assert field.get_attribute("aria-invalid") == "true"
    assert AISettings.objects.get().base_url == ""


def test_a_team_error_far_from_the_button_is_brought_into_view(page, stack, admin):
    """Errors that belong to no field (here: an admin may not deactivate an owner) are shown
    at the top of the team page; the alert is scrolled to and focused."""
    workspace = admin.memberships.get().workspace
    for n in range(25):
        make_member(workspace, f"agent{n:02}@acme.test")
    owner = make_member(workspace, "zz-owner@acme.test", Membership.Role.AGENT)
    page.goto(f"{stack.base_url}/settings/team/")
    button = page.locator(f"#member-{owner.memberships.get().pk} button:has-text('Deactivate')")
    button.scroll_into_view_if_needed()
    Membership.objects.filter(user=owner).update(role=Membership.Role.OWNER)  # meanwhile
    button.click()
    page.locator("#confirm-dialog [data-confirm-ok]").click()
    alert = page.locator("#team [data-error]")
    expect(alert).to_contain_text("Only an owner")
    expect(alert).to_be_focused()
    assert alert.evaluate(IN_VIEW)
    assert Membership.objects.get(user=owner).is_active


def test_a_delete_asks_in_the_pages_own_dialog_esc_cancels_and_focus_comes_back(page, stack, admin, screenshot):
    workspace = admin.memberships.get().workspace
    canned = CannedResponse.objects.create(workspace=workspace, shortcut="refund", text="Within 5 days.")
    page.goto(f"{stack.base_url}/settings/team/canned/")
    delete = page.locator(f"#canned-{canned.pk} button:has-text('Delete')")
    dialog = page.locator("#confirm-dialog")

    delete.click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete /refund?")
    expect(dialog.locator("[data-confirm-ok]")).to_have_text("Delete")
    expect(dialog.locator("[data-confirm-cancel]")).to_be_focused()  # the safe choice first
    screenshot(page, "settings-confirm-dialog")
    for _ in range(5):  # Tab and Shift+Tab stay inside
        page.keyboard.press("Tab")
        assert dialog.evaluate("d => d.contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert dialog.evaluate("d => d.contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    assert CannedResponse.objects.filter(pk=canned.pk).exists()

    delete.click()
    dialog.locator("[data-confirm-cancel]").click()
    expect(dialog).to_be_hidden()
    assert CannedResponse.objects.filter(pk=canned.pk).exists()

    delete.press("Enter")  # from the keyboard, to the end
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(dialog.locator("[data-confirm-ok]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text("Deleted /refund.")
    wait_for(lambda: not CannedResponse.objects.filter(pk=canned.pk).exists(), message="the deletion")
    assert page.native_dialogs == []


def _everything(workspace, admin):
    """One of each thing that a delete or another step that cannot be undone acts on."""
    article = Article.objects.create(workspace=workspace, title="Returns", body="Within 30 days.")
    faq = FAQ.objects.create(workspace=workspace, question="Do you ship abroad?", answer="Yes.")
    rule = GuidanceRule.objects.create(workspace=workspace, kind="tone", name="Friendly", content="Be kind.")
    canned = CannedResponse.objects.create(workspace=workspace, shortcut="refund", text="Within 5 days.")
    invitation = Invitation.objects.create(workspace=workspace, email="new@acme.test", invited_by=admin)
    agent = make_member(workspace, "agent@acme.test").memberships.get()
    return [
        ("/settings/knowledge/", f"#article-{article.pk} button:has-text('Delete')", "Delete “Returns”?"),
        ("/settings/knowledge/", f"#faq-{faq.pk} button:has-text('Delete')", "Delete “Do you ship abroad?”?"),
        (f"/settings/knowledge/article/{article.pk}/", "main button:has-text('Delete')", "Delete “Returns”?"),
        ("/settings/knowledge/", "#knowledge-bulk button:has-text('Delete')", "Delete the selected items?"),
        ("/settings/ai/guidance/", f"#rule-{rule.pk} button:has-text('Delete')", "Delete the rule “Friendly”?"),
        ("/settings/team/canned/", f"#canned-{canned.pk} button:has-text('Delete')", "Delete /refund?"),
        ("/settings/team/", f"#invitation-{invitation.pk} button:has-text('Revoke')", "Withdraw the invitation"),
        ("/settings/team/", f"#member-{agent.pk} button:has-text('Deactivate')", "Deactivate agent@acme.test?"),
        ("/settings/widget/", "#snippet button:has-text('Regenerate token')", "Regenerate the widget token?"),
        ("/settings/widget/", "#identity button:has-text('Regenerate secret')", "Regenerate the identity secret?"),
    ]


def test_every_delete_in_the_product_asks_in_the_same_dialog_and_cancelling_changes_nothing(page, stack, admin):
    workspace = admin.memberships.get().workspace
    cases = _everything(workspace, admin)

    def state():
        return (
            Article.objects.count(),
            FAQ.objects.count(),
            GuidanceRule.objects.count(),
            CannedResponse.objects.count(),
            list(Invitation.objects.values_list("revoked_at", flat=True)),
            list(Membership.objects.order_by("pk").values_list("is_active", flat=True)),
            Workspace.objects.values_list("public_token", "identity_secret").get(),
        )

    before = state()
    dialog = page.locator("#confirm-dialog")
    for path, button, question in cases:
        page.goto(stack.base_url + path)
        page.locator(button).click()
        expect(dialog).to_be_visible()
        expect(dialog.locator("[data-confirm-question]")).to_contain_text(question)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    assert page.native_dialogs == []
    assert state() == before


@pytest.mark.parametrize(
    "kind,fields,label",
    [
        ("article", {"input[name=title]": "Returns", "textarea[name=body]": "Within 30 days."}, "Returns"),
        (
            "faq",
            {"input[name=question]": "Do you ship abroad?", "textarea[name=answer]": "Yes."},
            "Do you ship abroad?",
        ),
    ],
)
def test_after_creating_an_item_the_address_is_the_list_and_a_reload_creates_nothing(
    page, stack, admin, kind, fields, label
):
    model = Article if kind == "article" else FAQ
    page.goto(f"{stack.base_url}/settings/knowledge/{kind}/new")
    for selector, value in fields.items():
        page.fill(selector, value)
    page.click(f"#{kind}-form button:has-text('Save')")
    expect(page).to_have_url(f"{stack.base_url}/settings/knowledge/?type={kind}")
    expect(page.locator("#toasts")).to_contain_text(f"“{label}” is saved")
    item = model.objects.get()
    expect(page.locator(f"#{kind}-{item.pk}")).to_be_visible()
    page.reload()
    expect(page.locator(f"#{kind}-{item.pk}")).to_be_visible()
    expect(page.locator("#toasts [data-toast]")).to_have_count(0)  # shown once
    assert model.objects.count() == 1 and page.native_dialogs == []
