"""Background tasks of conversations. They take IDs and re-read: the row may have changed."""

from __future__ import annotations

from django_tasks import task

from helpdesk.accounts import presence
from helpdesk.conversations import actions
from helpdesk.conversations.models import Conversation


@task()
def send_away_reply(conversation_id: int) -> None:
    conversation = Conversation.objects.select_related("workspace").filter(pk=conversation_id).first()
    if conversation is None or presence.available(conversation.workspace):
        return
    actions.post_away_reply(conversation)
