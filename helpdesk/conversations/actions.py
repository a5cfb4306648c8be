"""The one place that writes conversations and messages, broadcasts on commit and enqueues.

Who a browser speaks for (visitor tokens, identify) is helpdesk.conversations.identity; the
hand-written statements of a customer's message are helpdesk.conversations.hotpath; other
apps react to a customer's message through helpdesk.conversations.hooks."""

from __future__ import annotations

import functools
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from helpdesk.accounts.models import Membership, User
from helpdesk.conversations import events, hooks, hotpath
from helpdesk.conversations.models import Attachment, Contact, Conversation, Message, Visitor
from helpdesk.lib import markdown
from helpdesk.realtime import broadcast

PREVIEW_LENGTH = 160


def _locked(conversation: Conversation) -> Conversation:
    """The conversation re-read and row-locked for the rest of the transaction."""
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("contact", "assignee")
        .get(pk=conversation.pk)
    )


def _preview(body: str, author_kind: str = Message.Author.CUSTOMER) -> str:
    """The message as one line for the inbox's row: what is read, not the Markdown typed."""
    flat = " ".join(markdown.plain_text(author_kind, body).split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1] + "…"


# ---------------------------------------------------------------- messages


def current_conversation(contact: Contact) -> Conversation | None:
    """The contact's conversation in the widget: its newest one there. Conversations by email
    never show in a widget (an address typed into a widget proves nothing)."""
    return contact.conversations.filter(channel=Conversation.Channel.WIDGET).order_by("-created_at", "-id").first()


# A contact's "last seen" is written at most this often by its own messages.
LAST_SEEN_PRECISION = timedelta(minutes=1)


def post_customer_message(
    visitor: Visitor,
    body: str,
    *,
    client_id: str | None = None,
    page_url: str = "",
    files: list[Attachment] | tuple = (),
) -> Message:
    """Save the customer's message first, then tell everyone. Idempotent on `client_id`.

    Every visitor's message takes this path, so the usual case reads what it needs in one
    statement (helpdesk.conversations.hotpath): the contact's current conversation, locked (as
    every writer of a conversation locks it), with the contact, the workspace facts the hooks
    need and any message already saved under `client_id`. Two posts with one `client_id` that race each
    other are told apart by the unique constraint: the loser sees the winner's message."""
    for attempt in (1, 2):
        try:
            message = _post_customer_message(visitor, body, client_id, page_url, list(files))
            visitor.has_conversation = True  # type: ignore[attr-defined]  # the annotation of identity.visitor_for_token, kept true
            return message
        except IntegrityError:
            if attempt == 2 or not client_id:
                raise
    raise AssertionError("unreachable")


def _post_customer_message(
    visitor: Visitor, body: str, client_id: str | None, page_url: str, files: list[Attachment]
) -> Message:
    now = timezone.now()
    with transaction.atomic():
        # A visitor known to have no conversation yet (see identity.visitor_for_token) goes
        # straight to the contact's lock; the lookup under the lock finds any conversation all
        # the same.
        known_new = getattr(visitor, "has_conversation", None) is False
        current = None if known_new else hotpath.current_for_post(visitor.contact_id, client_id)
        created = False
        if current is None:
            # The contact's first message: the contact's lock makes sure that only one of two
            # first messages at once opens a conversation.
            locked_contact, facts, current = hotpath.locked_contact_and_current(visitor.contact_id, client_id)
        if current is None:
            created = True
            conversation = Conversation(
                workspace_id=locked_contact.workspace_id,
                contact=locked_contact,
                page_url=page_url,
                last_message_at=now,
                last_customer_message_at=now,
                last_message_preview=_preview(body),
            )
        else:
            if current.saved_id:
                return Message.objects.select_related("conversation").get(pk=current.saved_id)
            conversation, facts = current.conversation, current.facts
        contact = conversation.contact
        message = Message(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.CUSTOMER,
            body=body,
            client_id=client_id or None,
            attachment_count=len(files),
            created_at=now,
        )
        touched = []
        if not created:
            touched = _customer_wrote(conversation, body, now)
            if page_url and not conversation.page_url:
                conversation.page_url = page_url
                touched.append("page_url")
        hotpath.save_new_message(message, conversation, touched, new_conversation=created)
        _attach(message, conversation, files)
        moved = bool(page_url) and page_url != contact.last_page_url
        if moved or contact.last_seen_at is None or now - contact.last_seen_at >= LAST_SEEN_PRECISION:
            contact.last_seen_at = now
            if moved:
                contact.last_page_url = page_url
            contact.save(update_fields=["last_seen_at", "last_page_url"])
        message.conversation = conversation
        events.message_created(message, notify=True)
        if "status" in touched:
            events.status_changed(conversation)
        _after_customer_message(conversation, message, created, facts)
    return message


