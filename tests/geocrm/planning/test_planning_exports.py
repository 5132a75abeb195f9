"""Plan exports: navigation links split per provider cap, iCalendar parsed back, CSV.

Pure functions over plain plan data: no app, no database.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from geocrm.planning import exports
from geocrm.planning.services import PlanView, StopView

HELSINKI = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 5, 15)  # UTC+3


def make_plan(n: int, name: str = "Kahvila") -> PlanView:
    stops = [
        StopView(id=100 + i, seq=i, account_id=i, name=f"{name} {i}", address=f"Katu {i}",
                 lat=60.1 + i / 1000, lon=24.9 + i / 1000, arrival=9 * 3600 + i * 3600 - 300,
                 start=9 * 3600 + i * 3600, departure=9 * 3600 + i * 3600 + 1800, travel_s=300,
                 distance_m=2500.0, pinned=i == 1, status="planned", wait_s=0)
        for i in range(1, n + 1)
    ]
    return PlanView(id=7, rep_id=3, rep_name="Anna Rep", day=DAY, status="published",
                    colour="#1f77b4", home=(60.17, 24.92), shift=(8 * 3600, 17 * 3600),
                    lunch=(12 * 3600, 1800), stops=stops, distance_m=9000.0,
                    day_start=9 * 3600, day_end=16 * 3600, return_travel_s=300, warnings=[])


def coords(url: str, key: str) -> list[str]:
    return parse_qs(urlsplit(url).query)[key]


# -- links ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n_points", "cap", "expected"), [
    (2, 2, [[0, 1]]),
    (5, 2, [[0, 1], [1, 2], [2, 3], [3, 4]]),
    (11, 11, [list(range(11))]),
    (12, 11, [list(range(11)), [10, 11]]),
    (27, 11, [list(range(11)), list(range(10, 21)), list(range(20, 27))]),
])
def test_split_legs_chains_without_gaps(n_points: int, cap: int, expected: list[list[int]]) -> None:
    """Each leg starts where the previous ended and holds at most ``cap`` points."""
    points = [(float(i), 0.0) for i in range(n_points)]
    legs = exports.split_legs(points, cap)
    assert [[int(p[0]) for p in leg] for leg in legs] == expected


def test_google_links_cap_nine_waypoints_and_cover_every_stop() -> None:
    """25 stops + home twice = 27 points → 3 Google links (9, 9 and 5 waypoints), chained."""
    plan = make_plan(25)
    points = exports.route_points(plan)
    links = exports.google_links(points)
    assert len(links) == 3
    waypoints = [coords(u, "waypoints")[0].split("|") for u in links]
    assert [len(w) for w in waypoints] == [9, 9, 5]
    assert coords(links[0], "origin") == ["60.170000,24.920000"]
    assert coords(links[-1], "destination") == ["60.170000,24.920000"]
    for a, b in zip(links, links[1:], strict=False):
        assert coords(a, "destination") == coords(b, "origin")
    visited = [p for u in links for p in coords(u, "waypoints")[0].split("|")]
    visited += [coords(u, "destination")[0] for u in links[:-1]]
    assert sorted(visited) == sorted(f"{s.lat:.6f},{s.lon:.6f}" for s in plan.stops)
    assert all(u.startswith("https://www.google.com/maps/dir/?api=1&") for u in links)


def test_short_day_is_one_google_link_without_empty_waypoints() -> None:
    """Home → one stop → home fits one link with a single waypoint."""
    (link,) = exports.google_links(exports.route_points(make_plan(1)))
    assert coords(link, "waypoints") == ["60.101000,24.901000"]


def test_apple_and_waze_one_destination_per_link() -> None:
    """Apple: one link per leg (saddr → daddr); Waze: one per destination incl. home."""
    plan = make_plan(3)
    points = exports.route_points(plan)
    apple = exports.apple_links(points)
    waze = exports.waze_links(points)
    assert len(apple) == len(waze) == 4
    assert coords(apple[0], "saddr") == ["60.170000,24.920000"]
    assert coords(apple[0], "daddr") == ["60.101000,24.901000"]
    assert coords(apple[1], "saddr") == coords(apple[0], "daddr")
    assert all(coords(u, "dirflg") == ["d"] for u in apple)
    assert [coords(u, "ll")[0] for u in waze] == [
        "60.101000,24.901000", "60.102000,24.902000", "60.103000,24.903000",
        "60.170000,24.920000"]
    assert all(coords(u, "navigate") == ["yes"] for u in waze)


# -- iCalendar --------------------------------------------------------------------------------
def unfold(text: str) -> list[str]:
    """RFC 5545 3.1: remove CRLF followed by one space/tab."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append({"n": "\n", "N": "\n"}.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_events(text: str) -> list[dict[str, str]]:
    events, current = [], None
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None and line:
            key, value = line.split(":", 1)
            current[key] = value
    return events


