"""The one place that writes conversations and messages, broadcasts on commit and enqueues."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from helpdesk.accounts.models import Membership, User, Workspace
from helpdesk.ai.models import AISettings
from helpdesk.conversations import events
from helpdesk.conversations.models import Contact, Conversation, Message, Visitor, hash_token
from helpdesk.realtime import broadcast, codes, groups

PREVIEW_LENGTH = 160


class IdentityRefused(Exception):
    """The host page's identity hash does not match."""


def _locked(conversation: Conversation) -> Conversation:
    """The conversation re-read and row-locked for the rest of the transaction."""
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("contact", "assignee")
        .get(pk=conversation.pk)
    )


def _preview(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1] + "…"


# ---------------------------------------------------------------- visitors


def start_visitor(workspace: Workspace, *, page_url: str = "") -> tuple[Visitor, str]:
    """A new anonymous visitor and contact. Returns the visitor and its raw token (shown once)."""
    raw = "vt_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        contact = Contact.objects.create(workspace=workspace, last_page_url=page_url, last_seen_at=timezone.now())
        visitor = Visitor.objects.create(workspace=workspace, contact=contact, token_hash=hash_token(raw))
    return visitor, raw


def visitor_for_token(workspace: Workspace, raw: str | None) -> Visitor | None:
    if not raw or len(raw) > 100:
        return None
    return (
        Visitor.objects.select_related("contact")
        .annotate(has_conversation=Exists(Conversation.objects.filter(contact_id=OuterRef("contact_id"))))
        .filter(workspace=workspace, token_hash=hash_token(raw))
        .first()
    )


def identity_hash(workspace: Workspace, external_id: str) -> str:
    return hmac.new(workspace.identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def identify(
    visitor: Visitor,
    *,
    name: str = "",
    email: str = "",
    external_id: str = "",
    user_hash: str = "",
    traits: dict | None = None,
) -> Contact:
    """Attach what the host page knows about the visitor.

    With an external id and a matching HMAC the browser is linked to that verified contact.
    An anonymous contact's conversations move along (the visitor was that person all along);
    a verified contact's never do: on a shared computer, Alice identifies, then Bob does, and
    the browser is relinked to Bob and starts clean, while Alice's conversations stay hers.
    The browser's open sockets are closed whenever it is relinked, so none keeps listening to
    the previous contact. A wrong hash raises IdentityRefused and changes nothing.
    """
    workspace = visitor.workspace
    if user_hash or external_id:
        if not (external_id and user_hash) or not hmac.compare_digest(identity_hash(workspace, external_id), user_hash):
            raise IdentityRefused("identity verification failed")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=visitor.contact_id)
        if external_id:
            verified, _ = Contact.objects.get_or_create(workspace=workspace, external_id=external_id, verified=True)
            if verified.pk != contact.pk:
                if not contact.verified:
                    Conversation.objects.filter(contact=contact).update(contact=verified)
                _relink(visitor, verified)
                contact = verified
        # What an unsigned call says never overwrites what the host page's server vouched for.
        trusted = not contact.verified or bool(external_id)
        if name and trusted:
            contact.name = name[:200]
        if email and trusted:
            contact.email = email[:254]
        if traits:
            contact.traits = {**contact.traits, **traits}
        contact.save()
    return contact


def _relink(visitor: Visitor, contact: Contact) -> None:
    visitor.contact = contact
    visitor.save(update_fields=["contact"])
    broadcast.close_group(groups.visitor(visitor.pk), code=codes.VISITOR_CHANGED)


def forget_visitor(visitor: Visitor) -> None:
    """The host page's user logged out (`Helpdesk("reset")`): this browser's token stops
    working at once and its sockets close. The contact and its conversations stay."""
    with transaction.atomic():
        Visitor.objects.filter(pk=visitor.pk).delete()
        broadcast.close_group(groups.visitor(visitor.pk), code=codes.VISITOR_CHANGED)


# ---------------------------------------------------------------- messages


def current_conversation(contact: Contact) -> Conversation | None:
    return contact.conversations.order_by("-created_at", "-id").first()


# A contact's "last seen" is written at most this often by its own messages.
LAST_SEEN_PRECISION = timedelta(minutes=1)


