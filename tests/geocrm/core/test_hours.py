"""One opening-hours grammar: what the import accepts, the planner turns into the same windows."""

from __future__ import annotations

from datetime import date

import pytest

from geocrm.core import hours as core_hours
from geocrm.imports.hours import opening_hours_error
from geocrm.planning.hours import windows_on

H = 3600
MON, THU, FRI, SAT, SUN = (date(2026, 5, 11), date(2026, 5, 14), date(2026, 5, 15),
                           date(2026, 5, 16), date(2026, 5, 17))
XMAS_EVE = date(2026, 12, 24)  # a Thursday
WEEKDAY = [(8 * H, 17 * H)]

# Every value the import accepts, and the windows the planner must read from it.
ACCEPTED: list[tuple[str, date, list[tuple[int, int]]]] = [
    ("Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off", FRI, WEEKDAY),
    ("Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off", SAT, [(10 * H, 14 * H)]),
    ("Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off", SUN, []),
    ("Mo-Fr 08:00-17:00, Sa 10:00-14:00", SAT, [(10 * H, 14 * H)]),
    ("24/7", SUN, [(0, 24 * H)]),
    ("off", FRI, []),
    ("PH off", FRI, []),
    ("Mo,We 08:00-12:00,13:00-17:00", MON, [(8 * H, 12 * H), (13 * H, 17 * H)]),
    ("Mo-Th 11:00-23:00; Fr 11:00-24:00", FRI, [(11 * H, 24 * H)]),
    ("Fr-Sa 10:00-03:00", SAT, [(0, 3 * H), (10 * H, 24 * H)]),
    ("We-Sa 08:00-24:00, Su 09:00-22:00", SUN, [(9 * H, 22 * H)]),
    ("Jan-Mar Mo-Fr 10:00-16:00", FRI, []),
    ("May Mo-Fr 07:00-09:00; Jan-Mar 10:00-11:00", FRI, [(7 * H, 9 * H)]),
    ("Mo-Fr 08:00-17:00; Dec 24-26 off", XMAS_EVE, []),
    ("Mo-Fr,PH 09:00-12:00", FRI, [(9 * H, 12 * H)]),
    ("Mo[1] 09:00-10:00", date(2026, 5, 4), [(9 * H, 10 * H)]),
    ("Mo[1] 09:00-10:00", MON, []),
    ("week 01-53/2 Mo 09:00-10:00; week 02-52/2 Mo 14:00-15:00", MON, [(14 * H, 15 * H)]),
    ("18:00+", FRI, [(18 * H, 24 * H)]),
    ('Mo-Fr 08:00-17:00 "ring the bell"', FRI, WEEKDAY),
    ("sunrise-sunset", FRI, [(7 * H, 19 * H)]),
    ("mo-fr 8:00 - 17:00", FRI, WEEKDAY),
    ("Mo-Fr 08:00-17:00;", FRI, WEEKDAY),
    ("Mo-Su 08:00-20:00; Su off", SUN, []),
]

REFUSED = ["sometimes", "25:00-26:00", "Mo-Fr 9:75-17:00", "Mo-Fr", "call first",
           "Mo-Fr 08.00-17.00", "ma-pe 8-16", "x" * 600]


@pytest.mark.parametrize(("value", "day", "expected"), ACCEPTED)
def test_every_value_the_import_accepts_the_planner_reads_the_same(value, day, expected):
    """Regression: the import let in PH, [n], week and sun values the planner called unknown."""
    assert opening_hours_error(value) is None, value
    assert windows_on(value, day) == expected


@pytest.mark.parametrize("value", REFUSED)
def test_refused_values_say_why_and_the_planner_does_not_guess(value):
    """Garbage, impossible times and bare weekdays are rejects with a reason."""
    reason = opening_hours_error(value)
    assert reason and any(words in reason for words in (
        "cannot read", "no opening times", "longer than", "not a clock time", "must start by"
    )), reason
    if value != "Mo-Fr":  # a bare weekday range is OSM for "open all day"; the import wants times
        assert windows_on(value, FRI) is None


def test_public_holidays_with_a_country():
    """With a country, "PH off" closes the shop on that country's holidays (Ascension Day, FI)."""
    value = "Mo-Fr 08:00-17:00; PH off"
    assert windows_on(value, THU) == WEEKDAY
    assert core_hours.windows_on(value, THU, country="FI") == []
    assert core_hours.windows_on(value, FRI, country="FI") == WEEKDAY
    # an unknown country is not a guess
    assert core_hours.windows_on(value, THU, country="XX") is None


def test_sun_times_at_the_place():
    """Sun times follow the place: a Helsinki December day is short."""
    windows = core_hours.windows_on("sunrise-sunset", date(2026, 12, 15),
                                    coords=(60.17, 24.94), zone="Europe/Helsinki")
    assert windows and 9 * H < windows[0][0] < 10 * H and 15 * H < windows[0][1] < 16 * H


def test_unknown_state_is_none():
    """A value that says the state is unknown is reported as unknown, not as open or closed."""
    assert windows_on("Mo-Fr unknown", FRI) is None
    assert windows_on("", FRI) is None and windows_on(None, FRI) is None


def test_normalised_spelling():
    """Good values have one canonical spelling."""
    assert core_hours.normalise("mo-fr 8:00 - 17:00") == "Mo-Fr 08:00-17:00"
    assert core_hours.normalise("sometimes") is None


def test_the_planner_uses_the_configured_holiday_country(app):
    """GEOCRM_HOLIDAY_COUNTRY=FI closes "PH off" shops on Finnish holidays in the planner."""
    value = "Mo-Fr 08:00-17:00; PH off"
    assert windows_on(value, THU) == WEEKDAY
    app.config["GEOCRM_HOLIDAY_COUNTRY"] = "fi"
    assert windows_on(value, THU) == []  # Ascension Day
    assert windows_on(value, FRI) == WEEKDAY
