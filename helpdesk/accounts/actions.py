"""Password resets: asked for on the web, rate-limited, emailed by the worker.

Someone who knows an address can ask for its reset link as often as they like, so an address
gets at most PASSWORD_RESET_LIMIT_PER_ADDRESS emails an hour: beyond that nothing is sent, and
the page says exactly what it says otherwise (whether the address has an account, or was asked
for too often, never shows). One IP address may ask PASSWORD_RESET_LIMIT_PER_IP times an hour
(the view answers 429 past that). The email goes out from the worker: SMTP is another system,
and the web request does not wait for it.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import transaction

from helpdesk.accounts.emails import may_reset
from helpdesk.accounts.models import User
from helpdesk.accounts.tasks import send_password_reset
from helpdesk.lib import ratelimit

HOUR = 3600
LOGIN_EMAIL_SCOPE = "login-email"  # the sign-in failures of one address (accounts.forms)


def reset_allowed_from(ip: str) -> bool:
    """Count one reset request from `ip`; False once it has asked too often this hour."""
    return ratelimit.hit_within("password-reset-ip", ip, settings.PASSWORD_RESET_LIMIT_PER_IP, window=HOUR)


def request_password_reset(email: str, base_url: str) -> None:
    """Queue the reset email for the account of `email`, if there is one and the address has
    not had its share this hour. Says nothing either way."""
    email = email.strip().lower()
    if not ratelimit.hit_within("password-reset-email", email, settings.PASSWORD_RESET_LIMIT_PER_ADDRESS, window=HOUR):
        return
    for user in User.objects.filter(email__iexact=email):
        if may_reset(user):
            transaction.on_commit(functools.partial(send_password_reset.enqueue, user.pk, base_url))


def password_was_reset(user: User) -> None:
    """A completed reset lifts the sign-in lockout of the address: the lockout told them to reset."""
    ratelimit.clear_failures(LOGIN_EMAIL_SCOPE, user.email.lower())
