"""Email: each workspace's address, each conversation's email thread, and every mail that came
in or went out (kept whole: nothing a customer sent is lost, even when it cannot be placed)."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from helpdesk.conversations.models import Conversation, Message
from helpdesk.workspace.models import Workspace

# Local parts that belong to the mail system itself, never to a workspace.
RESERVED = {"postmaster", "abuse", "mailer-daemon", "noreply", "no-reply", "reply", "bounce", "bounces", "root"}


class MailSettings(models.Model):
    """A workspace's email: its support address is `<slug>@<INBOUND_EMAIL_DOMAIN>`."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="mail_settings")
    slug = models.SlugField(max_length=40, unique=True)

    class Meta:
        verbose_name_plural = "mail settings"

    def __str__(self) -> str:
        return self.slug


def free_slug(name: str, exclude_workspace: int | None = None) -> str:
    base = (slugify(name)[:34].strip("-") or "support").lower()
    if base in RESERVED:
        base = f"{base}-team"
    taken = MailSettings.objects.filter(slug__startswith=base)
    if exclude_workspace is not None:
        taken = taken.exclude(workspace_id=exclude_workspace)
    used = set(taken.values_list("slug", flat=True))
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def ensure_settings(workspace: Workspace) -> MailSettings:
    found = MailSettings.objects.filter(workspace=workspace).first()
    if found is not None:
        return found
    for _ in range(5):
        try:
            with transaction.atomic():
                return MailSettings.objects.create(workspace=workspace, slug=free_slug(workspace.name))
        except IntegrityError:  # another process took the slug (or made the row) meanwhile
            found = MailSettings.objects.filter(workspace=workspace).first()
            if found is not None:
                return found
    raise RuntimeError("no free address for the workspace")


def give_address(sender, instance: Workspace, created: bool, raw: bool = False, **kwargs) -> None:
    """A new workspace gets its address at once, so mail to it can be placed from the start."""
    if created and not raw:
        ensure_settings(instance)


def new_token() -> str:
    return secrets.token_hex(12)


class EmailThread(models.Model):
    """A conversation's side in email: the token of its reply address
    (`reply+<token>@<INBOUND_EMAIL_DOMAIN>`), its subject, and how far it was emailed."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="email_thread")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    subject = models.CharField(max_length=250, blank=True)
    emailed_up_to = models.BigIntegerField(default=0, help_text="The newest message id sent by email.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"thread of conversation {self.conversation_id}"


class OutboundEmail(models.Model):
    """One email sent to a customer: the messages it carried, and its Message-ID (a reply
    that quotes it in In-Reply-To or References comes back to this conversation)."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply in an email conversation"
        CONTINUITY = "continuity", "Widget messages the visitor had not seen"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="outbound_emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    messages = models.JSONField(default=list, help_text="The ids of the messages it carried.")
    files = models.JSONField(default=list, help_text="The ids of the attachments it carries.")
    message_id = models.CharField(max_length=250, unique=True)
    from_header = models.CharField(max_length=400)
    to = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254)
    subject = models.CharField(max_length=250)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True)
    automatic = models.BooleanField(default=False, help_text="Only the AI's or the system's words (Auto-Submitted).")
    text = models.TextField()
    html = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "message_id"], name="outbound_thread")]

    def __str__(self) -> str:
        return f"{self.message_id} to {self.to}"


def _fernet() -> Fernet:
    key = hashlib.sha256(("helpdesk-mailbox-password:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class Mailbox(models.Model):
    """A workspace's existing mailbox (Gmail, Outlook, any IMAP server), watched by the worker:
    what arrives in its folder is placed like mail to the workspace's address."""

    class Security(models.TextChoices):
        SSL = "ssl", "SSL/TLS (port 993)"
        STARTTLS = "starttls", "STARTTLS (port 143)"
        NONE = "none", "None (only on a private network)"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="mailbox")
    enabled = models.BooleanField(default=True)
    email_address = models.EmailField(help_text="The address customers write to, e.g. support@yourcompany.com.")
    host = models.CharField(max_length=253, help_text="e.g. imap.gmail.com")
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=254)
    password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(max_length=200, default="INBOX")
    # Where the worker is in the folder: mail up to last_uid (of this UIDVALIDITY) is taken.
    uid_validity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.username} at {self.host}"

    @property
    def password(self) -> str:
        if not self.password_encrypted:
            return ""
        try:
            return _fernet().decrypt(self.password_encrypted.encode()).decode()
        except InvalidToken:
            return ""

    @password.setter
    def password(self, raw: str) -> None:
        self.password_encrypted = _fernet().encrypt(raw.encode()).decode() if raw else ""


class InboundEmail(models.Model):
    """One mail that came in, whole (its raw bytes), and where it went."""

    class Status(models.TextChoices):
        PLACED = "placed", "Placed in a conversation"
        AUTOMATIC = "automatic", "Automatic mail (kept, not answered)"
        UNPLACED = "unplaced", "Could not be placed"
        REFUSED = "refused", "Refused"

    class Source(models.TextChoices):
        SMTP = "smtp", "Receiving server"
        IMAP = "imap", "Mailbox"
        WEBHOOK = "webhook", "Provider webhook"

    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_emails"
    )
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_email"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    envelope_from = models.CharField(max_length=254, blank=True)
    recipients = models.TextField(blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    message_id_header = models.CharField("Message-ID", max_length=250, blank=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    # Fetched from a mailbox: which message of its folder (taken once, see helpdesk.mail.imap).
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    imap_uid_validity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "message_id_header"], name="inbound_thread"),
            models.Index(fields=["workspace", "status", "-received_at"], name="inbound_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "imap_uid_validity", "imap_uid"],
                condition=models.Q(mailbox__isnull=False),
                name="inbound_once_per_mailbox_uid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.subject[:40]} from {self.from_address}"
