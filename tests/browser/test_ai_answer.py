"""The visitor asks what a seeded article answers, and watches the AI's answer stream in
with its source link."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.workspace.models import Workspace
from tests.ai.conftest import add_article

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_visitor_sees_a_streamed_answer_with_its_source(browser, stack, host_site, llm, screenshot):
    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme", away_message="")
    article = add_article(
        workspace,
        "Shipping and delivery",
        "# Shipping\n\nDelivery to Norway takes five to seven working days. Every order gets a tracking link.",
    )
    llm.mode, llm.first_token_delay, llm.token_delay = "ok", 0.0, 0.12
    llm.reply = "Delivery to Norway takes five to seven working days, and you get a tracking link by email [1]."

    page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.goto(host_site.publish(workspace, stack.base_url))
    page.click("#helpdesk-widget button")
    widget = page.frame_locator("#helpdesk-widget iframe")
    widget.locator("#composer-input").fill("How long does delivery to Norway take?")
    widget.locator("#composer-input").press("Enter")

    # While the model writes, the growing text is on screen before the answer is saved.
    draft = widget.locator("[data-draft] .bubble")
    expect(draft).to_contain_text("Delivery to Norway", timeout=10000)
    partial = draft.inner_text()
    assert "tracking link by email" not in partial
    screenshot(page, "widget-ai-streaming")

    answer = widget.locator(".msg-ai").last
    expect(answer.locator(".bubble")).to_have_text(llm.reply, timeout=10000)
    expect(widget.locator("[data-draft]")).to_have_count(0)
    link = answer.locator(".sources a")
    expect(link).to_have_text("Shipping and delivery")
    assert link.get_attribute("href") == f"/help/{article.public_id}/"
    screenshot(page, "widget-ai-answer")

    with page.context.expect_page() as opened:
        link.click()
    source = opened.value
    source.wait_for_load_state()
    expect(source.locator("main.article > h1")).to_have_text("Shipping and delivery")
    expect(source.locator(".article-body")).to_contain_text("five to seven working days")
