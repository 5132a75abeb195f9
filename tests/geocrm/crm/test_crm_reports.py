"""Reports on a small hand-built fixture, compared with numbers worked out by hand.

The fixture (on top of the tiny world: West = W1 Kahvila Aalto, W2 Kirja & Co; East =
E1 Itä Bakery, E2 <script> Oy; U Far Away Ltd unassigned), as of Sunday 2024-06-30:

| account | cadence | last visit  | days since | covered | overdue by |
| W1      | 14      | 2024-06-20  | 10         | yes     |            |
| W2      | 7       | 2024-06-10  | 20         | no      | 13         |
| E1      | 30      | never       |            | no      | never      |
| E2      | —       | 2024-06-29  | 1          | (no cadence)        |
| U       | 30      | 2024-05-31  | 30         | yes (boundary)      |

Visits in the week 2024-06-24 (Mon) .. 06-30: West rep 06-24 ×2 and 06-26 at W1, 06-25 at
W2; East rep 06-24 at E1, 06-26 at W1 (another territory's account), 06-27 23:30 at E2.
Outside: East rep 06-23 at E1; a call (not a visit) by the West rep on 06-25.

Every report is checked as admin, manager, and each rep: that is the scoping test.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from decimal import Decimal

import pytest

from geocrm.crm import reports
from geocrm.extensions import db
from geocrm.models import (
    InteractionKind,
    Opportunity,
    OpportunityStage,
    PlanStatus,
    RoutePlan,
    RouteStop,
)
from tests.factories import make_interaction

AS_OF = date(2024, 6, 30)
WEEK = (date(2024, 6, 24), date(2024, 6, 30))


def _hav(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle metres, written out again here so the test does not trust the app's."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


@pytest.fixture
def fx(world):
    """The fixture in the module docstring; returns the world with names for the accounts."""
    w1, w2 = world.west_accounts
    e1, e2 = world.east_accounts
    u = world.unassigned
    west, east = world.rep_west, world.rep_east
    for a, cadence, last in (
        (w1, 14, datetime(2024, 6, 20, 15, 0)),
        (w2, 7, datetime(2024, 6, 10, 9, 0)),
        (e1, 30, None),
        (e2, None, datetime(2024, 6, 29, 8, 0)),
        (u, 30, datetime(2024, 5, 31, 23, 59)),
    ):
        a.cadence_days, a.last_visit_at = cadence, last
    v = InteractionKind.VISIT
    make_interaction(w1, west, kind=v, occurred_at=datetime(2024, 6, 24, 9, 0),
                     checkin_at=datetime(2024, 6, 24, 9, 0), checkin_lat=60.16, checkin_lon=24.91,
                     checkin_accuracy_m=10)
    make_interaction(w1, west, kind=v, occurred_at=datetime(2024, 6, 24, 14, 0))
    make_interaction(w1, west, kind=v, occurred_at=datetime(2024, 6, 26, 10, 0))
    make_interaction(w2, west, kind=v, occurred_at=datetime(2024, 6, 25, 11, 0))
    make_interaction(w1, west, kind=InteractionKind.CALL, occurred_at=datetime(2024, 6, 25, 12))
    make_interaction(e1, east, kind=v, occurred_at=datetime(2024, 6, 24, 10, 0))
    make_interaction(w1, east, kind=v, occurred_at=datetime(2024, 6, 26, 12, 0))
    make_interaction(e1, east, kind=v, occurred_at=datetime(2024, 6, 23, 10, 0))
    # Earlier visits for the falling-frequency window (prior: 2024-01-03 .. 2024-04-01).
    for a, days in (
        (w1, ["2024-02-01", "2024-03-01", "2024-03-15"]),
        (w2, ["2024-02-10", "2024-03-10"]),
        (e2, ["2024-01-15", "2024-02-15", "2024-03-15", "2024-03-30"]),
        (e1, ["2024-03-01"]),
        (u, ["2024-02-01"]),
    ):
        for d in days:
            make_interaction(a, west if a in (w1, w2) else east, kind=v,
                             occurred_at=datetime.fromisoformat(d + "T10:00"))
    make_interaction(u, world.manager, kind=v, occurred_at=datetime(2024, 4, 1, 23, 59))
    make_interaction(u, world.manager, kind=v, occurred_at=datetime(2024, 4, 2, 0, 0))  # recent
    # Plans: West's published day with 3 stops, East's with 2; a draft and an archived one.
    p1 = RoutePlan(rep_id=west.id, plan_date=date(2024, 6, 24), status=PlanStatus.PUBLISHED,
                   distance_m=12345.0)
    p2 = RoutePlan(rep_id=east.id, plan_date=date(2024, 6, 27), status=PlanStatus.PUBLISHED,
                   distance_m=8000.0)
    p3 = RoutePlan(rep_id=east.id, plan_date=date(2024, 6, 24), status=PlanStatus.DRAFT,
                   distance_m=5000.0)
    p4 = RoutePlan(rep_id=west.id, plan_date=date(2024, 6, 24), status=PlanStatus.ARCHIVED,
                   distance_m=9000.0)
    db.session.add_all([p1, p2, p3, p4])
    db.session.flush()
    db.session.add_all([
        RouteStop(plan_id=p1.id, seq=1, account_id=w1.id),  # visited that day (account match)
        RouteStop(plan_id=p1.id, seq=2, account_id=w2.id),  # visited the next day: not done
        RouteStop(plan_id=p1.id, seq=3, account_id=e1.id, status="visited"),
        RouteStop(plan_id=p3.id, seq=1, account_id=e1.id, status="visited"),
        RouteStop(plan_id=p4.id, seq=1, account_id=w2.id, status="visited"),
    ])
    e2_stop = RouteStop(plan_id=p2.id, seq=1, account_id=e2.id)
    db.session.add_all([e2_stop, RouteStop(plan_id=p2.id, seq=2, account_id=e1.id)])
    db.session.flush()
    make_interaction(e2, east, kind=v, occurred_at=datetime(2024, 6, 27, 23, 30),
                     checkin_lat=60.19, checkin_lon=24.98, route_stop_id=e2_stop.id)
    # Opportunities.
    for a, stage, amount in (
        (w1, OpportunityStage.QUALIFY, "1000.00"),
        (w1, OpportunityStage.WON, "500.00"),
        (w2, OpportunityStage.PROPOSAL, "2500.50"),
        (e1, OpportunityStage.NEGOTIATION, "4000"),
        (e1, OpportunityStage.LOST, "300"),
        (u, OpportunityStage.QUALIFY, None),
    ):
        db.session.add(Opportunity(account_id=a.id, name=f"{a.name} deal", stage=stage,
                                   amount=None if amount is None else Decimal(amount),
                                   closed=stage in (OpportunityStage.WON, OpportunityStage.LOST)))
    db.session.commit()
    return world


# -- visits per rep -----------------------------------------------------------------------------


def _by_name(report):
    return {row[1]: row[2:] for row in report.rows}


def test_visits_per_rep_per_day_as_admin_and_manager(fx):
    """Admin and manager: every visit in the week, per rep and day; calls and other weeks out."""
    days = ["2024-06-24", "2024-06-25", "2024-06-26", "2024-06-27", "2024-06-28", "2024-06-29",
            "2024-06-30"]
    for viewer in (fx.admin, fx.manager):
        r = reports.visits_per_rep(viewer, *WEEK)
        assert r.columns == ["rep_id", "rep", *days, "total"]
        assert _by_name(r) == {"East": [1, 0, 1, 1, 0, 0, 0, 3], "West": [2, 1, 1, 0, 0, 0, 0, 4]}
        assert r.totals == ["", "total", 3, 1, 2, 1, 0, 0, 0, 7]


def test_visits_per_rep_per_week_and_rep_scope(fx):
    """Per ISO week where weeks start on Monday; a rep counts only visits at accounts they may
    see."""
    r = reports.visits_per_rep(fx.admin, *WEEK, group="week", first_day=0)
    assert r.columns == ["rep_id", "rep", "2024-W26", "total"]
    assert _by_name(r) == {"East": [3, 3], "West": [4, 4]}
    west = reports.visits_per_rep(fx.rep_west, *WEEK, group="week", first_day=0)
    # The East rep's visit at W1 is at a West account: the West rep sees it.
    assert _by_name(west) == {"East": [1, 1], "West": [4, 4]}
    east = reports.visits_per_rep(fx.rep_east, *WEEK)
    assert _by_name(east) == {"East": [1, 0, 0, 1, 0, 0, 0, 2]}
    assert east.totals[-1] == 2


# -- coverage -----------------------------------------------------------------------------------


def test_coverage_per_territory_by_viewer(fx):
    """Share of accounts with a cadence visited within it; the 30-days-for-30 boundary counts."""
    expected = {
        "East": [2, 1, 0, 1, 0.0],
        "West": [2, 2, 1, 1, 50.0],
        "(unassigned)": [1, 1, 1, 0, 100.0],
    }
    for viewer in (fx.admin, fx.manager, fx.planner):
        r = reports.coverage(viewer, AS_OF)
        assert _by_name(r) == expected
        assert r.totals == ["", "total", 5, 4, 2, 2, 50.0]
    assert _by_name(reports.coverage(fx.rep_west, AS_OF)) == {"West": [2, 2, 1, 1, 50.0]}
    east = reports.coverage(fx.rep_east, AS_OF)
    assert _by_name(east) == {"East": [2, 1, 0, 1, 0.0]}
    assert east.totals == ["", "total", 2, 1, 0, 1, 0.0]
    # One day later the unassigned account (cadence 30, last visit 05-31) is overdue.
    later = _by_name(reports.coverage(fx.admin, date(2024, 7, 1)))
    assert later["(unassigned)"] == [1, 1, 0, 1, 0.0]


# -- drift ----------------------------------------------------------------------------------------


def test_overdue_by_cadence(fx):
    """Never-visited first, then by days overdue; a rep sees only their accounts."""
    w2, e1 = fx.west_accounts[1], fx.east_accounts[0]
    r = reports.overdue_accounts(fx.admin, AS_OF)
    assert r.rows == [
        [e1.id, "Itä Bakery", "East", 30, "never", None, None],
        [w2.id, "Kirja & Co", "West", 7, "2024-06-10", 20, 13],
    ]
    assert r.extra["total"] == 2
    assert reports.overdue_accounts(fx.manager, AS_OF).rows == r.rows
    assert [row[0] for row in reports.overdue_accounts(fx.rep_west, AS_OF).rows] == [w2.id]
    assert [row[0] for row in reports.overdue_accounts(fx.rep_east, AS_OF).rows] == [e1.id]


def test_falling_visit_frequency(fx):
    """90 days vs the 90 before: E2 4→1, W2 2→1, U 2→1 (a visit at the window edge is recent)."""
    w1, w2 = fx.west_accounts
    e1, e2 = fx.east_accounts
    r = reports.falling_frequency(fx.admin, AS_OF, window=90)
    assert r.rows == [
        [e2.id, "<script>alert(1)</script> Oy", "East", 4, 1, -75.0],
        [w2.id, "Kirja & Co", "West", 2, 1, -50.0],
        [fx.unassigned.id, "Far Away Ltd", "(unassigned)", 2, 1, -50.0],
    ]
    assert [row[0] for row in reports.falling_frequency(fx.manager, AS_OF).rows] == [
        e2.id, w2.id, fx.unassigned.id]
    assert [row[0] for row in reports.falling_frequency(fx.rep_west, AS_OF).rows] == [w2.id]
    assert [row[0] for row in reports.falling_frequency(fx.rep_east, AS_OF).rows] == [e2.id]
    assert w1.id not in [row[0] for row in r.rows] and e1.id not in [row[0] for row in r.rows]


# -- planned vs done ----------------------------------------------------------------------------


def test_planned_vs_done(fx):
    """Published plans only; done = marked, linked or visited that day; km from check-ins."""
    est_west = round(2 * _hav(60.17, 24.92, 60.16, 24.91) * 1.3 / 1000, 1)
    est_east = round(2 * _hav(60.17, 24.97, 60.19, 24.98) * 1.3 / 1000, 1)
    west, east = fx.rep_west.id, fx.rep_east.id
    for viewer in (fx.admin, fx.manager, fx.planner):
        r = reports.planned_vs_done(viewer, *WEEK)
        assert r.rows == [
            [west, "West", "2024-06-24", 3, 2, 66.7, 12.3, est_west],
            [east, "East", "2024-06-27", 2, 1, 50.0, 8.0, est_east],
        ]
        assert r.totals == ["", "total", "", 5, 3, 60.0, 20.3, round(est_west + est_east, 1)]
    # A rep: own plans only, and only the stops at accounts they may see (E1 is East's).
    assert reports.planned_vs_done(fx.rep_west, *WEEK).rows == [
        [west, "West", "2024-06-24", 2, 1, 50.0, 12.3, est_west]]
    assert reports.planned_vs_done(fx.rep_east, *WEEK).rows == [
        [east, "East", "2024-06-27", 2, 1, 50.0, 8.0, est_east]]
    # By hand: 0.01° of latitude is 1112 m and 0.01° of longitude at 60.2°N 553 m, so
    # home→W1 is √(1112² + 553²) = 1242 m, ×2 legs ×1.3 = 3.2 km; home→E2 is
    # √(2224² + 553²) = 2292 m, ×2 ×1.3 = 6.0 km.
    assert est_west == 3.2 and est_east == 6.0


# -- pipeline ------------------------------------------------------------------------------------


def test_pipeline_by_territory(fx):
    """Count and amount per stage and territory; open = qualify + proposal + negotiation."""
    d = Decimal
    z = d("0.00")
    r = reports.pipeline_by_territory(fx.admin)
    assert r.columns[2:6] == ["qualify_count", "qualify_amount", "proposal_count",
                              "proposal_amount"]
    assert _by_name(r) == {
        "East": [0, z, 0, z, 1, d("4000.00"), 0, z, 1, d("300.00"), 1, d("4000.00")],
        "West": [1, d("1000.00"), 1, d("2500.50"), 0, z, 1, d("500.00"), 0, z, 2, d("3500.50")],
        "(unassigned)": [1, z, 0, z, 0, z, 0, z, 0, z, 1, z],
    }
    assert r.totals[2:] == [2, d("1000.00"), 1, d("2500.50"), 1, d("4000.00"), 1, d("500.00"),
                            1, d("300.00"), 4, d("7500.50")]
    assert _by_name(reports.pipeline_by_territory(fx.manager)) == _by_name(r)
    assert list(_by_name(reports.pipeline_by_territory(fx.rep_west))) == ["West"]
    assert list(_by_name(reports.pipeline_by_territory(fx.rep_east))) == ["East"]


# -- pages and CSV -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["visits", "coverage", "overdue", "falling", "planned",
                                 "pipeline"])
def test_every_report_exports_csv_scoped(fx, client, auth, key):
    """Each report's CSV is its rows plus totals, scoped to the signed-in rep."""
    auth.login("west@example.com")
    args = "start=2024-06-24&end=2024-06-30&as_of=2024-06-30"
    r = client.get(f"/crm/reports/{key}?format=csv&header=keys&{args}")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    text = r.get_data(as_text=True)
    assert "Itä Bakery" not in text and "script" not in text  # East's accounts stay out
    page = client.get(f"/crm/reports/{key}?{args}")
    assert page.status_code == 200
    assert "<svg" in page.get_data(as_text=True) or key in ("overdue", "falling")
    if key == "coverage":
        assert rows == [
            ["territory_id", "territory", "accounts", "with_cadence", "covered", "overdue",
             "covered_pct"],
            [str(fx.west.id), "West", "2", "2", "1", "1", "50.0"],
            ["", "total", "2", "2", "1", "1", "50.0"],
        ]
    if key == "overdue":
        assert rows[1][1] == "Kirja & Co" and len(rows) == 2


