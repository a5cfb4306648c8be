"""Business hours: when the team answers, in the workspace's own timezone.

`Workspace.business_hours` maps a weekday key to its opening and closing time, e.g.
`{"mon": ["09:00", "17:00"], ...}`; a day that is missing is closed. With business hours off,
the team is always within hours (whether anyone is online is presence's business).
"""

from __future__ import annotations

from datetime import datetime, time
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


def is_open(workspace, at: datetime | None = None) -> bool:
    """True within the workspace's business hours (always, when they are off)."""
    if not workspace.business_hours_enabled:
        return True
    local = (at or timezone.now()).astimezone(zone(workspace.timezone))
    span = (workspace.business_hours or {}).get(DAY_KEYS[local.weekday()])
    if not span:
        return False
    try:
        opens, closes = parse(span[0]), parse(span[1])
    except (ValueError, IndexError, TypeError):
        return False
    return opens <= local.time().replace(second=0, microsecond=0) < closes
