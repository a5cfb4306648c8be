"""The team's invitations."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from helpdesk.accounts.models import Membership
from helpdesk.workspace.models import Workspace

INVITATION_LIFETIME = timedelta(days=7)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


def invitation_expiry():
    return timezone.now() + INVITATION_LIFETIME


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Neither accepted nor revoked; may have expired."""
        return self.filter(accepted_at=None, revoked_at=None)

    def pending(self):
        """Open and still within its lifetime: the link in the email works."""
        return self.open().filter(expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An email address asked to join a workspace with a role.

    Only a hash of the link's token is stored. The worker makes a fresh token each time it
    sends the email (`sent_at` is None while an email is due), so the raw token exists only
    in the email itself.
    """

    ROLES = [(Membership.Role.AGENT, "Agent"), (Membership.Role.ADMIN, "Admin")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=ROLES, default=Membership.Role.AGENT)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invitation_expiry)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at=None, revoked_at=None),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace} ({self.role})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired
