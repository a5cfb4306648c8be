"""Django's admin, for operators: every model of ours is registered, and its list (with search
and filters), add and change pages work for a superuser; secrets never show; records are read-only."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from helpdesk.ai.models import AIRun, AISettings
from helpdesk.conversations.models import Message
from helpdesk.mail.models import Mailbox
from helpdesk.workspace import activity
from helpdesk.workspace.models import Activity

OUR_MODELS = [m for m in apps.get_models() if m.__module__.startswith("helpdesk.")]


@pytest.fixture
def superuser_client(client, db):
    user = get_user_model().objects.create_superuser("ops@example.com", "pw-for-tests-1")
    client.force_login(user)
    return client


def test_every_model_of_ours_is_in_the_admin():
    missing = [m._meta.label for m in OUR_MODELS if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m._meta.label)
def test_each_list_page_loads_with_search_and_filters(superuser_client, workspace, conversation, model):
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert superuser_client.get(url).status_code == 200
    if model_admin.search_fields:
        assert superuser_client.get(url, {"q": "acme"}).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        change = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        assert superuser_client.get(change).status_code == 200


def test_the_ai_api_key_is_write_only_in_the_admin(superuser_client, workspace):
    settings = AISettings.objects.create(workspace=workspace)
    settings.api_key = "sk-very-secret-admin-key"
    settings.save()
    url = reverse("admin:ai_aisettings_change", args=[settings.pk])
    page = superuser_client.get(url).content.decode()
    assert "sk-very-secret-admin-key" not in page and settings.api_key_encrypted not in page
    listing = superuser_client.get(reverse("admin:ai_aisettings_changelist")).content.decode()
    assert "sk-very-secret-admin-key" not in listing


def test_the_activity_log_and_ai_runs_cannot_be_edited(superuser_client, workspace, owner, conversation):
    entry = activity.record(workspace, owner, "widget.updated", changed={"widget_title": "x"})
    assert superuser_client.get(reverse("admin:workspace_activity_add")).status_code == 403
    response = superuser_client.post(reverse("admin:workspace_activity_change", args=[entry.pk]), {"action": "forged"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "widget.updated"
    assert superuser_client.get(reverse("admin:ai_airun_add")).status_code == 403
    assert not AIRun.objects.exists()
    assert Activity.objects.count() == 1


def test_the_identity_secret_is_not_shown_in_the_admin(superuser_client, workspace):
    page = superuser_client.get(reverse("admin:workspace_workspace_change", args=[workspace.pk])).content.decode()
    assert workspace.identity_secret not in page and workspace.public_token in page


def test_messages_can_be_neither_added_nor_deleted_in_the_admin(superuser_client, conversation):
    message = conversation.messages.get()
    assert superuser_client.get(reverse("admin:conversations_message_add")).status_code == 403
    delete = reverse("admin:conversations_message_delete", args=[message.pk])
    assert superuser_client.get(delete).status_code == 403
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:conversations_message_changelist")
    assert "delete_selected" not in superuser_client.get(changelist).content.decode()
    superuser_client.post(changelist, {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"})
    change = superuser_client.post(reverse("admin:conversations_message_change", args=[message.pk]), {"body": "forged"})
    assert change.status_code in (302, 403)
    assert Message.objects.filter(pk=message.pk, body="Hello, where is my order?").exists()


def test_a_conversation_and_its_messages_can_still_be_deleted_in_the_admin(superuser_client, conversation):
    url = reverse("admin:conversations_conversation_delete", args=[conversation.pk])
    assert "permission to delete" not in superuser_client.get(url).content.decode()
    assert superuser_client.post(url, {"post": "yes"}).status_code == 302
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()


# ---------------------------------------------------------------- who gets in


def test_a_workspace_owner_is_told_the_admin_is_for_operators_and_how_they_get_in(client, owner, other_workspace):
    client.force_login(owner)
    response = client.get("/admin/", follow=True)
    page = response.content.decode()
    assert response.status_code == 403 and "data-operators-only" in page
    assert "manage.py createsuperuser" in page and 'href="/settings/widget/"' in page
    assert other_workspace.name not in page and "Site administration" not in page
    for url in ("/admin/workspace/workspace/", f"/admin/workspace/workspace/{other_workspace.pk}/change/"):
        assert other_workspace.name not in client.get(url, follow=True).content.decode(), url


def test_an_operator_made_with_createsuperuser_signs_in_on_the_sign_in_page_and_opens_the_admin(
    client, monkeypatch, workspace
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an-operator-password-9")
    call_command("createsuperuser", "--noinput", "--email", "ops@example.com", stdout=io.StringIO())
    answer = client.get("/admin/", follow=True)
    assert answer.redirect_chain[-1][0].startswith("/accounts/login/?next=/admin/")
    signed_in = client.post(
        "/accounts/login/?next=/admin/", {"username": "ops@example.com", "password": "an-operator-password-9"}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    page = client.get("/admin/workspace/workspace/").content.decode()
    assert workspace.name in page


def test_a_mailbox_password_never_shows_in_the_admin(superuser_client, workspace):
    mailbox = Mailbox(workspace=workspace, email_address="s@acme.test", host="imap.acme.test", username="s")
    mailbox.password = "imap-secret-for-admin-test"
    mailbox.save()
    for url in (
        reverse("admin:mail_mailbox_change", args=[mailbox.pk]),
        reverse("admin:mail_mailbox_changelist"),
    ):
        page = superuser_client.get(url).content.decode()
        assert "imap-secret-for-admin-test" not in page and mailbox.password_encrypted not in page
