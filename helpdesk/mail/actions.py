"""The writes of email settings, logged in the workspace's activity."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.mail.forms import AddressForm, MailboxForm
from helpdesk.mail.models import Mailbox
from helpdesk.workspace import activity


def change_address(form: AddressForm, actor: User) -> None:
    with transaction.atomic():
        detail = activity.diff(form)
        row = form.save()
        activity.record(row.workspace, actor, "email.address_changed", **detail)


# A change to any of these starts the mailbox afresh: from the mail that arrives next.
WHERE = ("host", "port", "username", "folder")


def save_mailbox(form: MailboxForm, actor: User) -> Mailbox:
    """Save the mailbox; its watcher (in a worker) reconnects with the new settings."""
    with transaction.atomic():
        detail = activity.diff(form)  # the password shows as "changed", never its value
        mailbox = form.save(commit=False)
        form.apply_password(mailbox)
        if any(name in form.changed_data for name in WHERE):
            mailbox.uid_validity, mailbox.last_uid = None, 0
        mailbox.updated_at = timezone.now()
        mailbox.last_error = ""
        mailbox.save()
        activity.record(mailbox.workspace, actor, "email.mailbox_saved", **detail)
    return mailbox


def remove_mailbox(mailbox: Mailbox, actor: User) -> None:
    with transaction.atomic():
        workspace = mailbox.workspace
        mailbox.delete()
        activity.record(workspace, actor, "email.mailbox_removed", host=mailbox.host, username=mailbox.username)
