from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from helpdesk.ai.provider import ProviderConfig
from helpdesk.workspace.models import Workspace

# Where the openai client goes when OPENAI_BASE_URL is blank: the server's own endpoint then.
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _fernet() -> Fernet:
    key = hashlib.sha256(("helpdesk-api-key:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class AISettings(models.Model):
    """How a workspace's AI agent behaves. A blank base URL means the server's OPENAI_* provider (see provider_config)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="ai_settings")
    enabled = models.BooleanField(default=True)
    base_url = models.URLField(blank=True, help_text="OpenAI-compatible API base URL. Empty: OPENAI_BASE_URL.")
    api_key_encrypted = models.TextField(blank=True, editable=False)
    chat_model = models.CharField(max_length=100, default="gpt-4o-mini")
    embedding_model = models.CharField(max_length=100, blank=True)
    temperature = models.FloatField(default=0.7)
    max_tokens = models.PositiveIntegerField(default=500)
    timeout = models.FloatField(default=30.0)
    retries = models.PositiveSmallIntegerField(default=2)
    history_length = models.PositiveSmallIntegerField(default=10)
    fallback_message = models.CharField(
        max_length=500,
        default="Sorry, I can't answer that right now. I've passed your question to our team, and a person will reply here.",
    )
    business_name = models.CharField(max_length=120, blank=True)
    business_description = models.TextField(blank=True)
    instructions = models.TextField(blank=True, help_text="Extra instructions for the AI agent.")
    links = models.TextField(blank=True, help_text="Useful links, one a line.")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"AI settings of {self.workspace}"

    @classmethod
    def for_workspace(cls, workspace: Workspace | int) -> AISettings:
        """The workspace's AI settings, made with the defaults the first time they are asked for."""
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        row, _ = cls.objects.get_or_create(
            workspace_id=workspace_id, defaults={"chat_model": settings.OPENAI_CHAT_MODEL}
        )
        return row

    @property
    def api_key(self) -> str:
        """The saved key; "" when there is none or it cannot be read (api_key_unreadable)."""
        return self._decrypted_key() or ""

    @api_key.setter
    def api_key(self, raw: str) -> None:
        self.api_key_encrypted = _fernet().encrypt(raw.encode()).decode() if raw else ""

    @property
    def api_key_is_set(self) -> bool:
        return bool(self.api_key_encrypted)

    @property
    def api_key_unreadable(self) -> bool:
        """A key is saved but cannot be decrypted (SECRET_KEY changed): it must be set again.
        Until then it is never used, nor replaced by the server's key."""
        return bool(self.api_key_encrypted) and self._decrypted_key() is None

    def _decrypted_key(self) -> str | None:
        if not self.api_key_encrypted:
            return ""
        try:
            return _fernet().decrypt(self.api_key_encrypted.encode()).decode()
        except InvalidToken:
            return None

    def provider_config(self, *, timeout: float | None = None, retries: int | None = None) -> ProviderConfig | None:
        """The endpoint and key this workspace's AI calls (chat, suggestions, Test connection
        and embeddings alike), or None when it cannot call any (its saved key is unreadable).

        The server's OPENAI_API_KEY goes only to the server's own OPENAI_BASE_URL (OpenAI's
        API when that is blank): the workspace's base URL is blank or the same. A workspace
        that sets another base URL sends its own key, or none, and connects through the
        outbound guard; the server's endpoint is the operator's and is not guarded."""
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        key = self._decrypted_key()
        if key is None:
            return None
        if is_server_endpoint(self.base_url):
            return ProviderConfig(
                base_url=settings.OPENAI_BASE_URL,
                api_key=key or settings.OPENAI_API_KEY,
                timeout=timeout,
                retries=retries,
                guarded=False,
            )
        return ProviderConfig(base_url=self.base_url, api_key=key, timeout=timeout, retries=retries, guarded=True)


def is_server_endpoint(base_url: str) -> bool:
    """Whether a workspace's base URL is the server's own provider: blank, or the same as
    OPENAI_BASE_URL (OpenAI's API when that is blank). Trusted, and given the server's key."""
    return not base_url or same_endpoint(base_url, settings.OPENAI_BASE_URL or OPENAI_DEFAULT_BASE_URL)


def same_endpoint(a: str, b: str) -> bool:
    """Whether two base URLs name the same endpoint (scheme, host, port and path; the case of
    the scheme and host, a default port and a trailing slash aside)."""
    return _endpoint(a) == _endpoint(b)


def _endpoint(url: str) -> tuple:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").rstrip("."), port, parts.path.rstrip("/"), parts.query


class GuidanceRule(models.Model):
    class Kind(models.TextChoices):
        TONE = "tone", "Tone"
        ESCALATION = "escalation", "Escalation"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="guidance_rules")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=120)
    content = models.TextField(
        help_text="Plain language. For escalation rules, a line 'keywords: a, b, c' also hands over whenever a message contains one of them."
    )
    active = models.BooleanField(default=True)
    channels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                "workspace",
                "kind",
                Lower("name"),
                name="ai_guidancerule_unique_name",
                violation_error_message="A rule of this kind already has this name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    def keywords(self) -> list[str]:
        words: list[str] = []
        for line in self.content.splitlines():
            head, _, rest = line.partition(":")
            if head.strip().lower() == "keywords":
                words += [w.strip().lower() for w in rest.split(",") if w.strip()]
        return words


class AIRun(models.Model):
    """One AI answer to one customer message: the key that makes a retried task idempotent."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        ANSWERED = "answered", "Answered"
        HANDED_OVER = "handed_over", "Handed over"
        SKIPPED = "skipped", "Skipped"

    trigger = models.OneToOneField("conversations.Message", on_delete=models.CASCADE, related_name="ai_run")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="ai_runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    reply = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"AI run {self.pk} for message {self.trigger_id}: {self.status}"


class Feedback(models.Model):
    """A visitor's rating of an AI answer."""

    class Rating(models.TextChoices):
        UP = "up", "Helpful"
        DOWN = "down", "Not helpful"

    message = models.OneToOneField("conversations.Message", on_delete=models.CASCADE, related_name="feedback")
    rating = models.CharField(max_length=4, choices=Rating.choices)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.get_rating_display()} for message {self.message_id}"