def post_customer_message(visitor: Visitor, body: str, *, client_id: str | None = None, page_url: str = "") -> Message:
    """Save the customer's message first, then tell everyone. Idempotent on `client_id`.

    Every visitor's message takes this path (bench/delivery.py measures it), so the usual case
    reads what it needs in one statement: the contact's current conversation, locked (as every
    writer of a conversation locks it), with the contact, whether the workspace's AI is on and
    any message already saved under `client_id`. Two posts with one `client_id` that race each
    other are told apart by the unique constraint: the loser sees the winner's message."""
    for attempt in (1, 2):
        try:
            message = _post_customer_message(visitor, body, client_id, page_url)
            visitor.has_conversation = True
            return message
        except IntegrityError:
            if attempt == 2 or not client_id:
                raise
    raise AssertionError("unreachable")


def _ai_enabled_column(table: str) -> str:
    """Whether the workspace's AI is on: NULL while the workspace has no AI settings."""
    return f'(SELECT ai."enabled" FROM "{AISettings._meta.db_table}" ai WHERE ai."workspace_id" = {table}."workspace_id") AS ai_enabled'


@functools.cache
def _current_for_post_sql() -> tuple[str, list, list]:
    """The statement behind `_current_for_post`, written out once: built through the ORM it
    cost more Python time than everything else a message does (bench/delivery.py)."""
    conv_fields = list(Conversation._meta.concrete_fields)
    contact_fields = list(Contact._meta.concrete_fields)
    columns = [f'cv."{f.column}"' for f in conv_fields] + [f'ct."{f.column}"' for f in contact_fields]
    sql = f"""
        SELECT {", ".join(columns)}, {_ai_enabled_column("cv")},
            (SELECT m."id" FROM "{Message._meta.db_table}" m
              WHERE m."conversation_id" = cv."id" AND m."client_id" = %(client_id)s LIMIT 1) AS saved_id
        FROM "{Conversation._meta.db_table}" cv
        JOIN "{Contact._meta.db_table}" ct ON ct."id" = cv."contact_id"
        WHERE cv."contact_id" = %(contact_id)s
        ORDER BY cv."created_at" DESC, cv."id" DESC
        LIMIT 1
        FOR UPDATE OF cv"""
    return sql, conv_fields, contact_fields


@functools.cache
def _locked_contact_sql() -> tuple[str, list]:
    fields = list(Contact._meta.concrete_fields)
    columns = ", ".join(f'ct."{f.column}"' for f in fields)
    sql = f"""SELECT {columns}, {_ai_enabled_column("ct")}
        FROM "{Contact._meta.db_table}" ct WHERE ct."id" = %(contact_id)s FOR UPDATE OF ct"""
    return sql, fields


def _locked_contact_and_current(contact_id: int, client_id: str | None) -> tuple[Contact, Conversation | None]:
    """The contact, row-locked, with `ai_enabled` as in `_current_for_post`; then, under that
    lock, the contact's current conversation as `_current_for_post` finds it. Two statements
    sent together (one round trip); the second starts once the first holds the lock, so it
    sees any conversation opened by whoever held the lock before."""
    lock_sql, fields = _locked_contact_sql()
    current_sql = _current_for_post_sql()[0]
    with connection.cursor() as cursor:
        cursor.execute(f"{lock_sql};\n{current_sql}", {"contact_id": contact_id, "client_id": client_id})
        row = cursor.fetchone()
        cursor.nextset()
        current = cursor.fetchone()
    if row is None:
        raise Contact.DoesNotExist
    contact = _from_db(Contact, fields, row[:-1])
    contact.ai_enabled = row[-1]
    return contact, _conversation_from_row(current)


def _from_db(model, fields: list, values) -> object:
    return model.from_db(
        connection.alias,
        [f.attname for f in fields],
        [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v for f, v in zip(fields, values)],
    )


def _current_for_post(contact_id: int, client_id: str | None) -> Conversation | None:
    """The contact's current conversation, row-locked, with its contact and two more
    attributes: `ai_enabled` (None while the workspace has no AI settings) and `saved_id`
    (the message already saved under `client_id`, if any)."""
    with connection.cursor() as cursor:
        cursor.execute(_current_for_post_sql()[0], {"contact_id": contact_id, "client_id": client_id})
        return _conversation_from_row(cursor.fetchone())


