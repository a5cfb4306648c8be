"""Business hours: when the team answers, in the workspace's own timezone.

`Workspace.business_hours` maps a weekday key to its opening and closing time, e.g.
`{"mon": ["09:00", "17:00"], ...}`; a day that is missing is closed. With business hours off,
the team is always within hours (whether anyone is online is presence's business).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.utils import timezone

DAYS = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
]
DAY_KEYS = [key for key, _label in DAYS]


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    return sorted(available_timezones() - {"localtime"})


def parse(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _span(workspace, weekday: int) -> tuple[time, time] | None:
    """The day's opening and closing time; None when it is closed (or its entry is broken)."""
    span = (workspace.business_hours or {}).get(DAY_KEYS[weekday])
    if not span:
        return None
    try:
        return parse(span[0]), parse(span[1])
    except (ValueError, IndexError, TypeError, AttributeError):
        return None


def is_open(workspace, at: datetime | None = None) -> bool:
    """True within the workspace's business hours (always, when they are off)."""
    if not workspace.business_hours_enabled:
        return True
    local = (at or timezone.now()).astimezone(zone(workspace.timezone))
    span = _span(workspace, local.weekday())
    if span is None:
        return False
    opens, closes = span
    return opens <= local.time().replace(second=0, microsecond=0) < closes


def next_opening(workspace, at: datetime | None = None) -> datetime | None:
    """When business hours next begin after `at` (now), in the workspace's timezone; None
    when they are off or no day is open."""
    if not workspace.business_hours_enabled:
        return None
    tz = zone(workspace.timezone)
    local = (at or timezone.now()).astimezone(tz)
    for days in range(8):
        day = local.date() + timedelta(days=days)
        span = _span(workspace, day.weekday())
        if span is None or span[0] >= span[1]:
            continue
        opens = datetime.combine(day, span[0], tzinfo=tz)
        if opens > local:
            return opens
    return None


def describe_opening(workspace, opens: datetime, at: datetime | None = None) -> str:
    """An opening time in words a visitor understands, with the timezone it is in:
    "today at 9:00 (Europe/Berlin)", "tomorrow at 9:00 (...)", "Monday at 9:00 (...)"."""
    tz = zone(workspace.timezone)
    local, today = opens.astimezone(tz), (at or timezone.now()).astimezone(tz).date()
    days = (local.date() - today).days
    name = dict(DAYS)[DAY_KEYS[local.weekday()]]
    day = {0: "today", 1: "tomorrow"}.get(days, f"next {name}" if days >= 7 else name)
    return f"{day} at {local.hour}:{local.minute:02d} ({tz.key})"
