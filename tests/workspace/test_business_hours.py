"""Business hours: set in the widget form, in the workspace's timezone; outside them the widget
shows the away message and a new conversation gets it as its reply, even with an agent online."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions
from helpdesk.conversations.tasks import send_away_reply
from helpdesk.workspace import hours
from helpdesk.workspace.models import Activity
from tests.conversations.test_actions import bring_online
from tests.workspace.test_widget_settings import VALID

WEEKDAYS = {f"{key}_open": "on" for key in ("mon", "tue", "wed", "thu", "fri")}
TIMES = {f"{key}_{part}": t for key in hours.DAY_KEYS for part, t in (("start", "09:00"), ("end", "17:30"))}
HOURS = {**VALID, "business_hours_enabled": "on", "timezone": "Europe/Berlin", **WEEKDAYS, **TIMES}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_an_admin_sets_business_hours_in_a_timezone(owner_client, workspace):
    response = owner_client.post("/settings/widget/", HOURS, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    workspace.refresh_from_db()
    assert workspace.business_hours_enabled and workspace.timezone == "Europe/Berlin"
    assert workspace.business_hours == {key: ["09:00", "17:30"] for key in ("mon", "tue", "wed", "thu", "fri")}
    changed = Activity.objects.get(workspace=workspace).detail["changed"]
    assert changed["timezone"] == "Europe/Berlin" and changed["business_hours"]["mon"] == ["09:00", "17:30"]
    page = owner_client.get("/settings/widget/").content.decode()
    assert 'value="17:30"' in page and '<option value="Europe/Berlin" selected>' in page


@pytest.mark.parametrize(
    "change,field,error",
    [
        ({"mon_start": "18:00", "mon_end": "09:00"}, "mon_end", "must close after it opens"),
        ({"tue_start": "25:00"}, "tue_start", "Enter a valid time"),
        ({"timezone": "Mars/Olympus"}, "timezone", "valid choice"),
        (dict.fromkeys(WEEKDAYS, ""), "business_hours_enabled", "Open at least one day"),
    ],
)
def test_bad_hours_get_an_inline_error_and_change_nothing(owner_client, workspace, change, field, error):
    data = {k: v for k, v in {**HOURS, **change}.items() if v != ""}
    response = owner_client.post("/settings/widget/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-error-for="{field}"' in html and error in html
    workspace.refresh_from_db()
    assert (workspace.business_hours_enabled, workspace.timezone, workspace.business_hours) == (False, "UTC", {})
    assert not Activity.objects.exists()


def test_open_and_closed_follow_the_workspace_timezone(workspace):
    workspace.business_hours_enabled = True
    workspace.timezone = "America/New_York"
    workspace.business_hours = {"mon": ["09:00", "17:00"]}
    ny = ZoneInfo("America/New_York")
    monday = datetime(2026, 11, 23, tzinfo=ny)
    assert hours.is_open(workspace, monday.replace(hour=9))
    assert hours.is_open(workspace, monday.replace(hour=16, minute=59))
    assert not hours.is_open(workspace, monday.replace(hour=17))
    assert not hours.is_open(workspace, monday.replace(hour=8, minute=59))
    # 15:00 UTC on that Monday is 10:00 in New York: open; Tuesday is closed all day
    assert hours.is_open(workspace, datetime(2026, 11, 23, 15, tzinfo=ZoneInfo("UTC")))
    assert not hours.is_open(workspace, datetime(2026, 11, 24, 15, tzinfo=ZoneInfo("UTC")))
    workspace.business_hours_enabled = False
    assert hours.is_open(workspace, datetime(2026, 11, 24, 15, tzinfo=ZoneInfo("UTC")))


@pytest.fixture
def closed_now(workspace):
    """Business hours on, and no day open: outside business hours whatever the clock says."""
    workspace.business_hours_enabled = True
    workspace.business_hours = {}
    workspace.away_message = "Closed now, back Monday at 9."
    workspace.save()
    return workspace


def test_outside_business_hours_the_widget_shows_the_away_message(closed_now, agent):
    bring_online(agent.memberships.get())
    page = Client().get(f"/chat?token={closed_now.public_token}").content.decode()
    assert "Closed now, back Monday at 9." in page and "We're online" not in page
    closed_now.business_hours = {key: ["00:00", "23:59"] for key in hours.DAY_KEYS}
    closed_now.save()
    page = Client().get(f"/chat?token={closed_now.public_token}").content.decode()
    assert "We're online" in page and "back Monday" not in page


def test_outside_business_hours_a_new_conversation_gets_the_away_reply_even_with_an_agent_online(
    closed_now, visitor, agent, enqueued, django_capture_on_commit_callbacks
):
    AISettings.objects.update_or_create(workspace=closed_now, defaults={"enabled": False})
    bring_online(agent.memberships.get())
    v, _ = visitor
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.post_customer_message(v, "Hello?")
    assert enqueued == [(send_away_reply.name, (message.conversation_id,))]
    send_away_reply.call(message.conversation_id)
    assert message.conversation.messages.filter(body="Closed now, back Monday at 9.").exists()


def test_the_next_opening_is_found_in_the_workspace_timezone(workspace):
    workspace.business_hours_enabled = True
    workspace.timezone = "Europe/Berlin"
    workspace.business_hours = {"mon": ["09:00", "17:00"], "wed": ["10:30", "12:00"]}
    berlin = ZoneInfo("Europe/Berlin")
    monday_early = datetime(2026, 11, 30, 7, 0, tzinfo=berlin)
    assert hours.next_opening(workspace, monday_early) == monday_early.replace(hour=9)
    assert hours.describe_opening(workspace, monday_early.replace(hour=9), monday_early) == (
        "today at 9:00 (Europe/Berlin)"
    )
    monday_late = monday_early.replace(hour=18)
    wednesday = datetime(2026, 12, 2, 10, 30, tzinfo=berlin)
    assert hours.next_opening(workspace, monday_late) == wednesday
    assert hours.describe_opening(workspace, wednesday, monday_late) == "Wednesday at 10:30 (Europe/Berlin)"
    tuesday = datetime(2026, 12, 1, 23, 0, tzinfo=ZoneInfo("UTC"))  # midnight in Berlin: Wednesday
    assert hours.describe_opening(workspace, wednesday, tuesday) == "today at 10:30 (Europe/Berlin)"
    assert hours.describe_opening(workspace, wednesday, tuesday - timedelta(hours=2)) == (
        "tomorrow at 10:30 (Europe/Berlin)"
    )
    # Only Monday open, and Monday's hours are over: a week ahead
    workspace.business_hours = {"mon": ["09:00", "17:00"]}
    next_monday = datetime(2026, 12, 7, 9, 0, tzinfo=berlin)
    assert hours.next_opening(workspace, monday_late) == next_monday
    assert hours.describe_opening(workspace, next_monday, monday_late) == "next Monday at 9:00 (Europe/Berlin)"


def test_there_is_no_next_opening_with_hours_off_or_no_day_open(workspace):
    now = datetime(2026, 11, 30, 7, 0, tzinfo=ZoneInfo("UTC"))
    assert hours.next_opening(workspace, now) is None  # business hours are off
    workspace.business_hours_enabled = True
    workspace.business_hours = {"mon": ["bad"], "tue": None}
    assert hours.next_opening(workspace, now) is None
