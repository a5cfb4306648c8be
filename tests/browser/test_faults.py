"""Faults under real browsers and real processes: Redis restarts, the web process restarts, the
database drops out during a visitor's post. Nothing a customer or an agent sent is lost; both
sides catch up by themselves, without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.conversations import actions
from helpdesk.conversations.models import Conversation, Message, Visitor
from helpdesk.lib import embedded
from helpdesk.workspace.models import Workspace
from tests.browser.test_chat_flow import open_widget, sign_in
from tests.conftest import make_member
from tests.processes import SocketProxy, Stack, postgres_socket, proxied_database_url, stack_env

pytestmark = pytest.mark.django_db(transaction=True)
CATCH_UP_MS = 20_000  # the widget polls every 3 s while its socket is down; sockets back off up to 8 s


@pytest.fixture
def workspace():
    from helpdesk.ai.models import AISettings

    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme", away_message="")
    AISettings.objects.create(workspace=workspace, enabled=False)
    return workspace


@pytest.fixture
def agent(workspace):
    return make_member(workspace, "agent@acme.test")


def start(tmp_path, redis_url: str | None = None, **env) -> Stack:
    stack = Stack(env={**stack_env(redis_url), **env})
    stack.start_web(tmp_path)
    stack.start_worker(tmp_path)
    return stack


def talking(browser, stack, host_site, workspace, agent):
    """A visitor and an agent in an open conversation, both pages live."""
    inbox = sign_in(browser, stack, agent)
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
    widget.locator("#composer-input").fill("Hello, is my parcel lost?")
    widget.locator("#composer-input").press("Enter")
    inbox.locator(".conversation-row").first.click()
    expect(inbox.locator("[data-thread]")).to_contain_text("Hello, is my parcel lost?")
    return inbox, site, widget


def write_during_the_outage(workspace, agent) -> None:
    """Both sides write while the pages cannot hear about it (the pushes go nowhere)."""
    conversation = Conversation.objects.get(workspace=workspace)
    actions.post_agent_reply(conversation, agent, "Written by the agent during the outage")
    actions.post_customer_message(Visitor.objects.get(workspace=workspace), "Written by the visitor during the outage")


def both_caught_up(inbox, widget) -> None:
    expect(widget.locator("#messages")).to_contain_text("Written by the agent during the outage", timeout=CATCH_UP_MS)
    expect(widget.locator("#messages")).to_contain_text("Written by the visitor during the outage", timeout=CATCH_UP_MS)
    expect(inbox.locator("[data-thread]")).to_contain_text(
        "Written by the visitor during the outage", timeout=CATCH_UP_MS
    )
    expect(inbox.locator("[data-thread]")).to_contain_text(
        "Written by the agent during the outage", timeout=CATCH_UP_MS
    )
    # once each, in order
    assert widget.locator("[data-seq]").count() == 3
    seqs = [int(s) for s in widget.locator("[data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs)


def test_after_redis_restarts_both_sides_reconnect_and_catch_up(browser, host_site, workspace, agent, tmp_path):
    run_dir = tmp_path / "redis"
    stack = start(tmp_path, embedded.ensure_redis(run_dir))
    try:
        inbox, _site, widget = talking(browser, stack, host_site, workspace, agent)
        embedded.stop_redis(run_dir)
        expect(inbox.locator("#connection")).to_be_visible(timeout=10_000)  # the inbox says it is reconnecting
        write_during_the_outage(workspace, agent)
        # While Redis is down a visitor can still send: the message is saved (rate limits fail open).
        widget.locator("#composer-input").fill("Sent while Redis is down")
        widget.locator("#composer-input").press("Enter")
        expect(widget.locator(".msg-customer .bubble").last).to_have_text("Sent while Redis is down")
        embedded.ensure_redis(run_dir)
        expect(inbox.locator("[data-thread]")).to_contain_text("Sent while Redis is down", timeout=CATCH_UP_MS)
        expect(widget.locator("#messages")).to_contain_text(
            "Written by the agent during the outage", timeout=CATCH_UP_MS
        )
        expect(inbox.locator("#connection")).to_be_hidden(timeout=CATCH_UP_MS)
        # And live again: a new reply arrives over the re-opened sockets.
        inbox.locator(".composer textarea").fill("Back to normal")
        inbox.locator(".composer textarea").press("Enter")
        expect(widget.locator("#messages")).to_contain_text("Back to normal", timeout=CATCH_UP_MS)
        bodies = list(Message.objects.filter(workspace=workspace).values_list("body", flat=True))
        assert bodies.count("Sent while Redis is down") == 1
        assert widget.locator("[data-seq]").count() == len(bodies)
    finally:
        stack.stop()
        embedded.stop_redis(run_dir)


def test_after_the_web_process_restarts_both_sides_reconnect_and_catch_up(
    browser, host_site, workspace, agent, tmp_path
):
    stack = start(tmp_path)
    try:
        inbox, site, widget = talking(browser, stack, host_site, workspace, agent)
        web = stack.procs[0]
        web.terminate()
        web.wait(10)
        expect(inbox.locator("#connection")).to_be_visible(timeout=10_000)
        write_during_the_outage(workspace, agent)
        stack.procs.remove(web)
        stack.start_web(tmp_path)  # the same port
        both_caught_up(inbox, widget)
        expect(inbox.locator("#connection")).to_be_hidden(timeout=CATCH_UP_MS)
        assert inbox.evaluate("window.__noReload") == 1 and site.evaluate("window.__noReload") == 1
    finally:
        stack.stop()


def test_a_post_while_the_database_is_unreachable_offers_a_retry_and_is_saved_once(
    browser, host_site, workspace, agent, tmp_path
):
    proxy = SocketProxy(postgres_socket())
    stack = Stack(env={**stack_env(), "DATABASE_URL": proxied_database_url(proxy), "DB_POOL_TIMEOUT": "2"})
    stack.start_web(tmp_path)
    try:
        _site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))
        widget.locator("#composer-input").fill("First, before the outage")
        widget.locator("#composer-input").press("Enter")
        expect(widget.locator(".msg-customer:not(.pending) .bubble")).to_have_text("First, before the outage")

        proxy.cut()
        widget.locator("#composer-input").fill("Sent during the outage")
        widget.locator("#composer-input").press("Enter")
        pending = widget.locator(".msg-customer.pending")
        expect(pending.locator(".bubble")).to_have_text("Sent during the outage")  # kept on screen, never dropped
        expect(pending.locator(".msg-meta")).to_contain_text("couldn't save your message", timeout=15_000)
        retry = pending.locator("button.retry")
        expect(retry).to_be_visible()
        assert not Message.objects.filter(body="Sent during the outage").exists()

        proxy.restore()
        retry.click()
        expect(widget.locator(".msg-customer.pending")).to_have_count(0, timeout=15_000)
        expect(widget.locator(".msg-customer .bubble").last).to_have_text("Sent during the outage")
        assert Message.objects.filter(body="Sent during the outage").count() == 1
        retry_again = widget.locator(".msg-customer[data-seq]")
        assert retry_again.count() == 2
    finally:
        stack.stop()
        proxy.close()
