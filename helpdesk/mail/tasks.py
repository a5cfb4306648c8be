"""Background tasks of email. They take IDs and re-read: the rows may have changed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from helpdesk.mail import outgoing


@task()
def send_email(conversation_id: int, kind: str) -> None:
    """Prepare the conversation's email of what is not sent yet, then send it."""
    email = outgoing.prepare(conversation_id, kind)
    if email is not None:
        _deliver(email.pk)


@task()
def deliver_email(email_id: int) -> None:
    _deliver(email_id)


def _deliver(email_id: int) -> None:
    """Send a prepared email; a failure is tried again later (after 1, 2, 4, 8 minutes)."""
    if outgoing.deliver(email_id):
        return
    attempts = outgoing.attempts(email_id)
    if attempts < outgoing.MAX_ATTEMPTS:
        due = timezone.now() + timedelta(minutes=2 ** (attempts - 1))
        deliver_email.using(run_after=due).enqueue(email_id)
