"""The activity log: every change to a workspace's set-up, with who, when and what.

Call `record()` inside the same transaction as the change. A settings change records its new
values and the values before (`record(..., **diff(form))`). Never pass secrets (API keys, the
identity secret, tokens) as details: record that they changed, not their values; `record`
replaces any value under a secret's name with "changed" all the same.

`describe()` turns an entry into what the log page shows: a sentence ("Ada added the FAQ
“How do I reset my password?”") and, for a settings change, one line per field with its value
before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.forms.utils import pretty_name

from helpdesk.workspace.models import Activity

JSON_SCALARS = (str, int, float, bool, type(None))
# Names whose values are never recorded, wherever they appear in an entry's detail.
SECRET_NAMES = frozenset(
    {"api_key", "api_key_encrypted", "identity_secret", "secret", "password", "token", "user_hash"}
)
SECRET_MARKERS = frozenset({"changed", "cleared", "set"})
LONGEST_VALUE = 120


def _plain(value):
    if isinstance(value, JSON_SCALARS):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


def _without_secrets(value):
    if isinstance(value, dict):
        return {
            k: (v if isinstance(v, str) and v in SECRET_MARKERS else "changed")
            if k in SECRET_NAMES
            else _without_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def record(workspace, actor, action: str, **detail) -> Activity:
    return Activity.objects.create(
        workspace=workspace, actor=actor, action=action, detail=_without_secrets(_plain(detail))
    )


def changes(form) -> dict:
    """What a bound, valid ModelForm changed, for `record(..., changed=changes(form))`."""
    return {name: form.cleaned_data.get(name) for name in form.changed_data}


def diff(form, *, leave_out: tuple[str, ...] = ()) -> dict:
    """What a bound, valid form changed and what it was before, for `record(..., **diff(form))`;
    with the fields' labels, so that the log reads as the form did."""
    names = [name for name in form.changed_data if name not in leave_out]
    labels = {name: str(form[name].label) for name in names if name in form.fields}
    detail = {
        "changed": {name: form.cleaned_data.get(name) for name in names},
        "before": {name: form.initial.get(name) for name in names},
    }
    labels = {name: label for name, label in labels.items() if label != pretty_name(name)}
    if labels:
        detail["labels"] = labels
    return detail


# ---------------------------------------------------------------- the log page


@dataclass
class Line:
    label: str
    before: str = ""
    after: str = ""
    note: str = ""  # instead of before and after (a secret, a long text)


@dataclass
class Description:
    who: str
    sentence: str
    lines: list[Line] = field(default_factory=list)


KINDS = {"article": "article", "faq": "FAQ", "document": "document"}
ROLES = {"owner": "an owner", "admin": "an admin", "agent": "an agent"}
RULE_KINDS = {"tone": "tone rule", "escalation": "escalation rule"}
LABELS = {
    "url": "URL",
    "base_url": "Provider base URL",
    "api_key": "API key",
    "chat_model": "Chat model",
    "embedding_model": "Embedding model",
    "business_hours": "Opening hours",
    "timezone": "Timezone",
    "widget_primary_color": "Primary colour",
    "widget_title": "Title",
    "widget_subtitle": "Subtitle",
    "widget_greeting": "Greeting",
    "widget_placeholder": "Message placeholder",
    "widget_company_name": "Company name",
    "widget_position": "Position",
    "widget_enabled": "Widget enabled",
    "widget_show_availability": "Show whether the team is online",
    "widget_branding_hidden": "Hide \u201cPowered by Helpdesk\u201d",
    "widget_ask_email_first": "Ask for an email address before the first message",
}
# Fields whose values are long texts: the log says they changed, not what they say.
LONG_TEXT = frozenset({"body", "answer", "content", "text", "instructions", "business_description"})
DAYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}


def quoted(value) -> str:
    text = str(value or "").strip()
    if len(text) > LONGEST_VALUE:
        text = text[: LONGEST_VALUE - 1] + "\u2026"
    return f"\u201c{text}\u201d"


