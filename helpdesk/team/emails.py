"""The invitation email, composed and sent by the worker (helpdesk.team.tasks): a fresh link
each time one is due, of which only the token's hash is kept."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from helpdesk.lib.tokens import hash_token
from helpdesk.team.models import Invitation, new_invitation_token


def send_invitation_email(invitation_id: int, base_url: str) -> bool:
    """Email a fresh link if one is due. Only the token's hash is kept; re-running after the
    email went out does nothing, and a crash before the commit leaves the email due."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("workspace", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.sent_at is not None or not invitation.is_pending:
            return False
        token = new_invitation_token()
        invitation.token_hash = hash_token(token)
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["token_hash", "sent_at"])
        context = {
            "invitation": invitation,
            "workspace": invitation.workspace,
            "inviter": invitation.invited_by.display_name if invitation.invited_by else "Your team",
            "link": base_url.rstrip("/") + reverse("accept_invite", args=[token]),
        }
        subject = render_to_string("team/invitation_subject.txt", context).strip()
        body = render_to_string("team/invitation_email.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return True
