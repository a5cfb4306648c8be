"""How email learns of the team's messages and of new workspaces: hooks and a signal,
registered in apps.py (email depends on conversations, never the reverse)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models.signals import post_save
from django.utils import timezone

from helpdesk.conversations import hooks
from helpdesk.conversations.models import Message
from helpdesk.mail import models, outgoing, tasks, webhooks
from helpdesk.mail.models import OutboundEmail
from helpdesk.workspace.models import Workspace


def register() -> None:
    hooks.on_team_message(on_team_message)
    post_save.connect(models.give_address, sender=Workspace, dispatch_uid="mail.give_address")
    webhooks.register()


def on_team_message(message: Message) -> None:
    """Inside the message's transaction (the task row commits with it): an email
    conversation's reply goes now; in the widget, a person's or the AI's message is emailed
    after CONTINUITY_EMAIL_DELAY_SECONDS if the visitor has not seen it by then."""
    conversation = message.conversation
    if not conversation.contact.email:
        return
    if outgoing.by_email(conversation):
        tasks.send_email.enqueue(conversation.pk, OutboundEmail.Kind.REPLY)
    elif message.author_kind in outgoing.PEOPLE_AND_AI:
        due = timezone.now() + timedelta(seconds=settings.CONTINUITY_EMAIL_DELAY_SECONDS)
        tasks.send_email.using(run_after=due).enqueue(conversation.pk, OutboundEmail.Kind.CONTINUITY)
