from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import connection, models, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from helpdesk.conversations import names
from helpdesk.lib.markdown import MARKDOWN_AUTHORS
from helpdesk.workspace.models import Workspace


class Contact(models.Model):
    """A customer: anonymous until identified, verified when the host page proves who it is."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    verified = models.BooleanField(default=False)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # The address is the customer's by proof: the host page's server vouched for it (a signed
    # identify). An address typed into the widget, or given by an unsigned identify, is not
    # (until the customer answers an email sent to it: a later step of email continuity).
    email_verified = models.BooleanField(default=False)
    traits = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_page_url = models.URLField(max_length=2000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(verified=True),
                name="contact_unique_verified_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "email"]),
            # a mail's sender, found whatever the case of the address (email__iexact)
            models.Index(Upper("email"), "workspace", name="contact_email_any_case"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.generated_name

    @property
    def generated_name(self) -> str:
        """A readable name for an anonymous contact ("Amber Otter"), the same on every page
        and in every process because it is derived from the id, never stored: see
        `names.generated_name`."""
        return names.generated_name(self.pk)

    @property
    def initials(self) -> str:
        return names.initials(self.display_name)

    @property
    def avatar(self) -> int:
        """The colour of the contact's avatar, 0 to names.AVATAR_COLOURS - 1 (CSS `avatar-N`)."""
        return names.avatar_colour(self.pk)


class Visitor(models.Model):
    """One browser that opened the widget. Known to the server only by the hash of its token."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="visitors")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="visitors")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Visitor {self.pk} of {self.contact}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        ON_HOLD = "on_hold", "On hold"
        RESOLVED = "resolved", "Resolved"

    class Priority(models.IntegerChoices):
        NONE = 0, "None"
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    class Channel(models.TextChoices):
        WIDGET = "widget", "Chat widget"
        EMAIL = "email", "Email"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.WIDGET)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NONE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    ai_resolved = models.BooleanField(default=False)
    ai_paused = models.BooleanField(
        default=False, help_text="The AI stays quiet until an agent hands the conversation back."
    )
    escalation_reason = models.CharField(max_length=200, blank=True)
    # When the conversation was first handed to a person (by the AI or its rules): a
    # conversation handed over is never "resolved by the AI", even after it is handed back.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    # Since when the visitor has waited for a person: set by a handover, cleared when an agent
    # replies to the visitor, hands the conversation back to the AI, or it is resolved.
    waiting_since = models.DateTimeField(null=True, blank=True)
    page_url = models.URLField(max_length=2000, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    agent_last_seen_at = models.DateTimeField(null=True, blank=True)
    # The newest message the customer has seen in an open widget (the widget says so): what
    # is newer and from the team is emailed to them after a while (helpdesk.mail.continuity).
    customer_seen_id = models.BigIntegerField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            # the inbox: newest activity first, keyset on (last_message_at, id)
            models.Index(fields=["workspace", "-last_message_at", "-id"], name="conv_inbox_all"),
            models.Index(fields=["workspace", "status", "-last_message_at", "-id"], name="conv_inbox_status"),
            models.Index(fields=["workspace", "assignee", "-last_message_at", "-id"], name="conv_inbox_assignee"),
            models.Index(fields=["contact", "-created_at"], name="conv_contact"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.contact}"

    # The labels as the inbox prints them on every row: get_FOO_display() builds a dict of the
    # field's choices on each call.
    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS.get(self.priority, str(self.priority))

    @property
    def is_unread(self) -> bool:
        if self.last_customer_message_at is None:
            return False
        return self.agent_last_seen_at is None or self.last_customer_message_at > self.agent_last_seen_at


class ConversationCount(models.Model):
    """How many of a workspace's conversations have each status, assignee and priority: the
    inbox's counts in one small query, at any number of conversations.

    Kept by PostgreSQL triggers (migration 0005), whatever writes the conversation (the ORM, the
    hand-written statements of helpdesk/conversations/hotpath.py, the admin, a bulk load): a new
    conversation adds one, a deleted one takes one away, and a change of status, assignee or
    priority moves one from the old row to the new, in the writing transaction, so a count is
    exactly as current as the conversations it counts. The two rows of a move are locked in one
    order, so that two transactions moving conversations in opposite directions never wait for
    each other. `recount` rebuilds a workspace's rows from the conversations.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(max_length=10)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    priority = models.PositiveSmallIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "status", "assignee", "priority"],
                nulls_distinct=False,
                name="conversation_count_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.n} {self.status} of workspace {self.workspace_id}, assignee {self.assignee_id}, priority {self.priority}"

    @staticmethod
    def recount(workspace_id: int) -> None:
        """Rebuild the workspace's counts from its conversations (the triggers keep them; this is
        for repairs and for checking them)."""
        with transaction.atomic(), connection.cursor() as cursor:
            # Hold off writes to conversations meanwhile, as the migration that made the counts does.
            cursor.execute(f'LOCK TABLE "{Conversation._meta.db_table}" IN SHARE ROW EXCLUSIVE MODE')
            counts = list(
                Conversation.objects.filter(workspace_id=workspace_id)
                .values("status", "assignee_id", "priority")
                .annotate(total=models.Count("id"))
            )
            ConversationCount.objects.filter(workspace_id=workspace_id).delete()
            ConversationCount.objects.bulk_create(
                ConversationCount(
                    workspace_id=workspace_id,
                    status=c["status"],
                    assignee_id=c["assignee_id"],
                    priority=c["priority"],
                    n=c["total"],
                )
                for c in counts
            )


