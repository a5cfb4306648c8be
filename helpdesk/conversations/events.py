"""What each change pushes, to whom. Called by actions inside their transaction."""

from __future__ import annotations

from django.template.loader import render_to_string

from helpdesk.accounts.models import User
from helpdesk.conversations.models import Conversation, Message
from helpdesk.realtime import broadcast, groups


def message_created(message: Message, *, notify: bool = False) -> None:
    conversation = message.conversation
    inbox_html = render_to_string(
        "inbox/conversation.html#message-oob", {"message": message, "conversation": conversation}
    ) + render_to_string("inbox/index.html#row-oob", {"c": conversation, "notify": notify and message})
    broadcast.on_commit(groups.agents(conversation.workspace_id), inbox_html)
    if message.is_public:
        # Rendered after the commit, once the agents' push has been handed over.
        broadcast.on_commit(
            groups.contact(conversation.contact_id),
            lambda: render_to_string("widget/chat.html#message-oob", {"message": message}),
        )


def contact_changed(contact) -> None:
    """The contact's address (given, changed or proven): live in every inbox's sidebar."""
    broadcast.on_commit(
        groups.agents(contact.workspace_id),
        lambda: render_to_string("inbox/conversation.html#contact-email-oob", {"contact": contact}),
    )


def controls_context(conversation: Conversation) -> dict:
    """What the status / priority / assignee controls need, the same for every agent."""
    return {
        "conversation": conversation,
        "status_choices": Conversation.Status.choices,
        "priority_choices": Conversation.Priority.choices,
        "agents": User.objects.filter(
            memberships__workspace_id=conversation.workspace_id, memberships__is_active=True
        ).order_by("email"),
    }


def conversation_changed(conversation: Conversation, *, notify: str = "") -> None:
    """Status, priority, assignee, handover or waiting changed: the row and the open header
    (its line under the name, and the controls) on every inbox."""
    html = (
        render_to_string("inbox/index.html#row-oob", {"c": conversation, "notify_text": notify})
        + render_to_string("inbox/conversation.html#controls-oob", controls_context(conversation))
        + render_to_string("inbox/conversation.html#header-meta-oob", {"conversation": conversation})
    )
    broadcast.on_commit(groups.agents(conversation.workspace_id), html)


def status_changed(conversation: Conversation) -> None:
    """Only the status changed, by a customer's message (the hot path): the open header's
    status control, which needs no query (the row goes with the message). Rendered after the
    commit, once the message's pushes are on their way."""
    broadcast.on_commit(
        groups.agents(conversation.workspace_id),
        lambda: render_to_string(
            "inbox/conversation.html#status-control-oob",
            {"conversation": conversation, "status_choices": Conversation.Status.choices},
        ),
    )
