"""The guidance rules page: owners and admins only, rules scoped to their workspace, validated
inline, recorded, and applied by the AI agent as the page says."""

from __future__ import annotations

import pytest
from django.test import Client

from helpdesk.ai import agent
from helpdesk.ai.models import AIRun, GuidanceRule
from helpdesk.conversations import actions
from helpdesk.workspace.models import Activity

VALID = {
    "kind": "escalation",
    "name": "Refunds",
    "content": "Refund requests.\nkeywords: refund, money back",
    "channels": ["widget"],
    "active": "on",
}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def rule(workspace) -> GuidanceRule:
    return GuidanceRule.objects.create(
        workspace=workspace, kind="tone", name="Friendly", content="Be warm.", channels=["widget"]
    )


def rule_urls(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", "/settings/ai/guidance/"),
        ("post", "/settings/ai/guidance/"),
        ("get", f"/settings/ai/guidance/{pk}/"),
        ("post", f"/settings/ai/guidance/{pk}/"),
        ("post", f"/settings/ai/guidance/{pk}/active"),
        ("post", f"/settings/ai/guidance/{pk}/delete"),
    ]


def state(rule: GuidanceRule) -> tuple:
    row = GuidanceRule.objects.filter(pk=rule.pk).values_list("kind", "name", "content", "active", "channels").first()
    return row, GuidanceRule.objects.count()


POST_DATA = {**VALID, "active": "false"}  # a valid edit, a valid create and a valid deactivation at once


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("index", range(6))
def test_an_agent_cannot_open_or_post_any_guidance_url(agent_client, workspace, rule, index):
    method, url = rule_urls(rule.pk)[index]
    before = state(rule)
    response = getattr(agent_client, method)(url, POST_DATA if method == "post" else None)
    assert response.status_code == 403
    assert state(rule) == before
    assert not Activity.objects.exists()


@pytest.mark.parametrize("index", range(6))
def test_anonymous_users_are_sent_to_sign_in(client, workspace, rule, index):
    method, url = rule_urls(rule.pk)[index]
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert GuidanceRule.objects.filter(pk=rule.pk, active=True).exists()


@pytest.mark.parametrize("index", range(2, 6))
def test_an_admin_of_another_workspace_gets_404_on_this_workspaces_rules(outsider_client, workspace, rule, index):
    method, url = rule_urls(rule.pk)[index]
    before = state(rule)
    response = getattr(outsider_client, method)(url, POST_DATA if method == "post" else None)
    assert response.status_code == 404
    assert state(rule) == before
    assert not Activity.objects.exists()


def test_an_admin_of_another_workspace_sees_and_adds_only_their_own_rules(
    outsider_client, workspace, other_workspace, rule
):
    html = outsider_client.get("/settings/ai/guidance/").content.decode()
    assert "Friendly" not in html
    assert outsider_client.post("/settings/ai/guidance/", VALID).status_code == 200
    assert GuidanceRule.objects.get(name="Refunds").workspace == other_workspace
    assert list(GuidanceRule.objects.filter(workspace=workspace)) == [rule]


# ---------------------------------------------------------------- the page


def test_the_page_lists_rules_by_kind_and_explains_them(owner_client, workspace, rule):
    GuidanceRule.objects.create(workspace=workspace, kind="escalation", name="Legal", content="keywords: lawyer, court")
    html = owner_client.get("/settings/ai/guidance/").content.decode()
    assert html.index("Friendly") < html.index("Legal")  # tone first, then escalation
    assert "added to the AI's instructions for every answer" in html
    assert "keywords: refund, lawyer" in html and "hand the conversation to a person" in html
    assert "Hands over on: lawyer, court" in html
    assert 'hx-confirm="Delete the rule' in html


# ---------------------------------------------------------------- changes


