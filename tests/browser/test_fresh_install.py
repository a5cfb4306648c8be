"""A fresh install's first hour, on a stack of its own: no OPENAI_API_KEY, no OPENAI_BASE_URL
(as `make run` starts), and the shortest AGENT_ONLINE_SECONDS. An admin is told plainly that
the AI is in knowledge-only mode, and why; a widget open while the only agent's presence runs
out says "away" without a reload."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.accounts import presence
from helpdesk.accounts.models import Membership
from helpdesk.workspace.models import Workspace
from tests.browser.test_chat_flow import open_widget, sign_in
from tests.conftest import make_member
from tests.processes import Stack, stack_env
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ONLINE_SECONDS = 10  # the least AGENT_ONLINE_SECONDS allows


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        env = {
            **stack_env(),
            "OPENAI_API_KEY": "",
            "OPENAI_BASE_URL": "",
            "AGENT_ONLINE_SECONDS": str(ONLINE_SECONDS),
        }
        s = Stack(env=env)
        tmp = tmp_path_factory.mktemp("fresh")
        s.start_web(tmp)
        s.start_worker(tmp)
    yield s
    s.stop()


def test_an_admin_is_told_once_that_the_ai_is_knowledge_only_and_why(browser, stack, screenshot):
    workspace = Workspace.objects.create(name="Acme")
    owner = make_member(workspace, "owner@acme.test", Membership.Role.OWNER)
    inbox = sign_in(browser, stack, owner)
    notice = inbox.locator("#ai-notice")
    expect(notice).to_contain_text("The AI is in knowledge-only mode.")
    expect(notice).to_contain_text("No API key and no base URL are set")
    screenshot(inbox, "inbox-knowledge-only-notice")

    with inbox.expect_navigation():
        notice.locator("a:has-text('AI settings')").click()
    mode = inbox.locator("#ai-mode")
    expect(mode).to_contain_text("The AI is in knowledge-only mode.")
    expect(mode).to_contain_text("No API key and no base URL are set")
    expect(mode).not_to_contain_text("answers with gpt-4o-mini")
    screenshot(inbox, "ai-settings-knowledge-only")

    inbox.goto(f"{stack.base_url}/inbox/")
    inbox.locator("#ai-notice button[aria-label='Dismiss this notice']").click()
    expect(inbox.locator("#ai-notice")).to_have_count(0)
    inbox.reload()
    expect(inbox.locator("#conversation-list")).to_be_visible()
    expect(inbox.locator("#ai-notice")).to_have_count(0)  # remembered for this admin


def test_a_widget_open_when_the_only_agents_presence_runs_out_says_away(browser, stack, host_site):
    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme")
    agent = make_member(workspace, "agent@acme.test")
    membership = Membership.objects.get(user=agent)
    membership.last_seen_at = timezone.now()  # an inbox tab's heartbeat, just now
    membership.save(update_fields=["last_seen_at"])
    # What that heartbeat did: the widgets were told "online" (presence.refresh_widgets).
    Workspace.objects.filter(pk=workspace.pk).update(widget_availability=presence.ONLINE)
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    line = widget.locator("#availability")
    expect(line).to_have_text("We're online")

    # The tab was closed: its last heartbeat was ONLINE_SECONDS - 1 ago, so presence runs out
    # within a second, and nothing is written when it does.
    Membership.objects.filter(pk=membership.pk).update(
        last_seen_at=timezone.now() - timedelta(seconds=ONLINE_SECONDS - 1)
    )
    expect(line).to_contain_text("We're away right now", timeout=15000)
    assert "is-online" not in (line.get_attribute("class") or "")
    assert site.evaluate("window.__noReload") == 1


def test_without_a_model_the_demo_knowledge_answers_a_visitor_however_it_is_asked(browser, stack, host_site):
    """The knowledge `make run` seeds, indexed by the worker with full text only (no
    EMBEDDING_PROVIDER): a question in the visitor's own words gets the passage that answers
    it, with its source; one it does not answer goes to a person."""
    from helpdesk.ai.models import AIRun
    from helpdesk.conversations.models import Message
    from helpdesk.knowledge.models import Article
    from helpdesk.ops import demo

    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme")
    demo._seed_knowledge(workspace)
    wait_for(
        lambda: not Article.objects.filter(workspace=workspace).exclude(status="ready").exists(),
        15,
        message="the demo articles were not indexed",
    )
    _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    composer = widget.locator("#composer-input")
    composer.fill("How long does shipping take?")
    composer.press("Enter")
    asked = wait_for(
        lambda: Message.objects.filter(conversation__workspace=workspace, author_kind="customer").first(),
        15,
        message=lambda: f"the question was not saved\n{stack.output()}",
    )
    run = wait_for(
        lambda: AIRun.objects.filter(trigger=asked).exclude(status=AIRun.Status.RUNNING).first(),
        15,
        message=lambda: f"the AI did not answer\n{stack.output()}",
    )
    assert run.status == AIRun.Status.ANSWERED, (run.status, run.reason, stack.output())
    answer = widget.locator(".msg-ai").last
    expect(answer.locator(".bubble")).to_contain_text("Delivery takes two to four working days", timeout=15000)
    expect(answer.locator(".bubble")).not_to_contain_text("Shipping is free")  # that passage, not the article
    expect(answer.locator(".sources a")).to_have_text("Shipping and delivery")

    composer.fill("Can you tell me about shipping and delivery?")
    composer.press("Enter")
    expect(widget.locator(".msg-ai")).to_have_count(2, timeout=15000)
    expect(widget.locator(".msg-ai").last.locator(".sources a")).to_have_text("Shipping and delivery")

    composer.fill("Can I pay with bitcoin?")
    composer.press("Enter")
    expect(widget.locator(".msg-system").last).to_contain_text("passing your question to our team", timeout=15000)
    expect(widget.locator(".msg-ai")).to_have_count(2)
