"""Opening hours evaluated on a day: the windows the planner gives the solver."""

from __future__ import annotations

from datetime import date

import pytest

from geocrm.planning.hours import windows_on

FRI, SAT, SUN, MON = date(2026, 5, 15), date(2026, 5, 16), date(2026, 5, 17), date(2026, 5, 18)
H = 3600


@pytest.mark.parametrize(("value", "day", "expected"), [
    ("Mo-Fr 09:00-12:00,13:00-17:00; Sa 10:00-14:00", FRI, [(9 * H, 12 * H), (13 * H, 17 * H)]),
    ("Mo-Fr 09:00-12:00,13:00-17:00; Sa 10:00-14:00", SAT, [(10 * H, 14 * H)]),
    ("Mo-Fr 09:00-12:00,13:00-17:00; Sa 10:00-14:00", SUN, []),
    ("Mo-Fr 09:00-17:00, Sa 10:00-14:00", SAT, [(10 * H, 14 * H)]),
    ("Mo-Su 08:00-20:00; Su off", SUN, []),
    ("Mo-Su 08:00-20:00; Su off", SAT, [(8 * H, 20 * H)]),
    ("Sa-Mo 10:00-12:00", MON, [(10 * H, 12 * H)]),
    ("Sa-Mo 10:00-12:00", FRI, []),
    ("Mo,We 10:00-12:30", MON, [(10 * H, 12 * H + 1800)]),
    ("24/7", SUN, [(0, 24 * H)]),
    ("18:00+", FRI, [(18 * H, 24 * H)]),
    # Past midnight: Friday gets Thursday night's early part and its own evening.
    ("Mo-Fr 22:00-02:00", FRI, [(0, 2 * H), (22 * H, 24 * H)]),
    ("Mo-Fr 09:00-11:00,10:30-12:00", FRI, [(9 * H, 12 * H)]),
    ("May Mo-Fr 07:00-09:00; Jan-Mar 10:00-11:00", FRI, [(7 * H, 9 * H)]),
    ("Mo-Fr 09:00-17:00; May 15 off", FRI, []),
    ("Mo-Fr 09:00-17:00; Dec 24-26 off", FRI, [(9 * H, 17 * H)]),
    ("Mo-Fr,PH 09:00-12:00", FRI, [(9 * H, 12 * H)]),
    ("Mo-Fr 09:00-17:00; PH off", FRI, [(9 * H, 17 * H)]),
    ('Mo-Fr 09:00-17:00 "ring the bell"', FRI, [(9 * H, 17 * H)]),
])
def test_windows(value: str, day: date, expected: list[tuple[int, int]]) -> None:
    """Weekday ranges and lists, lunch closures, overrides, open ends, months, holidays."""
    assert windows_on(value, day) == expected


@pytest.mark.parametrize("value", ["", None, "Mo-Fr unknown", "whenever", "Mo-Fr 9:75-17:00"])
def test_unknown_is_none_not_a_guess(value: str | None) -> None:
    """What the evaluator cannot read answers None (the planner treats it as open, with a note)."""
    assert windows_on(value, FRI) is None
