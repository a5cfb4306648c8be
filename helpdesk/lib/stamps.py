"""Template filters for the times that the inbox, the widget and the settings pages print.

Every time the product shows is a `<time>` element that static/js/live.js rewrites in the
reader's time zone and locale format (12- or 24-hour, month names, "5 min"), and keeps current
when it is relative. What the server prints inside it is the text shown before the script runs
(and to anything that does not run it): the same kind of text, in UTC, the same way everywhere.

    {{ value|stamp:"time" }}      a message: 08:30 today, Dec 1, 08:30 before
    {{ value|stamp:"relative" }}  a list row: now, 5 min, 3 hr, 2 days, then Dec 1
    {{ value|stamp:"date" }}      Dec 1, 2026
    {{ value|stamp:"datetime" }}  Dec 1, 2026, 08:30

each as <time datetime="2026-12-01T08:30:00+00:00" data-time="relative" title="Dec 1, 2026,
08:30 UTC">5 min</time>. Django's `date` filter looks up the locale's formats and parses its
format string on every call, and the inbox prints a time on every row and every message of a
page: these format by hand. The older filters print parts of the same text:

    {{ value|iso }}         2026-12-01T08:30:00+00:00   (as |date:"c")
    {{ value|hm }}          08:30                       (as |time:"H:i")
    {{ value|day_hm }}      Dec 1, 08:30                (as |date:"M j, H:i")
    {{ value|elapsed }}     12 min                      (time since then; static/js/inbox.js keeps it current)

Load them with {% load stamps %}.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# English, as the pages are (Django's MONTHS_3 would be translated on each call).
MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
KINDS = ("time", "relative", "date", "datetime")
MINUTE, HOUR, DAY = 60, 3600, 86400


@register.filter(expects_localtime=True, is_safe=True)
def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@register.filter(expects_localtime=True, is_safe=True)
def hm(value: datetime | None) -> str:
    return f"{value.hour:02d}:{value.minute:02d}" if value else ""


@register.filter(expects_localtime=True, is_safe=True)
def day_hm(value: datetime | None) -> str:
    if not value:
        return ""
    return f"{MONTHS[value.month]} {value.day}, {value.hour:02d}:{value.minute:02d}"


def _date(value: datetime) -> str:
    return f"{MONTHS[value.month]} {value.day}, {value.year}"


def fallback(value: datetime, kind: str, now: datetime) -> str:
    """The text the server prints for a time of this kind (`now` in the same time zone)."""
    if kind == "time":
        clock = f"{value.hour:02d}:{value.minute:02d}"
        return clock if value.date() == now.date() else f"{MONTHS[value.month]} {value.day}, {clock}"
    if kind == "relative":
        seconds = (now - value).total_seconds()
        if seconds < MINUTE:
            return "now"
        if seconds < HOUR:
            return f"{int(seconds // MINUTE)} min"
        if seconds < DAY:
            return f"{int(seconds // HOUR)} hr"
        if seconds < 7 * DAY:
            days = int(seconds // DAY)
            return f"{days} day" if days == 1 else f"{days} days"
        return f"{MONTHS[value.month]} {value.day}" if value.year == now.year else _date(value)
    if kind == "date":
        return _date(value)
    return f"{_date(value)}, {value.hour:02d}:{value.minute:02d}"


@register.filter(expects_localtime=True, is_safe=True)
def stamp(value: datetime | None, kind: str = "datetime") -> SafeString | str:
    """The time as a <time> element of the kind (`time`, `relative`, `date`, `datetime`)."""
    if not value:
        return ""
    if kind not in KINDS:
        raise template.TemplateSyntaxError(f"stamp: unknown kind {kind!r}, not one of {', '.join(KINDS)}")
    now = datetime.now(UTC).astimezone(value.tzinfo) if value.tzinfo else datetime.now()
    zone = value.tzname() or ""
    title = f"{_date(value)}, {value.hour:02d}:{value.minute:02d} {zone}".rstrip()
    # Only numbers and fixed words go into the element: nothing to escape.
    return mark_safe(
        f'<time datetime="{value.isoformat()}" data-time="{kind}" title="{title}">{fallback(value, kind, now)}</time>'
    )


def elapsed_text(seconds: float) -> str:
    """How long, shortly: "<1 min", "12 min", "2 h 5 min", "3 d" (as inbox.js writes it)."""
    minutes = max(0, int(seconds // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{minutes // (24 * 60)} d"


@register.filter(is_safe=True)
def elapsed(value: datetime | None) -> str:
    return elapsed_text((timezone.now() - value).total_seconds()) if value else ""
