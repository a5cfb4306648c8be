"""Changes to a workspace's set-up: each one saved, recorded in the activity log, and pushed
where it matters."""

from __future__ import annotations

from django.db import transaction

from helpdesk.accounts.models import User
from helpdesk.realtime import broadcast, codes, groups
from helpdesk.workspace import activity
from helpdesk.workspace.forms import WidgetForm
from helpdesk.workspace.models import Workspace, new_identity_secret, new_public_token


def update_widget(form: WidgetForm, actor: User) -> Workspace:
    with transaction.atomic():
        workspace = form.save()
        activity.record(workspace, actor, "widget.updated", **activity.diff(form))
    return workspace


def regenerate_public_token(workspace: Workspace, actor: User) -> Workspace:
    """The old token stops working at once, and the widgets still open with it are cut off."""
    with transaction.atomic():
        workspace.public_token = new_public_token()
        workspace.save(update_fields=["public_token"])
        activity.record(workspace, actor, "widget.token_regenerated")
        broadcast.close_group(groups.widget(workspace.pk), code=codes.CLOSED)
    return workspace


def regenerate_identity_secret(workspace: Workspace, actor: User) -> str:
    with transaction.atomic():
        workspace.identity_secret = new_identity_secret()
        workspace.save(update_fields=["identity_secret"])
        activity.record(workspace, actor, "widget.identity_secret_regenerated")
    return workspace.identity_secret