def test_report_pages_escape_names_and_reject_bad_input(fx, client, auth):
    """Account names are escaped on report pages; a bad date is a 422 naming the field."""
    auth.login("admin@example.com")
    html = client.get("/crm/reports/falling?as_of=2024-06-30").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Oy" in html
    assert "<script>alert(1)" not in html
    r = client.get("/crm/reports/visits?start=yesterday")
    assert r.status_code == 422 and b"start" in r.data
    assert client.get("/crm/reports/nope").status_code == 404
    assert client.get("/crm/reports/visits?group=month").status_code == 422


def test_weeks_start_on_the_readers_first_day(fx):
    """Korean and Japanese calendars start on Sunday: Mon 24 - Sun 30 June is two weeks,
    labelled by their first days; the same week in a Monday locale is one ISO week."""
    sunday = reports.visits_per_rep(fx.admin, *WEEK, group="week", first_day=6)
    assert sunday.columns == ["rep_id", "rep", "2024-06-23", "2024-06-30", "total"]
    assert sum(sum(row[2:-1]) for row in sunday.rows) == 7
    assert reports.week_label(WEEK[0], 0) == "2024-W26"
    assert reports.week_label(WEEK[1], 6) == "2024-06-30"


def test_report_csv_header_in_the_readers_language(fx, client, auth):
    """Without ?header=keys the CSV's header and totals label are in the reader's language."""
    auth.login("west@example.com")
    args = "format=csv&as_of=2024-06-30"
    rows = {lang: list(csv.reader(io.StringIO(client.get(
        f"/crm/reports/coverage?{args}", headers={"Accept-Language": lang}).get_data(
        as_text=True)))) for lang in ("en", "ko", "ja")}
    assert rows["en"][0] == ["ID", "Territory", "Accounts", "With a cadence", "Covered",
                             "Overdue", "Covered %"]
    assert rows["en"][-1][1] == "Total"
    assert rows["ko"][0][1:3] == ["영업 구역", "거래처"] and rows["ko"][-1][1] == "합계"
    assert rows["ja"][0][1] == "営業エリア" and rows["ja"][-1][1] == "合計"
    assert rows["ko"][1][1:] == rows["en"][1][1:]  # the data itself is the same
