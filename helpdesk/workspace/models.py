"""A workspace (one business: its widget, its people, its conversations) and its activity log."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


def new_public_token() -> str:
    return "wt_" + secrets.token_urlsafe(18)


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


hex_color = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour like #1f6feb.")


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
    # Offer the visitor to leave an email address before their first message, not only while
    # the team is away or after a handover (the widget's email offer; skippable either way).
    widget_ask_email_first = models.BooleanField(default=False)
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
    # What the open widgets were last told (online / away / closed; "" before the first push):
    # helpdesk.accounts.presence.refresh_widgets pushes a change once, whichever process sees it.
    widget_availability = models.CharField(max_length=10, blank=True, default="", editable=False)
    allowed_domains = models.TextField(
        blank=True,
        help_text="One origin or host a line (https://example.com, *.example.com). Empty: any site may embed the widget.",
    )

    class Meta:
        ordering = ["id"]
        db_table = "accounts_workspace"  # made in the accounts app, whose table it keeps

    def __str__(self) -> str:
        return self.name

    def allowed_domain_list(self) -> list[str]:
        return [line.strip() for line in self.allowed_domains.splitlines() if line.strip()]

    def clean(self) -> None:
        for entry in self.allowed_domain_list():
            if not re.fullmatch(r"(https?://)?(\*\.)?[a-z0-9.-]+(:\d+)?", entry.lower()):
                raise ValidationError({"allowed_domains": f"Not a domain or origin: {entry!r}"})


class Activity(models.Model):
    """Who changed what, when: the workspace's activity log, read by admins."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=80)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> list[tuple[str, object]]:
        """The detail as (name, value) pairs for the log page: changed fields first, then the rest."""
        detail = dict(self.detail or {})
        pairs = list((detail.pop("changed", None) or {}).items())
        return pairs + list(detail.items())
