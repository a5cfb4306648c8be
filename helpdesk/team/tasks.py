"""Background tasks of the team. They take IDs and re-read: the row may have changed."""

from __future__ import annotations

from django_tasks import task

from helpdesk.team import emails


@task()
def send_invitation(invitation_id: int, base_url: str) -> None:
    emails.send_invitation_email(invitation_id, base_url)
