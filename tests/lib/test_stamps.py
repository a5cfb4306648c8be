"""The cheap time filters print exactly what Django's date filters print."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.utils import timezone, translation

from helpdesk.lib import stamps

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
