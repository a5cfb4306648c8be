"""The invitation email, composed and sent by the worker (helpdesk.team.tasks): the link that
the inviter was shown, made again from the invitation's row (see Invitation)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.team.models import Invitation, invitation_url


def send_invitation_email(invitation_id: int, base_url: str) -> bool:
    """Email the invitation's link if an email is due. Re-running after the email went out does
    nothing, and a crash before the commit leaves the email due."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("workspace", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.sent_at is not None or not invitation.is_pending:
            return False
        token = invitation.link_token()
        if token is None:
            # Made before inviters were shown links, or SECRET_KEY changed since the link was
            # made: a new link (the one the inviter saw, if any, stops working).
            token = invitation.new_link()
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["token_hash", "token_nonce", "sent_at"])
        context = {
            "invitation": invitation,
            "workspace": invitation.workspace,
            "inviter": invitation.invited_by.display_name if invitation.invited_by else "Your team",
            "link": invitation_url(base_url, token),
        }
        subject = render_to_string("team/invitation_subject.txt", context).strip()
        body = render_to_string("team/invitation_email.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return True