STATUS_LABELS = dict(Conversation.Status.choices)
PRIORITY_LABELS = dict(Conversation.Priority.choices)


class Message(models.Model):
    """One message in a conversation. Immutable once written."""

    class Author(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        AI = "ai", "AI"
        SYSTEM = "system", "System"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # No index of its own: msg_thread (conversation, id) serves every lookup by conversation,
    # and one index less is one write less for every message.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    author_kind = models.CharField(max_length=10, choices=Author.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    private = models.BooleanField(default=False)
    client_id = models.CharField(max_length=64, null=True, blank=True)
    # How a customer's message came when not by the conversation's own channel (a widget
    # conversation answered by email): "email", or blank.
    via = models.CharField(max_length=10, blank=True)
    sources = models.JSONField(default=list, blank=True)
    # How many files came with it: the message's rendering looks for them only when there
    # are some (most messages have none, and cost no query for it).
    attachment_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    search = models.GeneratedField(
        expression=SearchVector("body", config="simple"), output_field=SearchVectorField(), db_persist=True
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "client_id"], name="message_unique_client_id"),
        ]
        indexes = [
            models.Index(fields=["conversation", "id"], name="msg_thread"),
            GinIndex(fields=["search"], name="msg_search"),
        ]

    def __str__(self) -> str:
        return f"{self.author_kind}: {self.body[:40]}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Messages are immutable once written")
        super().save(*args, **kwargs)

    @property
    def is_public(self) -> bool:
        return not self.private

    @property
    def is_markdown(self) -> bool:
        """Agents and the AI write Markdown; customers and the system, plain text."""
        return self.author_kind in MARKDOWN_AUTHORS


def attachment_path(instance: Attachment, filename: str) -> str:
    """Never the file's own name (nor anything guessable): a random key in the workspace's folder."""
    return f"attachments/{instance.workspace_id}/{secrets.token_hex(16)}"


class Attachment(models.Model):
    """A file that came with a message (from the widget, the inbox or an email). Served only
    through signed, expiring links (helpdesk.conversations.attachments), never from its path."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    thumbnail = models.FileField(upload_to=attachment_path, max_length=300, blank=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["message", "id"], name="attachment_message")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return bool(self.thumbnail)
