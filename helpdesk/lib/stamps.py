"""Template filters for the times that the inbox and the widget print on every row and message.

Django's `date` filter looks up the locale's formats and parses its format string on every
call, and the inbox prints a time on every row and every message of a page. These print the
same text (the values arrive in the current time zone, as for `date`) without that work:

    {{ value|iso }}         2026-12-01T08:30:00+00:00   (as |date:"c")
    {{ value|hm }}          08:30                       (as |time:"H:i")
    {{ value|day_hm }}      Dec 1, 08:30                (as |date:"M j, H:i")
    {{ value|elapsed }}     12 min                      (time since then; static/js/inbox.js keeps it current)

Load them with {% load stamps %}.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dates import MONTHS_3

register = template.Library()


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
    return f"{str(MONTHS_3[value.month]).title()} {value.day}, {value.hour:02d}:{value.minute:02d}"


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
