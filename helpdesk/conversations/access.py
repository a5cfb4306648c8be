from __future__ import annotations

from django.shortcuts import get_object_or_404

from helpdesk.accounts.models import Membership
from helpdesk.conversations.models import Conversation


def conversation_for_agent(membership: Membership, pk: int) -> Conversation:
    """The conversation if it belongs to the agent's workspace; 404 otherwise."""
    return get_object_or_404(
        Conversation.objects.select_related("contact", "assignee"), pk=pk, workspace=membership.workspace
    )
