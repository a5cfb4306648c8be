"""Agents away from the inbox get one email of what waits for them, at most every few minutes:
new conversations waiting for a person and replies in their own conversations; never while
they are in the inbox, never with the setting off, never twice for the same thing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from helpdesk.accounts.models import Membership, User
from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions, identity
from helpdesk.mail import notifications

pytestmark = pytest.mark.django_db


def away(user: User, minutes: int = 10) -> None:
    Membership.objects.filter(user=user).update(last_seen_at=timezone.now() - timedelta(minutes=minutes))


def new_conversation(workspace, text="My parcel is lost"):
    v, _raw = identity.start_visitor(workspace)
    return actions.post_customer_message(v, text).conversation, v


def test_an_agent_who_is_away_gets_one_email_of_what_waits(workspace, agent, owner, smtp_sink):
    away(agent)
    away(owner)
    conversation, _v = new_conversation(workspace)
    assert notifications.sweep() == 2
    mails = {m.rcpt_tos[0]: m for m in smtp_sink.wait(2)}
    text = mails["agent@acme.test"].part("plain")
    assert "New conversations waiting for a person:" in text and "My parcel is lost" in text
    assert f"http://localhost:8000/inbox/c/{conversation.pk}/" in text
    assert mails["agent@acme.test"].message["Subject"] == "1 conversation waiting in Acme"
    assert notifications.sweep() == 0  # told already: nothing twice, and not before the interval


def test_a_reply_in_an_assigned_conversation_is_emailed_to_its_agent_only(workspace, agent, owner, settings):
    conversation, v = new_conversation(workspace)
    actions.post_agent_reply(conversation, agent, "Looking into it")  # takes it
    away(agent)
    away(owner)
    User.objects.update(email_notified_at=timezone.now() - timedelta(hours=1))
    actions.post_customer_message(v, "Any news?")
    assert notifications.sweep() == 1
    [sent] = mail.outbox
    assert sent.to == ["agent@acme.test"] and "Replies in your conversations:" in sent.body and "Any news?" in sent.body


def test_nobody_in_the_inbox_nor_with_the_setting_off_gets_one(workspace, agent, owner):
    Membership.objects.filter(user=agent).update(last_seen_at=timezone.now())  # in the inbox now
    away(owner)
    User.objects.filter(pk=owner.pk).update(email_notifications=False)
    new_conversation(workspace)
    assert notifications.sweep() == 0 and mail.outbox == []


def test_at_most_one_email_per_interval(workspace, agent, settings):
    settings.AGENT_EMAIL_EVERY_SECONDS = 300
    away(agent)
    new_conversation(workspace, "First")
    assert notifications.sweep() == 1
    new_conversation(workspace, "Second")
    assert notifications.sweep() == 0  # within five minutes of the last
    settings.AGENT_EMAIL_EVERY_SECONDS = 0  # as if five minutes had passed since that email
    assert notifications.sweep() == 1
    assert "Second" in mail.outbox[-1].body and "First" not in mail.outbox[-1].body


def test_a_conversation_the_ai_answered_is_not_waiting(workspace, agent):
    AISettings.objects.create(workspace=workspace, enabled=True)
    away(agent)
    conversation, _v = new_conversation(workspace)
    actions.post_ai_reply(conversation, conversation.messages.get().pk, "Here is the tracking link.", [])
    assert notifications.sweep() == 0
    actions.hand_over(conversation, "asked for a person", "A person will answer.")
    User.objects.filter(pk=agent.pk).update(email_notified_at=None)
    assert notifications.sweep() == 1


def test_the_personal_setting_from_the_inbox(client, agent):
    client.force_login(agent)
    response = client.post(reverse("inbox:email_notifications"), {})
    assert response.status_code == 200 and 'id="email-notifications"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.email_notifications is False
    client.post(reverse("inbox:email_notifications"), {"enabled": "1"})
    agent.refresh_from_db()
    assert agent.email_notifications is True
    client.logout()
    assert client.post(reverse("inbox:email_notifications"), {}).status_code == 302