def test_ics_parses_back_with_escaping_folding_and_utc_times() -> None:
    """Names with commas, semicolons, backslashes, newlines and non-ASCII survive the round
    trip; lines are CRLF, at most 75 octets, never split inside a character; times are UTC."""
    plan = make_plan(2)
    plan.stops[0].name = 'Kahvila Ääkkönen; Oy, "Café" \\ Helsinki\nsecond line ' + "ä" * 40
    now = datetime(2026, 5, 14, 20, 0, 0)
    text = exports.plans_ics([plan], HELSINKI, domain="crm.example", now=now)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    raw = text.encode("utf-8")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # every folded piece is valid UTF-8 on its own
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and "VERSION:2.0" in lines
    assert "END:VCALENDAR" in lines
    events = parse_events(text)
    assert len(events) == 2
    first = events[0]
    assert unescape(first["SUMMARY"]) == "1. " + plan.stops[0].name
    assert first["DTSTART"] == "20260515T070000Z"  # 10:00 Helsinki summer time
    assert first["DTEND"] == "20260515T073000Z"
    assert first["DTSTAMP"] == "20260514T200000Z"
    assert first["UID"] == "geocrm-plan7-stop101@crm.example"
    assert first["GEO"] == "60.101000;24.901000"
    assert "Pinned by the planner" in unescape(first["DESCRIPTION"])
    assert len({e["UID"] for e in events}) == 2


def test_ics_winter_time_uses_the_other_offset() -> None:
    """The same local 10:00 in January (UTC+2) is 08:00Z."""
    plan = make_plan(1)
    plan.day = date(2026, 1, 16)
    (event,) = parse_events(exports.plans_ics([plan], HELSINKI, domain="x"))
    assert event["DTSTART"] == "20260116T080000Z"


def test_fold_counts_octets_not_characters() -> None:
    """208 octets ("SUMMARY:" + 100 two-byte letters): the first piece stops at 74 octets
    (75 would cut an 'ä' in half), then 1 space + 74 octets, then 1 space + the last 60."""
    line = "SUMMARY:" + "ä" * 100
    folded = exports.fold(line)
    pieces = folded.split("\r\n")
    assert [len(p.encode()) for p in pieces] == [74, 75, 61]
    assert all(p.startswith(" ") for p in pieces[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == line


# -- CSV --------------------------------------------------------------------------------------
def test_csv_rows_and_formula_injection() -> None:
    """One row per stop in local time; a name starting with '=' is neutralised."""
    plan = make_plan(2)
    plan.stops[1].name = "=HYPERLINK(\"http://evil\")"
    rows = list(csv.reader(io.StringIO(exports.plans_csv([plan], keys=True))))
    assert rows[0] == exports.CSV_HEADER
    assert rows[1][:5] == ["2026-05-15", "Anna Rep", "1", "1", "Kahvila 1"]
    assert rows[1][8:11] == ["09:55", "10:00", "10:30"]
    assert rows[1][14] == "yes"
    assert rows[2][4].startswith("'=")
    assert len(rows) == 3
