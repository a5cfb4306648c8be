"""The widget settings page: owners and admins only, validated inline, recorded, effective at once."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from helpdesk.accounts.models import Membership
from helpdesk.realtime import groups
from helpdesk.workspace.models import Activity
from tests.conftest import make_member

URLS = [
    ("get", "/settings/widget/"),
    ("post", "/settings/widget/"),
    ("post", "/settings/widget/regenerate-token"),
    ("post", "/settings/widget/regenerate-secret"),
    ("get", "/settings/activity/"),
]

VALID = {
    "widget_enabled": "on",
    "widget_title": "Talk to Acme",
    "widget_subtitle": "We reply fast",
    "widget_greeting": "Hej!",
    "widget_placeholder": "Ask away",
    "widget_primary_color": "#FF5500",
    "widget_position": "left",
    "widget_show_availability": "on",
    "widget_company_name": "Acme",
    "allowed_domains": "https://acme.test\n*.acme.test",
    "away_message": "Back soon",
    "timezone": "UTC",
}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.mark.parametrize("method,url", URLS)
def test_an_agent_cannot_open_any_settings_url(agent_client, workspace, method, url):
    token, secret = workspace.public_token, workspace.identity_secret
    response = getattr(agent_client, method)(url, VALID if method == "post" else None)
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert (workspace.public_token, workspace.identity_secret, workspace.widget_title) == (token, secret, "Hi there 👋")


@pytest.mark.parametrize("method,url", URLS)
def test_anonymous_users_are_sent_to_sign_in(client, workspace, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_admin_of_another_workspace_changes_only_their_own(client, workspace, outsider, other_workspace):
    client.force_login(outsider)
    assert client.post("/settings/widget/", VALID).status_code == 200
    workspace.refresh_from_db()
    other_workspace.refresh_from_db()
    assert workspace.widget_title != "Talk to Acme" and other_workspace.widget_title == "Talk to Acme"


def test_an_admin_saves_the_widget_and_the_change_is_logged(client, workspace, owner):
    admin = make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)
    client.force_login(admin)
    response = client.post("/settings/widget/", VALID, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Widget settings saved" in response.content.decode()
    workspace.refresh_from_db()
    assert (workspace.widget_title, workspace.widget_primary_color, workspace.widget_position) == (
        "Talk to Acme",
        "#ff5500",
        "left",
    )
    entry = Activity.objects.get(workspace=workspace)
    assert entry.actor == admin and entry.action == "widget.updated"
    assert entry.detail["changed"]["widget_title"] == "Talk to Acme"
    log = client.get("/settings/activity/").content.decode()
    assert 'data-action="widget.updated"' in log and "changed the widget settings" in log and "Talk to Acme" in log


def test_the_widget_shows_the_new_colour_and_greeting_on_its_next_open(owner_client, workspace, client):
    owner_client.post("/settings/widget/", VALID)
    page = Client().get(f"/chat?token={workspace.public_token}").content.decode()
    assert "--hd-primary: #ff5500" in page and "Hej!" in page


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("widget_primary_color", "orange", "colour"),
        ("widget_primary_color", "#12345", "colour"),
        ("allowed_domains", "not a domain!", "Not a domain"),
        ("widget_title", "x" * 81, "at most 80"),
        ("widget_greeting", "x" * 501, "at most 500"),
        ("widget_position", "middle", "valid choice"),
    ],
)
def test_bad_input_gets_an_inline_error_and_changes_nothing(owner_client, workspace, field, value, error):
    before = {f: getattr(workspace, f) for f in VALID}
    response = owner_client.post("/settings/widget/", {**VALID, field: value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-error-for="{field}"' in html and error in html
    assert "<html" not in html  # the form partial only, swapped in place by htmx
    workspace.refresh_from_db()
    assert {f: getattr(workspace, f) for f in VALID} == before
    assert not Activity.objects.exists()


def test_posts_without_csrf_are_refused(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/settings/widget/", VALID).status_code == 403


def test_regenerating_the_token_cuts_off_the_old_one_at_once(
    owner_client, workspace, visitor, django_capture_on_commit_callbacks
):
    old = workspace.public_token
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.widget(workspace.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/settings/widget/regenerate-token", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    workspace.refresh_from_db()
    assert workspace.public_token != old and workspace.public_token in response.content.decode()
    assert Client().get(f"/chat?token={old}").status_code == 404
    _v, raw = visitor
    assert (
        Client()
        .post("/chat/api/messages", {"body": "hi"}, HTTP_X_WIDGET_TOKEN=old, HTTP_X_VISITOR_TOKEN=raw)
        .status_code
        == 403
    )
    assert async_to_sync(asyncio.wait_for)(layer.receive(channel), 2) == {"type": "close.socket", "code": 4001}
    assert Activity.objects.filter(action="widget.token_regenerated").count() == 1


def test_the_identity_secret_is_shown_once_after_regenerating(owner_client, workspace):
    old = workspace.identity_secret
    assert old not in owner_client.get("/settings/widget/").content.decode()
    response = owner_client.post("/settings/widget/regenerate-secret", HTTP_HX_REQUEST="true")
    workspace.refresh_from_db()
    assert workspace.identity_secret != old
    assert workspace.identity_secret in response.content.decode()
    assert workspace.identity_secret not in owner_client.get("/settings/widget/").content.decode()


def test_the_settings_page_carries_the_snippet_and_a_preview(owner_client, workspace):
    html = owner_client.get("/settings/widget/").content.decode()
    assert "window.HelpdeskWidget" in html and workspace.public_token in html
    assert 'id="widget-preview"' in html and "preview=1" in html


def test_asking_for_an_email_address_first_is_a_widget_setting_and_is_logged(owner_client, workspace):
    assert owner_client.post("/settings/widget/", {**VALID, "widget_ask_email_first": "on"}).status_code == 200
    workspace.refresh_from_db()
    assert workspace.widget_ask_email_first is True
    page = Client().get(f"/chat?token={workspace.public_token}").content.decode()
    assert 'id="email-state" data-online="0" data-ask-first hidden' in page
    log = owner_client.get("/settings/activity/").content.decode()
    assert "Ask for an email address before the first message" in log
    owner_client.post("/settings/widget/", VALID)  # unticked
    workspace.refresh_from_db()
    assert workspace.widget_ask_email_first is False
    assert "data-ask-first" not in Client().get(f"/chat?token={workspace.public_token}").content.decode()
