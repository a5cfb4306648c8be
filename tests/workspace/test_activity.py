"""The activity log reads as sentences: who did what to which thing, and for a settings change
each field's value before and after. Secrets never appear in it."""

from __future__ import annotations

import json
import re

import pytest
from django.utils.html import strip_tags

from helpdesk.knowledge import actions as knowledge
from helpdesk.workspace import activity
from helpdesk.workspace.models import Activity
from tests.workspace.test_ai_settings import KEY
from tests.workspace.test_ai_settings import VALID as AI_VALID
from tests.workspace.test_widget_settings import VALID as WIDGET_VALID

LOG = "/settings/activity/"


@pytest.fixture
def owner_client(client, owner):
    owner.name = "Ada"
    owner.save(update_fields=["name"])
    client.force_login(owner)
    return client


def log_text(client) -> str:
    """The log page as a reader sees it: its text, spaces squeezed."""
    return " ".join(strip_tags(client.get(LOG).content.decode()).split())


def test_a_knowledge_change_reads_as_a_sentence(owner_client, workspace, owner):
    faq = knowledge.create_faq(workspace, question="How do I reset my password?", answer="In Settings.", actor=owner)
    knowledge.update(faq, answer="Under Settings, Security.", order=2, actor=owner)
    knowledge.disable(faq, actor=owner)
    text = log_text(owner_client)
    assert "Ada added the FAQ \u201cHow do I reset my password?\u201d" in text
    assert "Ada edited the FAQ \u201cHow do I reset my password?\u201d Answer: edited Order: 0 \u2192 2" in text
    assert "Ada turned off the FAQ \u201cHow do I reset my password?\u201d" in text
    assert "knowledge.faq_created" not in text  # the key is an attribute, not what is read
    assert Activity.objects.filter(action="knowledge.faq_updated").get().detail["before"] == {
        "answer": "In Settings.",
        "order": 0,
    }


def test_a_settings_change_shows_each_value_before_and_after(owner_client, workspace):
    workspace.widget_title = "Chat with us"
    workspace.save(update_fields=["widget_title"])
    assert owner_client.post("/settings/widget/", WIDGET_VALID).status_code == 200
    entry = Activity.objects.get(action="widget.updated")
    assert entry.detail["before"]["widget_title"] == "Chat with us"
    assert entry.detail["changed"]["widget_title"] == "Talk to Acme"
    text = log_text(owner_client)
    assert "Ada changed the widget settings" in text
    assert "Title: Chat with us \u2192 Talk to Acme" in text
    assert "Position: right \u2192 left" in text
    assert "Allowed domains: (empty) \u2192 https://acme.test *.acme.test" in text


def test_opening_hours_read_as_days_and_times(owner_client, workspace):
    hours = {f"{d}_open": "on" for d in ("mon", "tue")} | {
        f"{d}_{p}": t for d in ("mon", "tue") for p, t in (("start", "09:00"), ("end", "17:30"))
    }
    owner_client.post("/settings/widget/", {**WIDGET_VALID, "business_hours_enabled": "on", **hours})
    text = log_text(owner_client)
    assert "Opening hours: (empty) \u2192 Mon 09:00\u201317:30, Tue 09:00\u201317:30" in text
    assert "Use business hours: off \u2192 on" in text


def test_the_ai_settings_change_shows_before_and_after_but_never_the_key(owner_client, workspace):
    owner_client.post("/settings/ai/", {**AI_VALID, "chat_model": "gpt-4o-mini"})
    owner_client.post("/settings/ai/", {**AI_VALID, "api_key": KEY})
    owner_client.post("/settings/ai/", {**AI_VALID, "clear_api_key": "on"})
    page = owner_client.get(LOG).content.decode()
    text = " ".join(strip_tags(page).split())
    assert "Chat model: gpt-4o-mini \u2192 gpt-4.1-mini" in text
    assert "API key: set to a new value (not shown)" in text and "API key: cleared" in text
    assert KEY not in page
    assert all(KEY not in json.dumps(e.detail) for e in Activity.objects.all())
    assert all("api_key" not in e.detail.get("before", {}) for e in Activity.objects.all())


def test_the_identity_secret_never_appears_in_the_log(owner_client, workspace):
    old = workspace.identity_secret
    owner_client.post("/settings/widget/regenerate-secret")
    owner_client.post("/settings/widget/regenerate-token")
    workspace.refresh_from_db()
    page = owner_client.get(LOG).content.decode()
    assert "Ada made a new identity secret (not shown)" in " ".join(strip_tags(page).split())
    assert "Ada made a new widget token" in " ".join(strip_tags(page).split())
    for secret in (old, workspace.identity_secret):
        assert secret not in page
        assert all(secret not in json.dumps(e.detail) for e in Activity.objects.all())


def test_a_secret_passed_to_record_by_mistake_is_not_kept(workspace, owner):
    entry = activity.record(
        workspace,
        owner,
        "widget.updated",
        changed={"identity_secret": "s3cr3t-value", "api_key": "sk-abc", "title": "x"},
        before={"api_key": "sk-old", "nested": {"password": "hunter2"}},
    )
    kept = json.dumps(Activity.objects.get(pk=entry.pk).detail)
    for secret in ("s3cr3t-value", "sk-abc", "sk-old", "hunter2"):
        assert secret not in kept
    assert entry.detail["changed"]["title"] == "x"


def test_team_canned_and_guidance_entries_read_as_sentences(owner_client, workspace, owner):
    activity.record(workspace, owner, "team.invited", email="bo@acme.test", role="agent")
    activity.record(workspace, owner, "team.role_changed", member="bo@acme.test", role="admin", previous="agent")
    activity.record(workspace, owner, "canned.created", shortcut="refund")
    activity.record(workspace, owner, "guidance.deactivated", rule="Friendly", kind="tone")
    activity.record(workspace, None, "knowledge.document_created", id=1, title="Price list", file="prices.pdf")
    activity.record(
        workspace, owner, "widget.updated", changed={"widget_title": "Old entry"}
    )  # no "before": older entries
    text = log_text(owner_client)
    for sentence in (
        "Ada invited bo@acme.test as an agent",
        "Ada changed the role of bo@acme.test from agent to admin",
        "Ada added the canned response /refund",
        "Ada turned off the tone rule \u201cFriendly\u201d",
        "Someone uploaded the document \u201cPrice list\u201d",
        "Title: Old entry",
    ):
        assert sentence in text


def test_markup_in_a_name_is_shown_as_text(owner_client, workspace, owner):
    knowledge.create_faq(workspace, question="<script>alert(1)</script>?", answer="x", actor=owner)
    page = owner_client.get(LOG).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert re.search(r'data-action="knowledge.faq_created"', page)
