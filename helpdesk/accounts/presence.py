"""Agent presence: an agent is online when they chose "online" and an inbox tab pinged lately."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
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


def available(workspace: Workspace) -> bool:
    """Someone can answer now: within business hours and an agent online."""
    return hours.is_open(workspace) and workspace_online(workspace.pk)


def widget_state(workspace: Workspace) -> dict:
    """What the widget's availability line shows: online, away, or closed (outside business hours)."""
    closed = not hours.is_open(workspace)
    return {
        "online": not closed and workspace_online(workspace.pk),
        "closed": closed,
        "away_message": workspace.away_message,
    }


def team(workspace: Workspace) -> list[dict]:
    members = (
        Membership.objects.filter(workspace=workspace, is_active=True).select_related("user").order_by("user__email")
    )
    return [{"membership": m, "user": m.user, "online": is_online(m)} for m in members]


def publish(workspace: Workspace) -> None:
    """Tell agents (the team list) and widgets (online / away) after a presence change."""
    broadcast.on_commit(
        groups.agents(workspace.pk), render_to_string("inbox/index.html#team-oob", {"team": team(workspace)})
    )
    broadcast.on_commit(
        groups.widget(workspace.pk),
        render_to_string("widget/chat.html#availability-oob", widget_state(workspace)),
    )


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
