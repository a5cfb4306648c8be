from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_public_token() -> str:
    return "wt_" + secrets.token_urlsafe(18)


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


hex_color = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour like #1f6feb.")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who works in the helpdesk: signs in with an email address."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(max_length=150, blank=True)
    notifications_enabled = models.BooleanField(
        default=True, help_text="Browser notification and sound for new customer messages while the tab is hidden."
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]


class Workspace(models.Model):
    """One business: its widget, its people, its conversations."""

    class Position(models.TextChoices):
        RIGHT = "right", "Bottom right"
        LEFT = "left", "Bottom left"

    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)
    public_token = models.CharField(max_length=64, unique=True, default=new_public_token, editable=False)
    identity_secret = models.CharField(max_length=64, default=new_identity_secret, editable=False)

    widget_enabled = models.BooleanField(default=True)
    widget_title = models.CharField(max_length=80, default="Hi there 👋")
    widget_subtitle = models.CharField(max_length=160, default="Ask us anything. We usually reply in a few minutes.")
    widget_greeting = models.CharField(max_length=500, default="Hello! How can we help you today?")
    widget_placeholder = models.CharField(max_length=80, default="Write a message…")
    widget_primary_color = models.CharField(max_length=7, default="#1f6feb", validators=[hex_color])
    widget_position = models.CharField(max_length=5, choices=Position.choices, default=Position.RIGHT)
    widget_show_availability = models.BooleanField(default=True)
    widget_branding_hidden = models.BooleanField(default=False)
    widget_company_name = models.CharField(max_length=80, blank=True)
    away_message = models.CharField(
        max_length=500,
        blank=True,
        default="Thanks for your message! We're away right now, but we'll reply here as soon as we're back.",
        help_text="Shown in the widget outside business hours, and sent automatically when a conversation starts while no agent is online or outside business hours. Empty: no auto-reply.",
    )
    timezone = models.CharField(max_length=64, default="UTC", help_text="Business hours are in this timezone.")
    business_hours_enabled = models.BooleanField(
        default=False,
        help_text="Outside business hours the widget shows the away message and new chats get it as a reply.",
    )
    business_hours = models.JSONField(
        default=dict, blank=True, help_text='{"mon": ["09:00", "17:00"], ...}; a missing day is closed.'
    )
    allowed_domains = models.TextField(
        blank=True,
        help_text="One origin or host a line (https://example.com, *.example.com). Empty: any site may embed the widget.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def allowed_domain_list(self) -> list[str]:
        return [line.strip() for line in self.allowed_domains.splitlines() if line.strip()]

    def clean(self) -> None:
        for entry in self.allowed_domain_list():
            if not re.fullmatch(r"(https?://)?(\*\.)?[a-z0-9.-]+(:\d+)?", entry.lower()):
                raise ValidationError({"allowed_domains": f"Not a domain or origin: {entry!r}"})


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        AGENT = "agent", "Agent"

    class Availability(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    is_active = models.BooleanField(default=True)
    availability = models.CharField(max_length=10, choices=Availability.choices, default=Availability.ONLINE)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace")]
        indexes = [models.Index(fields=["workspace", "availability", "last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)