def shown(value) -> str:
    """A recorded value as the log prints it."""
    if value is None or value == "" or value == [] or value == {}:
        return "(empty)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        if set(value) <= set(DAYS) and all(isinstance(v, list) and len(v) == 2 for v in value.values()):
            return ", ".join(f"{DAYS[d]} {value[d][0]}\u2013{value[d][1]}" for d in DAYS if d in value)
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= LONGEST_VALUE else text[: LONGEST_VALUE - 1] + "\u2026"


def _lines(detail: dict) -> list[Line]:
    changed = detail.get("changed") or {}
    before = detail.get("before") or {}
    labels = {**LABELS, **(detail.get("labels") or {})}
    lines = []
    for name, after in changed.items():
        label = labels.get(name) or pretty_name(name)
        if name in SECRET_NAMES:
            lines.append(Line(label, note="cleared" if after == "cleared" else "set to a new value (not shown)"))
        elif name in LONG_TEXT:
            lines.append(Line(label, note="edited"))
        elif name in before:
            lines.append(Line(label, before=shown(before[name]), after=shown(after)))
        else:
            lines.append(Line(label, after=shown(after)))
    return sorted(lines, key=lambda line: line.label.lower())  # the database keeps no order of keys


def _sentence(action: str, d: dict) -> str:
    app, _, verb = action.partition(".")
    if app == "knowledge":
        kind, _, what = verb.rpartition("_")
        name = quoted(d.get("question") or d.get("title"))
        thing = f"the {KINDS.get(kind, kind)} {name}"
        return {
            "created": (f"uploaded {thing}" if kind == "document" else f"added {thing}"),
            "updated": f"edited {thing}",
            "enabled": f"turned on {thing}",
            "disabled": f"turned off {thing}",
            "deleted": f"deleted {thing}",
            "reindexed": f"re-indexed {thing}",
            "moved": f"moved {thing} {d.get('direction', '')}".rstrip(),
        }.get(what, f"changed {thing}")
    if app == "guidance":
        thing = f"the {RULE_KINDS.get(d.get('kind', ''), 'rule')} {quoted(d.get('rule'))}"
        return {
            "created": f"added {thing}",
            "updated": f"edited {thing}",
            "activated": f"turned on {thing}",
            "deactivated": f"turned off {thing}",
            "deleted": f"deleted {thing}",
        }.get(verb, f"changed {thing}")
    if app == "canned":
        thing = f"the canned response /{d.get('shortcut', '')}"
        return {"created": f"added {thing}", "updated": f"edited {thing}", "deleted": f"deleted {thing}"}.get(
            verb, f"changed {thing}"
        )
    if app == "team":
        email, member = d.get("email", ""), d.get("member", "")
        role, previous = d.get("role", ""), d.get("previous", "")
        return {
            "invited": f"invited {email} as {ROLES.get(role, role)}",
            "invitation_resent": f"sent the invitation to {email} again",
            "invitation_revoked": f"revoked the invitation to {email}",
            "joined": f"joined the team as {ROLES.get(role, role)}",
            "role_changed": f"changed the role of {member} from {previous} to {role}",
            "deactivated": f"deactivated {member}",
            "reactivated": f"reactivated {member}",
        }.get(verb, f"changed the team ({verb.replace('_', ' ')})")
    return {
        "widget.updated": "changed the widget settings",
        "widget.token_regenerated": "made a new widget token (widgets with the old one stopped working)",
        "widget.identity_secret_regenerated": "made a new identity secret (not shown)",
        "ai.updated": "changed the AI settings",
        "email.address_changed": "changed the workspace's email address",
        "email.mailbox_saved": "saved the mailbox settings",
        "email.mailbox_removed": "removed the mailbox",
    }.get(action, f"did {action}")


def describe(entry: Activity) -> Description:
    detail = entry.detail or {}
    who = entry.actor.display_name if entry.actor else "Someone"
    return Description(who=who, sentence=_sentence(entry.action, detail), lines=_lines(detail))
