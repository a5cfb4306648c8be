"""The activity log: every change to a workspace's set-up, with who, when and what.

Call `record()` inside the same transaction as the change. Never pass secrets (API keys, tokens)
as details: record that they changed, not their values.
"""

from __future__ import annotations

from helpdesk.workspace.models import Activity

JSON_SCALARS = (str, int, float, bool, type(None))


def _plain(value):
    if isinstance(value, JSON_SCALARS):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


def record(workspace, actor, action: str, **detail) -> Activity:
    return Activity.objects.create(workspace=workspace, actor=actor, action=action, detail=_plain(detail))


def changes(form) -> dict:
    """What a bound, valid ModelForm changed, for `record(..., changed=changes(form))`."""
    return {name: form.cleaned_data.get(name) for name in form.changed_data}