def _conversation_from_row(row) -> Conversation | None:
    if row is None:
        return None
    conv_fields, contact_fields = _current_for_post_sql()[1:]
    split = len(conv_fields)
    conversation = _from_db(Conversation, conv_fields, row[:split])
    conversation.contact = _from_db(Contact, contact_fields, row[split : split + len(contact_fields)])
    conversation.ai_enabled, conversation.saved_id = row[-2:]
    return conversation


def _inserted_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]


def _insert_sql(model, replace: dict[str, str] | None = None) -> str:
    """INSERT INTO the model's table, one %s per field of _inserted_fields (or the SQL in
    `replace`, by column), RETURNING the id."""
    fields = _inserted_fields(model)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    values = ", ".join((replace or {}).get(f.column, "%s") for f in fields)
    return f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES ({values}) RETURNING "id"'


@functools.cache
def _save_sql(touched: tuple[str, ...], new_conversation: bool) -> str:
    """One statement that INSERTs a message and either INSERTs its conversation first or
    UPDATEs the conversation's `touched` fields (a message always moves its conversation's
    last_message_at). It returns the conversation's id and the message's."""
    if new_conversation:
        conversation_column = Message._meta.get_field("conversation").column
        return f"""WITH cv AS ({_insert_sql(Conversation)}),
            m AS ({_insert_sql(Message, {conversation_column: '(SELECT "id" FROM cv)'})})
            SELECT (SELECT "id" FROM cv), (SELECT "id" FROM m)"""
    sets = ", ".join(f'"{Conversation._meta.get_field(name).column}" = %s' for name in touched)
    return f"""WITH m AS ({_insert_sql(Message)}),
        c AS (UPDATE "{Conversation._meta.db_table}" SET {sets} WHERE "id" = %s)
        SELECT NULL, "id" FROM m"""


def _prepared(obj, fields) -> list:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def _save_new_message(message: Message, conversation: Conversation, touched: list[str], new_conversation: bool) -> None:
    """Save a new message with, in the same statement, its new conversation or the
    conversation's `touched` fields: what Conversation.save and Message.save would write, in
    one round trip instead of two, and with much less Python time (bench/delivery.py)."""
    params = []
    if new_conversation:
        params += _prepared(conversation, _inserted_fields(Conversation))
        params += [
            v
            for f, v in zip(_inserted_fields(Message), _prepared(message, _inserted_fields(Message)))
            if f.name != "conversation"
        ]
    else:
        params += _prepared(message, _inserted_fields(Message))
        if touched:
            fields = [Conversation._meta.get_field(name) for name in touched]
            params += [f.get_db_prep_save(getattr(conversation, f.attname), connection) for f in fields]
            params.append(conversation.pk)
    with connection.cursor() as cursor:
        cursor.execute(_save_sql(tuple(touched), new_conversation), params)
        conversation_id, message.pk = cursor.fetchone()
    if new_conversation:
        conversation.pk = conversation_id
        conversation._state.adding = False
        conversation._state.db = connection.alias
    message.conversation = conversation
    message._state.adding = False
    message._state.db = connection.alias


def _post_customer_message(visitor: Visitor, body: str, client_id: str | None, page_url: str) -> Message:
    now = timezone.now()
    with transaction.atomic():
        # A visitor known to have no conversation yet (see visitor_for_token) goes straight to
        # the contact's lock; the lookup under the lock finds any conversation all the same.
        known_new = getattr(visitor, "has_conversation", None) is False
        conversation = None if known_new else _current_for_post(visitor.contact_id, client_id)
        created = False
        if conversation is None:
            # The contact's first message: the contact's lock makes sure that only one of two
            # first messages at once opens a conversation.
            contact, conversation = _locked_contact_and_current(visitor.contact_id, client_id)
            if conversation is None:
                created = True
                conversation = Conversation(
                    workspace_id=contact.workspace_id,
                    contact=contact,
                    page_url=page_url,
                    last_message_at=now,
                    last_customer_message_at=now,
                    last_message_preview=_preview(body),
                )
                conversation.ai_enabled = contact.ai_enabled
        if not created and conversation.saved_id:
            return Message.objects.select_related("conversation").get(pk=conversation.saved_id)
        contact = conversation.contact
        message = Message(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.CUSTOMER,
            body=body,
            client_id=client_id or None,
            created_at=now,
        )
        touched = []
        if not created:
            conversation.last_message_at = now
            conversation.last_customer_message_at = now
            conversation.last_message_preview = _preview(body)
            touched = ["last_message_at", "last_customer_message_at", "last_message_preview"]
            if conversation.status == Conversation.Status.RESOLVED:
                touched += _reopen(conversation)
            if page_url and not conversation.page_url:
                conversation.page_url = page_url
                touched.append("page_url")
        _save_new_message(message, conversation, touched, new_conversation=created)
        moved = bool(page_url) and page_url != contact.last_page_url
        if moved or contact.last_seen_at is None or now - contact.last_seen_at >= LAST_SEEN_PRECISION:
            contact.last_seen_at = now
            if moved:
                contact.last_page_url = page_url
            contact.save(update_fields=["last_seen_at", "last_page_url"])
        message.conversation = conversation
        events.message_created(message, notify=True)
        _after_customer_message(conversation, message, created)
    return message