def test_an_admin_adds_a_rule_and_it_is_logged(owner_client, workspace, owner):
    response = owner_client.post("/settings/ai/guidance/", VALID, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="guidance"' in html
    assert "Rule \u201cRefunds\u201d added" in html and "Hands over on: refund, money back" in html
    rule = GuidanceRule.objects.get(workspace=workspace)
    assert (rule.kind, rule.name, rule.active, rule.channels) == ("escalation", "Refunds", True, ["widget"])
    entry = Activity.objects.get(workspace=workspace)
    assert entry.actor == owner and entry.action == "guidance.created"
    assert entry.detail["rule"] == "Refunds" and entry.detail["kind"] == "escalation"


def test_a_rule_added_on_the_page_hands_over_on_its_keywords(owner_client, workspace, visitor, settings):
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = "", ""
    owner_client.post("/settings/ai/guidance/", VALID)
    v, _raw = visitor
    question = actions.post_customer_message(v, "I want my MONEY BACK now")
    agent.answer(question.pk)
    assert AIRun.objects.get(trigger=question).reason == "Escalation rule: Refunds"


def test_a_deactivated_rule_no_longer_hands_over(owner_client, workspace, visitor, settings):
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = "", ""
    owner_client.post("/settings/ai/guidance/", VALID)
    rule = GuidanceRule.objects.get(name="Refunds")
    response = owner_client.post(f"/settings/ai/guidance/{rule.pk}/active", {"active": "false"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "is inactive" in response.content.decode()
    v, _raw = visitor
    question = actions.post_customer_message(v, "I want a refund")
    agent.answer(question.pk)
    assert AIRun.objects.get(trigger=question).reason != "Escalation rule: Refunds"


def test_deactivating_and_activating_are_logged(owner_client, workspace, rule):
    response = owner_client.post(f"/settings/ai/guidance/{rule.pk}/active", {"active": "false"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Inactive" in response.content.decode()
    rule.refresh_from_db()
    assert not rule.active
    response = owner_client.post(f"/settings/ai/guidance/{rule.pk}/active", {"active": "true"})
    assert response.status_code == 302 and response["Location"] == "/settings/ai/guidance/"
    rule.refresh_from_db()
    assert rule.active
    assert list(Activity.objects.order_by("id").values_list("action", flat=True)) == [
        "guidance.deactivated",
        "guidance.activated",
    ]


def test_the_active_switch_needs_an_explicit_value(owner_client, workspace, rule):
    assert owner_client.post(f"/settings/ai/guidance/{rule.pk}/active", {"active": "maybe"}).status_code == 400
    assert GuidanceRule.objects.get(pk=rule.pk).active and not Activity.objects.exists()


def test_an_admin_edits_a_rule_and_it_is_logged(owner_client, workspace, rule):
    page = owner_client.get(f"/settings/ai/guidance/{rule.pk}/").content.decode()
    assert "Be warm." in page and 'value="widget" checked' in page.replace(' id="id_channels_0"', "")
    data = {"kind": "tone", "name": "Friendly", "content": "Be warm and brief.", "channels": ["widget"], "active": "on"}
    response = owner_client.post(f"/settings/ai/guidance/{rule.pk}/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == "/settings/ai/guidance/"
    rule.refresh_from_db()
    assert rule.content == "Be warm and brief."
    entry = Activity.objects.get(action="guidance.updated")
    assert entry.detail["changed"] == {"content": "Be warm and brief."} and entry.detail["rule"] == "Friendly"
    assert "Rule \u201cFriendly\u201d saved." in owner_client.get("/settings/ai/guidance/").content.decode()


def test_without_htmx_an_edit_goes_back_to_the_list(owner_client, workspace, rule):
    data = {"kind": "escalation", "name": "Friendly", "content": "keywords: angry", "channels": ["widget"]}
    response = owner_client.post(f"/settings/ai/guidance/{rule.pk}/", data)
    assert response.status_code == 302 and response["Location"] == "/settings/ai/guidance/"
    rule.refresh_from_db()
    assert (rule.kind, rule.active) == ("escalation", False)


def test_an_admin_deletes_a_rule_and_it_is_logged(owner_client, workspace, rule):
    response = owner_client.post(f"/settings/ai/guidance/{rule.pk}/delete", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Rule \u201cFriendly\u201d deleted." in response.content.decode()
    assert not GuidanceRule.objects.exists()
    entry = Activity.objects.get()
    assert entry.action == "guidance.deleted" and entry.detail == {"rule": "Friendly", "kind": "tone"}


def test_a_rule_cannot_be_deleted_by_get(owner_client, workspace, rule):
    assert owner_client.get(f"/settings/ai/guidance/{rule.pk}/delete").status_code == 405
    assert GuidanceRule.objects.filter(pk=rule.pk).exists()


def test_posts_without_csrf_are_refused(owner, workspace, rule):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(f"/settings/ai/guidance/{rule.pk}/delete").status_code == 403
    assert GuidanceRule.objects.filter(pk=rule.pk).exists()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("name", "", "required"),
        ("name", "x" * 121, "at most 120"),
        ("content", "", "required"),
        ("content", "x" * 2001, "at most 2000"),
        ("kind", "mood", "valid choice"),
        ("channels", [], "Choose at least one channel"),
        ("channels", ["email"], "valid choice"),
        ("name", "friendly", "There is already a tone rule named"),  # the same name, in any case
    ],
)
def test_bad_input_on_create_gets_an_inline_error_and_changes_nothing(
    owner_client, workspace, rule, field, value, error
):
    before = state(rule)
    data = {**VALID, "kind": "tone", field: value}
    response = owner_client.post("/settings/ai/guidance/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-error-for="{field}"' in html and error in html
    assert "<html" not in html
    assert state(rule) == before
    assert not Activity.objects.exists()


def test_the_same_name_is_fine_in_another_kind_or_workspace(owner_client, workspace, other_workspace, rule):
    GuidanceRule.objects.create(workspace=other_workspace, kind="escalation", name="Refunds", content="x")
    assert owner_client.post("/settings/ai/guidance/", {**VALID, "name": "Friendly"}).status_code == 200
    assert owner_client.post("/settings/ai/guidance/", {**VALID, "kind": "tone", "name": "Refunds"}).status_code == 200
    assert GuidanceRule.objects.filter(workspace=workspace).count() == 3


def test_renaming_a_rule_to_a_taken_name_is_refused(owner_client, workspace, rule):
    other = GuidanceRule.objects.create(
        workspace=workspace, kind="tone", name="Formal", content="Be formal.", channels=["widget"]
    )
    data = {"kind": "tone", "name": "FRIENDLY", "content": "Be formal.", "channels": ["widget"], "active": "on"}
    response = owner_client.post(f"/settings/ai/guidance/{other.pk}/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-error-for="name"' in html and "There is already a tone rule named" in html and "<html" not in html
    other.refresh_from_db()
    assert other.name == "Formal" and not Activity.objects.exists()
    # Saving a rule under its own name is no clash.
    data["name"] = "Formal"
    assert owner_client.post(f"/settings/ai/guidance/{other.pk}/", data).status_code == 302
