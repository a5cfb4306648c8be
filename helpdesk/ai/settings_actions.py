"""Changes to a workspace's AI set-up: its settings and its guidance rules. Each one is saved and
recorded in the activity log in one transaction. The API key is never recorded, only that it
changed or was cleared."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.ai.forms import AISettingsForm, GuidanceRuleForm
from helpdesk.ai.models import AISettings, GuidanceRule
from helpdesk.knowledge import embeddings
from helpdesk.knowledge.tasks import reembed_workspace
from helpdesk.workspace import activity

KEY_FIELDS = ("api_key", "clear_api_key")


def update_settings(form: AISettingsForm, actor: User) -> AISettings:
    with transaction.atomic():
        key_change = form.key_change
        ai = form.save(commit=False)
        form.apply_key(ai)
        ai.updated_at = timezone.now()
        ai.save()
        detail = activity.diff(form, leave_out=KEY_FIELDS)
        changed = detail["changed"]
        if key_change:
            changed["api_key"] = key_change
        activity.record(ai.workspace, actor, "ai.updated", **detail)
        if "embedding_model" in changed and embeddings.active():
            workspace_id = ai.workspace_id
            transaction.on_commit(lambda: reembed_workspace.enqueue(workspace_id))
    return ai


def _described(rule: GuidanceRule) -> dict:
    return {"rule": rule.name, "kind": rule.kind}


def create_rule(form: GuidanceRuleForm, actor: User) -> GuidanceRule:
    with transaction.atomic():
        rule = form.save(commit=False)
        rule.workspace = form.workspace
        rule.save()
        activity.record(
            rule.workspace, actor, "guidance.created", **_described(rule), active=rule.active, channels=rule.channels
        )
    return rule


def update_rule(form: GuidanceRuleForm, actor: User) -> GuidanceRule:
    with transaction.atomic():
        rule = form.save()
        activity.record(rule.workspace, actor, "guidance.updated", **activity.diff(form), **_described(rule))
    return rule


def set_rule_active(rule: GuidanceRule, active: bool, actor: User) -> GuidanceRule:
    with transaction.atomic():
        rule.active = active
        rule.save(update_fields=["active"])
        activity.record(
            rule.workspace, actor, "guidance.activated" if active else "guidance.deactivated", **_described(rule)
        )
    return rule


def delete_rule(rule: GuidanceRule, actor: User) -> None:
    with transaction.atomic():
        activity.record(rule.workspace, actor, "guidance.deleted", **_described(rule))
        rule.delete()
