"""axe-core (vendored in tests/browser/vendor) audits the widget, the inbox and every settings
page: no violation of serious or critical impact.

How axe gets in: our pages' CSP is `script-src 'self'`, which refuses `page.add_script_tag`,
with `content=` and with `path=` alike (both insert an inline script). `page.evaluate` runs
through the DevTools protocol, which the page's CSP does not govern, so the audit runs on the
page exactly as served, its policy still in force (a `bypass_csp=True` context would work too,
but would audit a page without the policy that it ships with).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.ai.models import GuidanceRule
from helpdesk.canned.models import CannedResponse
from helpdesk.knowledge.models import FAQ, Article
from helpdesk.workspace import activity
from tests.browser.pages import (
    DESKTOP,
    PHONE,
    conversation_with_every_kind,
    quiet_workspace,
    remember_visitor,
    signed_in,
)
from tests.conftest import make_member

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
BLOCKING = ("serious", "critical")


def violations(target) -> list[str]:
    """What axe finds of serious or critical impact in `target` (a page or a frame), one line
    each: the rule, its impact, and the elements it names."""
    target.evaluate(AXE)
    result = target.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -- "
        + " | ".join(f"{' '.join(n['target'])} {n['failureSummary']!r} {n['html'][:160]}" for n in v["nodes"][:8])
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture
def workspace():
    return quiet_workspace()


@pytest.fixture
def owner(workspace):
    return make_member(workspace, "owner@acme.test", Membership.Role.OWNER)


def test_the_widget_has_no_serious_violation(browser, stack, host_site, workspace, owner):
    _conversation, raw = conversation_with_every_kind(workspace, owner)
    context = browser.new_context(**DESKTOP)
    remember_visitor(context, workspace, raw)
    page = context.new_page()
    page.goto(host_site.publish(workspace, stack.base_url))
    page.click("#helpdesk-widget button")
    widget = page.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator(".msg-ai .sources a")).to_be_visible()
    frame = next(f for f in page.frames if "/chat?" in f.url)
    found = violations(frame)
    assert not found, "\n".join(found)
    context.close()


def test_the_inbox_and_a_conversation_have_no_serious_violation(browser, stack, workspace, owner):
    conversation, _raw = conversation_with_every_kind(workspace, owner)
    context = signed_in(browser, stack, owner, **DESKTOP)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/")
    expect(page.locator(".conversation-row")).to_have_count(1)
    found = {"/inbox/": violations(page)}
    page.goto(f"{stack.base_url}/inbox/c/{conversation.pk}/")
    expect(page.locator("[data-thread] .message")).to_have_count(4)
    found[f"/inbox/c/{conversation.pk}/"] = violations(page)
    problems = [f"{url}: {v}" for url, vs in found.items() for v in vs]
    assert not problems, "\n".join(problems)
    context.close()


def test_the_inbox_at_phone_width_has_no_serious_violation(browser, stack, workspace, owner):
    conversation, _raw = conversation_with_every_kind(workspace, owner)
    context = signed_in(browser, stack, owner, **PHONE)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/")
    page.locator("[data-nav-open]").tap()
    expect(page.locator("#inbox-nav")).to_be_visible()
    found = {"/inbox/ with its menu open": violations(page)}
    page.goto(f"{stack.base_url}/inbox/c/{conversation.pk}/")
    expect(page.locator("[data-back]")).to_be_visible()
    found[f"/inbox/c/{conversation.pk}/"] = violations(page)
    problems = [f"{url}: {v}" for url, vs in found.items() for v in vs]
    assert not problems, "\n".join(problems)
    context.close()


def settings_pages(workspace, owner) -> list[str]:
    article = Article.objects.create(workspace=workspace, title="Returns", body="Within 30 days.")
    faq = FAQ.objects.create(workspace=workspace, question="Do you ship abroad?", answer="Yes.")
    rule = GuidanceRule.objects.create(workspace=workspace, kind="tone", name="Friendly", content="Be warm.")
    canned = CannedResponse.objects.create(workspace=workspace, shortcut="refund", text="Refunds take 5 days.")
    make_member(workspace, "agent@acme.test")
    activity.record(workspace, owner, "widget.updated", changed={"widget_title": "Chat"})
    return [
        "/settings/widget/",
        "/settings/ai/",
        "/settings/ai/guidance/",
        f"/settings/ai/guidance/{rule.pk}/",
        "/settings/knowledge/",
        "/settings/knowledge/article/new",
        f"/settings/knowledge/article/{article.pk}/",
        "/settings/knowledge/faq/new",
        f"/settings/knowledge/faq/{faq.pk}/",
        "/settings/knowledge/document/new",
        "/settings/team/",
        "/settings/team/canned/",
        f"/settings/team/canned/{canned.pk}/",
        "/settings/activity/",
    ]


def test_every_settings_page_has_no_serious_violation(browser, stack, workspace, owner):
    context = signed_in(browser, stack, owner, **DESKTOP)
    page = context.new_page()
    found = {}
    for url in settings_pages(workspace, owner):
        response = page.goto(stack.base_url + url)
        assert response.status == 200, url
        found[url] = violations(page)
    problems = [f"{url}: {v}" for url, vs in found.items() for v in vs]
    assert not problems, "\n".join(problems)
    context.close()