def _after_customer_message(conversation: Conversation, message: Message, created: bool) -> None:
    """The AI answers when it is on; otherwise a new conversation may get the away reply.

    The answer is enqueued inside the message's transaction (tasks are rows in the same
    database, and the workers' NOTIFY is sent on commit): a saved message always has its answer
    task, and the two are committed together, in one write to disk instead of two. The away
    reply is enqueued after the commit, once the message's pushes have gone out, to run
    AWAY_REPLY_DELAY_SECONDS later; its task then asks whether anyone is there to answer."""
    from helpdesk.ai.agent import settings_for

    ai_enabled = conversation.ai_enabled
    if ai_enabled is None:  # the workspace has no AI settings yet
        ai_enabled = settings_for(conversation.workspace_id).enabled
    if ai_enabled and not conversation.ai_paused:
        from helpdesk.ai.tasks import answer

        answer.enqueue(message.pk)
    elif created:
        job = functools.partial(_enqueue_away_reply, conversation.pk)
        transaction.on_commit(lambda: broadcast.after_sends(job))


def _enqueue_away_reply(conversation_id: int) -> None:
    from helpdesk.conversations.tasks import send_away_reply

    delay = settings.AWAY_REPLY_DELAY_SECONDS
    task = send_away_reply.using(run_after=timezone.now() + timedelta(seconds=delay)) if delay else send_away_reply
    task.enqueue(conversation_id)


def post_agent_reply(conversation: Conversation, agent: User, body: str, *, private: bool = False) -> Message:
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
            created_at=now,
        )
        fields = ["agent_last_seen_at"]
        conversation.agent_last_seen_at = now
        if not private:
            conversation.last_message_at = now
            conversation.last_message_preview = _preview(body)
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
        conversation.save(update_fields=fields)
        message.conversation = conversation
        events.message_created(message)
        if "status" in fields or "assignee" in fields:
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
    return ["status", "resolved_at", "ai_resolved"]


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
        conversation.last_message_preview = _preview(body)
        fields = ["last_message_at", "last_message_preview"]
        if conversation.status in (Conversation.Status.NEW, Conversation.Status.OPEN):
            conversation.status = Conversation.Status.PENDING  # waiting on the customer
            fields.append("status")
        conversation.save(update_fields=fields)
        message.conversation = conversation
        events.message_created(message)
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
        fields = ["status", "assignee", "ai_paused", "escalation_reason", "resolved_at", "ai_resolved"]
        if conversation.handed_over_at is None:
            conversation.handed_over_at = timezone.now()
            fields.append("handed_over_at")
        conversation.save(update_fields=fields)
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author_kind=Message.Author.SYSTEM,
            body=text,
        )
        message.conversation = conversation
        events.message_created(message)
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
        conversation.save(update_fields=["ai_paused", "escalation_reason"])
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


def post_away_reply(conversation: Conversation) -> Message | None:
    """The workspace's away message, once per conversation, unless someone answered already."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workspace", "contact")
            .get(pk=conversation.pk)
        )
        text = conversation.workspace.away_message.strip()
        answered = conversation.messages.filter(private=False).exclude(author_kind=Message.Author.CUSTOMER).exists()
        if not text or answered:
            return None
        return _system_note(conversation, text, private=False)


def mark_seen_by_agent(conversation: Conversation) -> None:
    """Saved, and set on `conversation` too (no need to read it back). A conversation with
    nothing unread is left alone: opening it again writes nothing."""
    if not conversation.is_unread:
        return
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(agent_last_seen_at=now)
    conversation.agent_last_seen_at = now
