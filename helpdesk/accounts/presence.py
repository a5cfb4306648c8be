"""Agent presence: an agent is online when they chose "online" and an inbox tab pinged lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.accounts.models import Membership
from helpdesk.realtime import broadcast, groups
from helpdesk.workspace import hours
from helpdesk.workspace.models import Workspace


def _online_since():
    return timezone.now() - timedelta(seconds=settings.AGENT_ONLINE_SECONDS)


def online_members(workspace_id: int):
    return Membership.objects.filter(
        workspace_id=workspace_id,
        is_active=True,
        availability=Membership.Availability.ONLINE,
        last_seen_at__gte=_online_since(),
    )


def is_online(membership: Membership) -> bool:
    return (
        membership.is_active
        and membership.availability == Membership.Availability.ONLINE
        and membership.last_seen_at is not None
        and membership.last_seen_at >= _online_since()
    )


def workspace_online(workspace_id: int) -> bool:
    return online_members(workspace_id).exists()


# ---------------------------------------------------------------- availability: one truth

ONLINE, AWAY, CLOSED = "online", "away", "closed"


@dataclass(frozen=True)
class Availability:
    """Whether someone can answer a workspace's visitors now: `online` (within business hours,
    an agent online), `away` (within hours, nobody online) or `closed` (outside business
    hours), and when the hours next begin (closed only; None when no day is open)."""

    state: str
    next_open: datetime | None = None
    back: str = ""  # next_open in words: "Monday at 9:00 (Europe/Berlin)"

    @property
    def online(self) -> bool:
        return self.state == ONLINE

    @property
    def closed(self) -> bool:
        return self.state == CLOSED


def availability(workspace: Workspace, at: datetime | None = None) -> Availability:
    """The one decision of whether a workspace is online, away or closed, which the widget's
    header, the away reply, the handover message and the AI's checks all use."""
    if not hours.is_open(workspace, at):
        opens = hours.next_opening(workspace, at)
        return Availability(CLOSED, opens, hours.describe_opening(workspace, opens, at) if opens else "")
    return Availability(ONLINE if workspace_online(workspace.pk) else AWAY)


def _state_with(workspace: Workspace, online_ids: set[int]) -> str:
    """`availability(workspace).state`, knowing which workspaces have an agent online."""
    if not hours.is_open(workspace):
        return CLOSED
    return ONLINE if workspace.pk in online_ids else AWAY


def available(workspace: Workspace) -> bool:
    """Someone can answer now: within business hours and an agent online."""
    return availability(workspace).online


def widget_state(workspace: Workspace, state: Availability | None = None) -> dict:
    """What the widget's availability line shows: online, away, or closed (outside business hours)."""
    state = state or availability(workspace)
    return {
        "online": state.online,
        "closed": state.closed,
        "back": state.back,
        "away_message": workspace.away_message,
    }


AWAY_FALLBACK = "Nobody from the team is online right now; someone will reply here as soon as they're back."
ONLINE_EXPECTATION = "Someone from the team will reply here shortly."


def away_text(workspace: Workspace, state: Availability, *, fallback: str = "") -> str:
    """The away message (or `fallback` when the workspace has none), and, outside business
    hours, when the team is back. "" when there is neither."""
    text = workspace.away_message.strip() or fallback
    if text and state.closed and state.back:
        text += f" We're back {state.back}."
    return text


@dataclass(frozen=True)
class Expectation:
    """What a visitor whose conversation is handed to a person is told to expect."""

    text: str
    # Where a later issue offers to continue by email while nobody is there (the widget's
    # `email-offer` partial in templates/widget/chat.html); nothing offers it yet.
    offer_email: bool


def expectation(workspace: Workspace, state: Availability | None = None) -> Expectation:
    """Said once, when the conversation is handed over (again only after it was handed back
    and handed over anew): someone replies here soon, or when the team is back."""
    state = state or availability(workspace)
    if state.online:
        return Expectation(ONLINE_EXPECTATION, offer_email=False)
    return Expectation(away_text(workspace, state, fallback=AWAY_FALLBACK), offer_email=True)


def refresh_widgets(workspace: Workspace) -> bool:
    """Tell the workspace's widgets its availability if it is not what they were last told
    (Workspace.widget_availability); True when it changed. A compare-and-set: of several
    processes that notice one change, one pushes it."""
    state = availability(workspace)
    changed = (
        Workspace.objects.filter(pk=workspace.pk)
        .exclude(widget_availability=state.state)
        .update(widget_availability=state.state)
    )
    if changed:
        workspace.widget_availability = state.state
        html = render_to_string("widget/chat.html#availability-oob", widget_state(workspace, state))
        broadcast.on_commit(groups.widget(workspace.pk), html)
    return bool(changed)


def sweep() -> int:
    """Push the availability of every workspace whose widgets were told something that no
    longer holds: the last agent's presence ran out (no heartbeat for AGENT_ONLINE_SECONDS), a
    member was deactivated, business hours began or ended. Run every few seconds by each
    worker process (helpdesk/ops/worker.py); any number may run it at once, since
    refresh_widgets pushes each change once. Three small queries when nothing changed.
    Returns how many workspaces changed."""
    online_ids = set(
        Membership.objects.filter(
            is_active=True, availability=Membership.Availability.ONLINE, last_seen_at__gte=_online_since()
        ).values_list("workspace_id", flat=True)
    )
    suspects = Workspace.objects.filter(
        Q(pk__in=online_ids) | Q(widget_availability__in=[ONLINE, CLOSED]) | Q(business_hours_enabled=True)
    ).only("pk", "timezone", "business_hours_enabled", "business_hours", "widget_availability", "away_message")
    changed = 0
    for workspace in suspects:
        if _state_with(workspace, online_ids) != workspace.widget_availability:
            with transaction.atomic():
                changed += refresh_widgets(workspace)
    return changed


def team(workspace: Workspace) -> list[dict]:
    members = (
        Membership.objects.filter(workspace=workspace, is_active=True).select_related("user").order_by("user__email")
    )
    return [{"membership": m, "user": m.user, "online": is_online(m)} for m in members]


def publish(workspace: Workspace) -> None:
    """Tell agents (the team list) and, when it changed, widgets (online / away) after a presence change."""
    broadcast.on_commit(
        groups.agents(workspace.pk), render_to_string("inbox/index.html#team-oob", {"team": team(workspace)})
    )
    refresh_widgets(workspace)


def touch(membership: Membership) -> None:
    """A heartbeat from an inbox tab; publishes when it brings the agent online."""
    was_online = is_online(membership)
    membership.last_seen_at = timezone.now()
    Membership.objects.filter(pk=membership.pk).update(last_seen_at=membership.last_seen_at)
    if not was_online and is_online(membership):
        publish(membership.workspace)


def set_availability(membership: Membership, availability: str) -> None:
    if availability not in Membership.Availability.values:
        raise ValueError(f"unknown availability {availability!r}")
    membership.availability = availability
    membership.last_seen_at = timezone.now()
    membership.save(update_fields=["availability", "last_seen_at"])
    publish(membership.workspace)
