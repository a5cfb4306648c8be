"""The password reset email, composed and sent by the worker (helpdesk.accounts.tasks)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from helpdesk.accounts.models import User


def may_reset(user: User) -> bool:
    """Django's rule: resets are for active accounts that have a password."""
    return user.is_active and user.has_usable_password()


def send_password_reset_email(user_id: int, base_url: str) -> bool:
    """Email a fresh reset link, if the account may still reset (re-read: it may have been
    deactivated since it was asked for). The token is made now, from the account as it is now."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not may_reset(user):
        return False
    url = urlsplit(base_url)
    context = {
        "email": user.email,
        "domain": url.netloc,
        "protocol": url.scheme,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
    }
    subject = "".join(render_to_string("accounts/password_reset_subject.txt", context).splitlines())
    body = render_to_string("accounts/password_reset_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True
