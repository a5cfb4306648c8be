"""Changes to a workspace's canned responses, each saved and recorded in the activity log in
one transaction."""

from __future__ import annotations

from django.db import transaction

from helpdesk.accounts.models import User
from helpdesk.canned.forms import CannedResponseForm
from helpdesk.canned.models import CannedResponse
from helpdesk.workspace import activity


def save_canned_response(form: CannedResponseForm, actor: User) -> CannedResponse:
    with transaction.atomic():
        created = form.instance.pk is None
        if created:
            form.instance.created_by = actor
        canned = form.save()
        if created:
            activity.record(canned.workspace, actor, "canned.created", shortcut=canned.shortcut)
        else:
            activity.record(canned.workspace, actor, "canned.updated", shortcut=canned.shortcut, **activity.diff(form))
    return canned


def delete_canned_response(canned: CannedResponse, actor: User) -> None:
    with transaction.atomic():
        workspace, shortcut = canned.workspace, canned.shortcut
        canned.delete()
        activity.record(workspace, actor, "canned.deleted", shortcut=shortcut)