def post_customer_email(
    contact: Contact,
    body: str,
    *,
    conversation: Conversation | None = None,
    answer: bool = True,
    files: list[Attachment] | tuple = (),
) -> Message:
    """A customer's email: into `conversation` (a reply found by its token or headers), or a
    new conversation by email. Answered like a widget message (the AI, the away reply) unless
    `answer` is False: an automatic mail, or a sender over its rate, gets no automatic reply."""
    now = timezone.now()
    with transaction.atomic():
        created = conversation is None
        if conversation is None:
            conversation = Conversation.objects.create(
                workspace_id=contact.workspace_id,
                contact=contact,
                channel=Conversation.Channel.EMAIL,
                last_message_at=now,
                last_customer_message_at=now,
                last_message_preview=_preview(body),
            )
            touched: list[str] = []
        else:
            conversation = _locked(conversation)
            touched = _customer_wrote(conversation, body, now)
            conversation.save(update_fields=touched)
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.CUSTOMER,
            body=body,
            via="" if conversation.channel == Conversation.Channel.EMAIL else Conversation.Channel.EMAIL,
            attachment_count=len(files),
            created_at=now,
        )
        _attach(message, conversation, list(files))
        message.conversation = conversation
        events.message_created(message, notify=True)
        if "status" in touched:
            events.conversation_changed(conversation)
        if answer:
            _after_customer_message(conversation, message, created, hotpath.facts_for(conversation.workspace_id))
    return message


def _attach(message: Message, conversation: Conversation, files: list[Attachment]) -> None:
    """The files go with the (saved) message, and are known to it for its rendering."""
    if not files:
        return
    Attachment.objects.filter(pk__in=[f.pk for f in files]).update(message=message, conversation=conversation)
    for f in files:
        f.message, f.conversation = message, conversation
    message.files_known = files  # type: ignore[attr-defined]  # read by attachments.of_message


def _customer_wrote(conversation: Conversation, body: str, now) -> list[str]:
    """A customer's new message moves its (locked) conversation; the fields to save. The
    status says whose turn it is: after the customer writes, the team's."""
    conversation.last_message_at = now
    conversation.last_customer_message_at = now
    conversation.last_message_preview = _preview(body)
    touched = ["last_message_at", "last_customer_message_at", "last_message_preview"]
    if conversation.status == Conversation.Status.RESOLVED:
        touched += _reopen(conversation)
    elif conversation.status in (Conversation.Status.PENDING, Conversation.Status.ON_HOLD):
        conversation.status = Conversation.Status.OPEN
        touched.append("status")
    return touched


def _after_customer_message(conversation: Conversation, message: Message, created: bool, facts: hooks.Facts) -> None:
    """Who answers: the hooks first (the AI enqueues its answer, when it is on); a new
    conversation that none of them will answer gets the away reply.

    The hooks run inside the message's transaction (tasks are rows in the same database, and
    the workers' NOTIFY is sent on commit): a saved message always has its answer task, and the
    two are committed together, in one write to disk instead of two. The unanswered hooks run
    after the commit, once the message's pushes have gone out."""
    if hooks.customer_message(conversation, message, created, facts) or not created:
        return
    job = functools.partial(hooks.unanswered_conversation, conversation.pk)
    transaction.on_commit(lambda: broadcast.after_sends(job))


