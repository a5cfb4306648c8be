"""Background tasks of conversations. They take IDs and re-read: the row may have changed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from helpdesk.accounts import presence
from helpdesk.conversations import actions
from helpdesk.conversations.models import Conversation


@task()
def send_away_reply(conversation_id: int) -> None:
    conversation = Conversation.objects.select_related("workspace").filter(pk=conversation_id).first()
    if conversation is None:
        return
    state = presence.availability(conversation.workspace)
    if state.online:
        return
    actions.post_away_reply(conversation, presence.away_text(conversation.workspace, state))


def enqueue_away_reply(conversation_id: int) -> None:
    """A new conversation nobody will answer at once (the AI is off): the away message, in
    AWAY_REPLY_DELAY_SECONDS, when its task then finds nobody there to answer. Registered as a
    hook of helpdesk.conversations.hooks (see apps.py)."""
    delay = settings.AWAY_REPLY_DELAY_SECONDS
    due = send_away_reply.using(run_after=timezone.now() + timedelta(seconds=delay)) if delay else send_away_reply
    due.enqueue(conversation_id)
