"""Availability, one truth: online, away or closed (by business hours), what the widget's line,
the away reply and the handover message say, and the push to open widgets when it changes
with nobody writing (an agent's presence runs out, business hours end)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.accounts import presence
from helpdesk.accounts.models import Membership
from helpdesk.realtime import groups
from helpdesk.workspace import hours
from helpdesk.workspace.models import Workspace
from tests.conversations.test_actions import listen, pushed

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN)
WEEKDAYS_9_TO_5 = {key: ["09:00", "17:00"] for key in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def hours_at(monkeypatch):
    """Set the clock that business hours read (presence keeps the real one)."""

    def set_clock(when: datetime) -> None:
        monkeypatch.setattr(hours, "timezone", SimpleNamespace(now=lambda: when))

    return set_clock


@pytest.fixture
def office(workspace):
    workspace.business_hours_enabled = True
    workspace.timezone = "Europe/Berlin"
    workspace.business_hours = WEEKDAYS_9_TO_5
    workspace.save()
    return workspace


def online(user, *, seconds_ago: float = 0) -> Membership:
    membership = Membership.objects.get(user=user)
    membership.availability = Membership.Availability.ONLINE
    membership.last_seen_at = timezone.now() - timedelta(seconds=seconds_ago)
    membership.save()
    return membership


def told(workspace: Workspace) -> str:
    return Workspace.objects.get(pk=workspace.pk).widget_availability


# ---------------------------------------------------------------- the decision


def test_a_workspace_is_online_away_or_closed(office, agent, hours_at, settings):
    hours_at(SATURDAY_NOON.replace(day=30, hour=10))  # Monday 10:00
    assert presence.availability(office).state == presence.AWAY
    membership = online(agent)
    assert presence.availability(office).state == presence.ONLINE
    assert presence.available(office)
    hours_at(SATURDAY_NOON)  # the agent is online, but outside business hours
    state = presence.availability(office)
    assert state.state == presence.CLOSED and not presence.available(office)
    assert state.next_open == datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    assert state.back == "Monday at 9:00 (Europe/Berlin)"
    hours_at(SATURDAY_NOON.replace(day=30, hour=10))
    membership.last_seen_at = timezone.now() - timedelta(seconds=settings.AGENT_ONLINE_SECONDS + 1)
    membership.save()
    assert presence.availability(office).state == presence.AWAY  # the heartbeat stopped


def test_the_widget_line_the_away_reply_and_the_handover_agree(office, agent, hours_at):
    hours_at(SATURDAY_NOON)
    online(agent)
    state = presence.availability(office)
    line = render_to_string("widget/chat.html#availability-oob", presence.widget_state(office))
    assert "We're online" not in line and "We're back Monday at 9:00 (Europe/Berlin)." in line
    reply = presence.away_text(office, state)
    assert reply == f"{office.away_message} We're back Monday at 9:00 (Europe/Berlin)."
    expected = presence.expectation(office)
    assert expected.text == reply and expected.offer_email


def test_online_the_handover_says_someone_will_reply_here(workspace, agent):
    online(agent)
    line = render_to_string("widget/chat.html#availability-oob", presence.widget_state(workspace))
    assert "We're online" in line
    expected = presence.expectation(workspace)
    assert expected.text == presence.ONLINE_EXPECTATION and "reply here" in expected.text
    assert not expected.offer_email


def test_away_without_an_away_message_the_handover_still_says_what_happens(workspace):
    workspace.away_message = ""
    state = presence.availability(workspace)
    assert state.state == presence.AWAY
    assert presence.away_text(workspace, state) == ""  # no auto-reply (AI off)
    assert presence.expectation(workspace).text == presence.AWAY_FALLBACK


# ---------------------------------------------------------------- the push to open widgets


def test_a_change_is_pushed_to_the_widgets_once(workspace, agent, django_capture_on_commit_callbacks):
    widgets = listen(groups.widget(workspace.pk))
    online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        assert presence.refresh_widgets(workspace)
        assert not presence.refresh_widgets(workspace)  # already told: nothing to push
    html = pushed(widgets)
    assert html.count('id="availability"') == 1 and "We're online" in html
    assert told(workspace) == presence.ONLINE


def test_when_the_only_agents_presence_runs_out_the_sweep_tells_the_widgets(
    workspace, agent, other_workspace, settings, django_capture_on_commit_callbacks
):
    membership = online(agent)
    presence.refresh_widgets(workspace)
    widgets, others = listen(groups.widget(workspace.pk)), listen(groups.widget(other_workspace.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert presence.sweep() == 0  # still online: nothing to say
    assert pushed(widgets) == ""
    membership.last_seen_at = timezone.now() - timedelta(seconds=settings.AGENT_ONLINE_SECONDS + 1)
    membership.save(update_fields=["last_seen_at"])  # no heartbeat since: nobody writes anything
    with django_capture_on_commit_callbacks(execute=True):
        assert presence.sweep() == 1
        assert presence.sweep() == 0  # a second sweep (another worker) pushes nothing more
    html = pushed(widgets)
    assert html.count('id="availability"') == 1 and "We're away right now" in html
    assert told(workspace) == presence.AWAY
    assert pushed(others) == ""  # another workspace's widgets hear nothing


def test_the_sweep_tells_the_widgets_when_business_hours_end(
    office, agent, hours_at, django_capture_on_commit_callbacks
):
    hours_at(SATURDAY_NOON.replace(day=27, hour=16, minute=59))  # Friday, a minute before closing
    online(agent)
    presence.refresh_widgets(office)
    widgets = listen(groups.widget(office.pk))
    hours_at(SATURDAY_NOON.replace(day=27, hour=17))
    with django_capture_on_commit_callbacks(execute=True):
        assert presence.sweep() == 1
    html = pushed(widgets)
    assert "We're online" not in html and "We're back Monday at 9:00 (Europe/Berlin)." in html
    assert told(office) == presence.CLOSED


def test_the_sweep_notices_an_agent_online_that_the_widgets_were_not_told_of(
    workspace, agent, django_capture_on_commit_callbacks
):
    """Two processes racing may leave "away" stored while an agent is online: the next sweep
    mends it."""
    online(agent)
    Workspace.objects.filter(pk=workspace.pk).update(widget_availability=presence.AWAY)
    widgets = listen(groups.widget(workspace.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert presence.sweep() == 1
    assert "We're online" in pushed(widgets)


def test_going_away_tells_the_widgets_and_the_team(workspace, agent, django_capture_on_commit_callbacks):
    membership = online(agent)
    presence.refresh_widgets(workspace)
    widgets, agents = listen(groups.widget(workspace.pk)), listen(groups.agents(workspace.pk))
    with django_capture_on_commit_callbacks(execute=True):
        presence.set_availability(membership, Membership.Availability.AWAY)
    assert "We're away right now" in pushed(widgets)
    assert 'id="team"' in pushed(agents)
