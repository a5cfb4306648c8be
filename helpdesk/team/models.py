"""The team's invitations, and the links that open them."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from helpdesk.accounts.models import Membership
from helpdesk.lib.tokens import hash_token
from helpdesk.workspace.models import Workspace

INVITATION_LIFETIME = timedelta(days=7)


def invitation_expiry():
    return timezone.now() + INVITATION_LIFETIME


def invitation_url(base_url: str, token: str) -> str:
    """The address of the page that accepts an invitation: what the email and the inviter get."""
    return base_url.rstrip("/") + reverse("accept_invite", args=[token])


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Neither accepted nor revoked; may have expired."""
        return self.filter(accepted_at=None, revoked_at=None)

    def pending(self):
        """Open and still within its lifetime: the link in the email works."""
        return self.open().filter(expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An email address asked to join a workspace with a role.

    The link's token is never stored, nor passed to the worker: it is made from a random
    nonce and the server's SECRET_KEY (an HMAC), and only the nonce and the token's hash are
    kept. So the request that invites (or resends) can show the link once to the inviter, and
    the worker that emails it (`sent_at` is None while an email is due) makes the same token
    again from the same row: one link, in the email and on the inviter's screen, and nothing in
    the database or the task queue that opens it without the server's secret. Accepting looks
    the invitation up by the token's hash, so a later change of SECRET_KEY breaks no link
    already sent (one made but not yet emailed gets a new token when the email goes out).
    """

    ROLES = [(Membership.Role.AGENT, "Agent"), (Membership.Role.ADMIN, "Admin")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=ROLES, default=Membership.Role.AGENT)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    # The current link's token is HMAC(SECRET_KEY, nonce): see link_token.
    token_nonce = models.CharField(max_length=32, blank=True, editable=False)
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

    def new_link(self) -> str:
        """Give the invitation a new link (the previous one stops working once saved); return
        its token, for the inviter to see once and never to store."""
        self.token_nonce = secrets.token_urlsafe(16)
        token = self._token()
        self.token_hash = hash_token(token)
        return token

    def link_token(self) -> str | None:
        """The current link's token, made again from the nonce; None when the invitation has no
        nonce (made before links were shown to inviters) or when the token no longer matches
        the stored hash (SECRET_KEY changed since): then it needs a new link."""
        if not self.token_nonce:
            return None
        token = self._token()
        return token if hash_token(token) == self.token_hash else None

    def _token(self) -> str:
        digest = salted_hmac("helpdesk.team.Invitation.link", self.token_nonce, algorithm="sha256").digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