def post_agent_reply(
    conversation: Conversation, agent: User, body: str, *, private: bool = False, files: list[Attachment] | tuple = ()
) -> Message:
    now = timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation)
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.AGENT,
            author=agent,
            body=body,
            private=private,
            attachment_count=len(files),
            created_at=now,
        )
        _attach(message, conversation, list(files))
        fields = ["agent_last_seen_at"]
        conversation.agent_last_seen_at = now
        if not private:
            conversation.last_message_at = now
            conversation.last_message_preview = _preview(body, Message.Author.AGENT)
            fields += ["last_message_at", "last_message_preview"]
            if conversation.first_response_at is None:
                conversation.first_response_at = now
                fields.append("first_response_at")
            if conversation.status == Conversation.Status.NEW:
                conversation.status = Conversation.Status.OPEN
                fields.append("status")
            if conversation.assignee_id is None:
                conversation.assignee = agent
                fields.append("assignee")
            if conversation.waiting_since is not None:  # a person has answered
                conversation.waiting_since = None
                fields.append("waiting_since")
        conversation.save(update_fields=fields)
        message.conversation = conversation
        events.message_created(message)
        if not private:
            hooks.team_message(message)
        if {"status", "assignee", "waiting_since"} & set(fields):
            events.conversation_changed(conversation)
    return message


def _resolve(conversation: Conversation) -> list[str]:
    """Mark the (locked) conversation resolved; the fields to save. It counts as resolved by
    the AI only when the AI answered in it, no person replied to the customer, and it was
    never handed over."""
    conversation.status = Conversation.Status.RESOLVED
    conversation.resolved_at = timezone.now()
    authors = set(
        conversation.messages.filter(private=False, author_kind__in=[Message.Author.AI, Message.Author.AGENT])
        .values_list("author_kind", flat=True)
        .distinct()
    )
    conversation.ai_resolved = authors == {Message.Author.AI} and conversation.handed_over_at is None
    conversation.waiting_since = None
    return ["status", "resolved_at", "ai_resolved", "waiting_since"]


def _reopen(conversation: Conversation, status: str = Conversation.Status.OPEN) -> list[str]:
    """Take the (locked) conversation out of resolved; the fields to save."""
    conversation.status = status
    conversation.resolved_at = None
    conversation.ai_resolved = False
    return ["status", "resolved_at", "ai_resolved"]


def _system_note(conversation: Conversation, text: str, *, private: bool = True) -> Message:
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        author_kind=Message.Author.SYSTEM,
        body=text,
        private=private,
    )
    message.conversation = conversation
    events.message_created(message)
    if not private:
        hooks.team_message(message)
    return message


def set_status(conversation: Conversation, agent: User, status: str) -> Conversation:
    if status not in Conversation.Status.values:
        raise ValueError(f"unknown status {status!r}")
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.status == status:
            return conversation
        if status == Conversation.Status.RESOLVED:
            fields = _resolve(conversation)
        elif conversation.status == Conversation.Status.RESOLVED:
            fields = _reopen(conversation, status)
        else:
            conversation.status = status
            fields = ["status"]
        conversation.save(update_fields=fields)
        _system_note(
            conversation, f"{agent.display_name} set the status to {conversation.get_status_display().lower()}"
        )
        events.conversation_changed(conversation)
    return conversation


def set_priority(conversation: Conversation, agent: User, priority: int) -> Conversation:
    if priority not in Conversation.Priority.values:
        raise ValueError(f"unknown priority {priority!r}")
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.priority == priority:
            return conversation
        conversation.priority = priority
        conversation.save(update_fields=["priority"])
        _system_note(
            conversation, f"{agent.display_name} set the priority to {conversation.get_priority_display().lower()}"
        )
        events.conversation_changed(conversation)
    return conversation


def assign(conversation: Conversation, agent: User, assignee: User | None) -> Conversation:
    if (
        assignee is not None
        and not Membership.objects.filter(
            user=assignee, workspace_id=conversation.workspace_id, is_active=True
        ).exists()
    ):
        raise ValueError("the assignee is not an agent of this workspace")
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.assignee_id == (assignee.pk if assignee else None):
            return conversation
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee"])
        if assignee is None:
            text = f"{agent.display_name} unassigned the conversation"
        elif assignee.pk == agent.pk:
            text = f"{agent.display_name} took the conversation"
        else:
            text = f"{agent.display_name} assigned the conversation to {assignee.display_name}"
        _system_note(conversation, text)
        events.conversation_changed(conversation)
    return conversation


def post_ai_reply(conversation: Conversation, trigger_id: int, body: str, sources: list[dict]) -> Message:
    """The AI's answer to one customer message; at most one (keyed by the trigger)."""
    now = timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation)
        client_id = f"ai-{trigger_id}"
        existing = conversation.messages.filter(client_id=client_id).first()
        if existing is not None:
            return existing
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.AI,
            body=body,
            sources=sources,
            client_id=client_id,
            created_at=now,
        )
        conversation.last_message_at = now
        conversation.last_message_preview = _preview(body, Message.Author.AI)
        fields = ["last_message_at", "last_message_preview"]
        if conversation.status in (Conversation.Status.NEW, Conversation.Status.OPEN):
            conversation.status = Conversation.Status.PENDING  # waiting on the customer
            fields.append("status")
        conversation.save(update_fields=fields)
        message.conversation = conversation
        events.message_created(message)
        hooks.team_message(message)
        if "status" in fields:
            events.conversation_changed(conversation)
    return message


def hand_over(conversation: Conversation, reason: str, text: str) -> Message:
    """A person takes over: the visitor is told, the conversation is open and unassigned with
    the reason recorded, agents are notified, and the AI stays quiet until handed back."""
    with transaction.atomic():
        conversation = _locked(conversation)
        conversation.status = Conversation.Status.OPEN
        conversation.assignee = None
        conversation.ai_paused = True
        conversation.escalation_reason = reason[:200]
        conversation.resolved_at = None
        conversation.ai_resolved = False
        now = timezone.now()
        fields = ["status", "assignee", "ai_paused", "escalation_reason", "resolved_at", "ai_resolved"]
        if conversation.handed_over_at is None:
            conversation.handed_over_at = now
            fields.append("handed_over_at")
        if conversation.waiting_since is None:
            conversation.waiting_since = now
            fields.append("waiting_since")
        conversation.save(update_fields=fields)
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.SYSTEM,
            body=text,
        )
        message.conversation = conversation
        events.message_created(message)
        hooks.team_message(message)
        _system_note(conversation, f"Handed over to the team: {reason}")
        events.conversation_changed(conversation, notify=f"Handed over: {reason}")
    return message


def hand_back(conversation: Conversation, agent: User) -> Conversation:
    with transaction.atomic():
        conversation = _locked(conversation)
        if not conversation.ai_paused:
            return conversation
        conversation.ai_paused = False
        conversation.escalation_reason = ""
        conversation.waiting_since = None  # the AI answers again
        conversation.save(update_fields=["ai_paused", "escalation_reason", "waiting_since"])
        _system_note(conversation, f"{agent.display_name} handed the conversation back to the AI")
        events.conversation_changed(conversation)
    return conversation


def resolve_by_customer(conversation: Conversation) -> Conversation:
    """The visitor said the answer solved it."""
    with transaction.atomic():
        conversation = _locked(conversation)
        if conversation.status == Conversation.Status.RESOLVED:
            return conversation
        conversation.save(update_fields=_resolve(conversation))
        _system_note(conversation, "The visitor marked the conversation as solved")
        events.conversation_changed(conversation)
    return conversation


def post_away_reply(conversation: Conversation, text: str) -> Message | None:
    """The away reply (the workspace's away message, with when the team is back), once per
    conversation, unless someone answered already; none when `text` is empty."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workspace", "contact")
            .get(pk=conversation.pk)
        )
        text = text.strip()
        answered = conversation.messages.filter(private=False).exclude(author_kind=Message.Author.CUSTOMER).exists()
        if not text or answered:
            return None
        return _system_note(conversation, text, private=False)


def mark_seen_by_customer(contact_id: int, message_id: int) -> bool:
    """The customer's open widget showed messages up to `message_id` of one of their widget
    conversations. Only ever moves forward; False when the message is not theirs."""
    conversation_id = (
        Message.objects.filter(
            pk=message_id,
            private=False,
            conversation__contact_id=contact_id,
            conversation__channel=Conversation.Channel.WIDGET,
        )
        .values_list("conversation_id", flat=True)
        .first()
    )
    if conversation_id is None:
        return False
    Conversation.objects.filter(pk=conversation_id).filter(
        models.Q(customer_seen_id__isnull=True) | models.Q(customer_seen_id__lt=message_id)
    ).update(customer_seen_id=message_id)
    return True


def mark_seen_by_agent(conversation: Conversation) -> None:
    """Saved, and set on `conversation` too (no need to read it back). A conversation with
    nothing unread is left alone: opening it again writes nothing."""
    if not conversation.is_unread:
        return
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(agent_last_seen_at=now)
    conversation.agent_last_seen_at = now
