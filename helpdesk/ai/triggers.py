"""How the AI learns of a customer's message: through the hooks of helpdesk.conversations
(the AI depends on conversations, never the reverse), registered in apps.py."""

from __future__ import annotations

from helpdesk.ai.models import AISettings
from helpdesk.ai.tasks import answer
from helpdesk.conversations import hooks
from helpdesk.conversations.models import Conversation, Message


def register() -> None:
    # Read with the conversation that every customer message locks: no query of its own.
    hooks.add_workspace_fact(
        "ai_enabled", f'(SELECT "enabled" FROM "{AISettings._meta.db_table}" WHERE "workspace_id" = {{workspace_id}})'
    )
    hooks.on_customer_message(answer_customer_message)


def answer_customer_message(conversation: Conversation, message: Message, created: bool, facts: hooks.Facts) -> bool:
    """Enqueue the AI's answer, when the AI is on and the conversation was not handed over."""
    enabled = facts.get("ai_enabled")
    if enabled is None:  # the workspace has no AI settings yet
        enabled = AISettings.for_workspace(conversation.workspace_id).enabled
    if not enabled or conversation.ai_paused:
        return False
    answer.enqueue(message.pk)
    return True
