"""The cheap time filters: the older ones print exactly what Django's date filters print; `stamp`
prints every time the product shows, as a <time> that static/js/live.js localizes."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.template import TemplateSyntaxError, engines
from django.utils import timezone, translation

from helpdesk.lib import stamps
from helpdesk.lib.stamps import fallback

render = lambda src, **ctx: engines["django"].from_string("{% load stamps %}" + src).render(ctx)  # noqa: E731

MOMENTS = [
    datetime(2026, 12, 1, 8, 5, 0, tzinfo=UTC),
    datetime(2026, 1, 31, 23, 59, 59, 123456, tzinfo=UTC),
    datetime(2025, 7, 4, 0, 0, 7, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_they_print_what_the_date_filters_print(moment, zone):
    with timezone.override(ZoneInfo(zone)), translation.override("en"):
        assert render("{{ v|iso }}", v=moment) == render("{{ v|date:'c' }}", v=moment)
        assert render("{{ v|hm }}", v=moment) == render('{{ v|time:"H:i" }}', v=moment)
        assert render("{{ v|day_hm }}", v=moment) == render('{{ v|date:"M j, H:i" }}', v=moment)
    assert render("{{ v|day_hm }}", v=MOMENTS[0]) == "Dec 1, 08:05"


def test_a_missing_time_prints_nothing():
    assert render("[{{ v|iso }}|{{ v|hm }}|{{ v|day_hm }}]", v=None) == "[||]"
    assert render("[{{ missing|iso }}]") == "[]"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<1 min"),
        (59, "<1 min"),
        (60, "1 min"),
        (12 * 60 + 30, "12 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (3 * 86400 + 60, "3 d"),
    ],
)
def test_elapsed_says_how_long_shortly(seconds, text):
    assert stamps.elapsed_text(seconds) == text


# ---------------------------------------------------------------- stamp: one <time> per time shown

NOW = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "ago,text",
    [
        (timedelta(seconds=5), "now"),
        (timedelta(seconds=-30), "now"),  # a clock a little ahead
        (timedelta(minutes=5, seconds=59), "5 min"),
        (timedelta(hours=3, minutes=1), "3 hr"),
        (timedelta(days=1, hours=2), "1 day"),
        (timedelta(days=6), "6 days"),
        (timedelta(days=20), "Nov 11"),
        (timedelta(days=400), "Oct 27, 2025"),
    ],
)
def test_relative_times_read_as_durations_then_days(ago, text):
    assert fallback(NOW - ago, "relative", NOW) == text


def test_a_message_time_is_the_clock_today_and_the_day_before():
    assert fallback(NOW.replace(hour=8, minute=5), "time", NOW) == "08:05"
    assert fallback(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "time", NOW) == "Nov 30, 23:59"
    assert fallback(NOW, "date", NOW) == "Dec 1, 2026"
    assert fallback(NOW, "datetime", NOW) == "Dec 1, 2026, 15:00"


def test_stamp_prints_a_time_element_that_the_script_can_rewrite():
    moment = datetime(2025, 7, 4, 9, 30, tzinfo=UTC)
    html = render('{{ v|stamp:"date" }}', v=moment)
    assert html == (
        '<time datetime="2025-07-04T09:30:00+00:00" data-time="date" title="Jul 4, 2025, 09:30 UTC">Jul 4, 2025</time>'
    )
    with timezone.override(ZoneInfo("Asia/Kolkata")):  # the server's zone, shown as such
        html = render('{{ v|stamp:"datetime" }}', v=moment)
    assert 'datetime="2025-07-04T15:00:00+05:30"' in html and ">Jul 4, 2025, 15:00<" in html and "IST" in html
    assert render('{{ v|stamp:"relative" }}', v=None) == ""
    with pytest.raises(TemplateSyntaxError):
        render('{{ v|stamp:"fortnight" }}', v=moment)


def test_every_time_the_product_prints_is_a_stamp():
    """No template prints a time with Django's date filters or a bare <time>: each goes through
    `stamp`, which live.js shows in the reader's zone and locale."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for path in templates.rglob("*.html"):
        text = path.read_text()
        for bad in ("|date:", "|time:", "<time", "|hm", "|day_hm", "|timesince"):
            if bad in text:
                offenders.append(f"{path.relative_to(templates)}: {bad}")
    assert offenders == []
