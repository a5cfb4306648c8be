"""Background tasks of the accounts. They take IDs and re-read: the row may have changed."""

from __future__ import annotations

from django_tasks import task

from helpdesk.accounts import emails


@task()
def send_password_reset(user_id: int, base_url: str) -> None:
    emails.send_password_reset_email(user_id, base_url)
