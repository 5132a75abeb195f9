"""Planning's typed request and result, its transaction rule, and issue 15's app side: plans
that start now, real drive minutes, the library's reasons, a re-plan a person can read —
on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

import routing
from geocrm import clock, jobs
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import PlanStatus, RoutePlan, RouteStop, User
from geocrm.models.planning import JobStatus, PlanRun
from geocrm.planning import services
from geocrm.planning.notes import english, english_all
from geocrm.planning.request import Pin, PlanRequest, submit
from geocrm.planning.results import DaySummary, LeftOutVisit, PlanResult
from geocrm.spatial import haversine_m
from tests.conftest import AuthActions
from tests.factories import World, make_account, make_interaction

HELSINKI = ZoneInfo("Europe/Helsinki")
FRIDAY = date(2026, 5, 15)
MONDAY = FRIDAY + timedelta(days=3)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "GEOCRM_TIMEZONE": "Europe/Helsinki",
            "GEOCRM_PLAN_TIME_LIMIT": 0.5, "GEOCRM_REPLAN_TIME_LIMIT": 0.5}


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the app's one clock (``geocrm.clock.local_now``) to a local time on a day."""

    def at(day: date, hh: int, mm: int) -> datetime:
        now = datetime.combine(day, time(hh, mm), tzinfo=HELSINKI)
        monkeypatch.setattr(clock, "local_now", lambda: now)
        return now

    return at


def travel_s(a: tuple[float, float], b: tuple[float, float]) -> int:
    """The solver's travel model by hand: great circle × 1.3 at 30 km/h."""
    return round(round(haversine_m(*a, *b) * 1.3) / (30 / 3.6))


def plan(world: World, user: User | None = None, **kw: Any) -> PlanRun:
    fields: dict[str, Any] = {"rep_ids": (world.rep_west.id,), "start": FRIDAY, "end": FRIDAY}
    fields.update(kw)
    run = services.start_run(user or world.planner, PlanRequest(**fields))
    db.session.commit()
    job = jobs.wait_for_job(run.job_id, timeout=60)
    assert job.status == JobStatus.DONE, job.error
    db.session.expire_all()
    return db.session.get(PlanRun, run.id)


def local_s(value: datetime | None) -> int:
    out = services.to_local_seconds(FRIDAY, value, HELSINKI)
    assert out is not None
    return out


# -- the typed request and result -------------------------------------------------------------
def test_plan_request_round_trips_through_json(app: Flask) -> None:
    """Every field of a request survives to_json → from_json unchanged."""
    req = PlanRequest((3, 1), FRIDAY, MONDAY, territory_ids=(7,), segment_id=9,
                      overdue_only=False, account_ids=(5, 4), by_cadence=True,
                      holidays=(MONDAY,), pins=(Pin(4, 3, FRIDAY), Pin(5, 1, MONDAY)))
    assert PlanRequest.from_json(req.to_json()) == req
    assert PlanRequest.from_json(PlanRequest((1,), FRIDAY, FRIDAY).to_json()).pins == ()


@pytest.mark.parametrize(("change", "field"), [
    ({"rep_ids": "1,2"}, "rep_ids"),
    ({"rep_ids": ["x"]}, "rep_ids"),
    ({"start": None}, "start"),
    ({"end": "15.5.2026"}, "end"),
    ({"end": "2026-05-01"}, "end"),
    ({"by_cadence": "yes"}, "by_cadence"),
    ({"holidays": ["next friday"]}, "holidays"),
    ({"pins": {"4": {"rep_id": 3, "date": "friday"}}}, "pins"),
    ({"pins": {"x": {"rep_id": 3, "date": "2026-05-15"}}}, "pins"),
    ({"segment_id": "seg"}, "segment_id"),
])
def test_plan_request_from_json_names_the_bad_field(change: dict[str, Any], field: str) -> None:
    """Stored parameters that are not what a request holds are refused, naming the field."""
    data = {**PlanRequest((1,), FRIDAY, FRIDAY).to_json(), **change}
    with pytest.raises(ValidationError) as err:
        PlanRequest.from_json(data)
    assert err.value.field == field


def test_plan_result_round_trips_and_checks_itself() -> None:
    """The result survives to_json → from_json; broken stored results name what is wrong."""
    result = PlanResult((LeftOutVisit(4, "Kahvila", "2026-05-15", "no_room", "no room"),),
                        ("a note",), (DaySummary("2026-05-15", 2, 5, 4, 0.5),), 5.0, "cadence",
                        "2026-05-14T10:00:00Z")
    assert PlanResult.from_json(result.to_json()) == result
    assert result.served == 4 and result.without(4).unassigned == ()
    assert PlanResult.from_json({}) == PlanResult()
    for bad, field in (({"days": [{"date": "x"}]}, "days"), ({"mode": "weekly"}, "mode"),
                       ({"unassigned": [{"name": "no id"}]}, "unassigned")):
        with pytest.raises(ValidationError) as err:
            PlanResult.from_json(bad)
        assert err.value.field == field


def test_run_stores_the_frozen_request_and_the_job_reads_it_whole(app: Flask,
                                                                  world: World) -> None:
    """The run keeps the request with its matching accounts; the job reads it back whole,
    and a run whose stored request was damaged fails with the field's name."""
    run = plan(world)
    stored = PlanRequest.of_run(run)
    assert stored == PlanRequest((world.rep_west.id,), FRIDAY, FRIDAY,
                                 account_ids=tuple(sorted(a.id for a in world.west_accounts)))
    assert PlanResult.of_run(run).served == 2
    run.params = {**run.params, "by_cadence": "yes"}
    job = submit(run, world.planner)
    db.session.commit()
    done = jobs.wait_for_job(job.id, timeout=60)
    assert done.status == JobStatus.FAILED
    assert done.error == "by_cadence: 'yes' is not true or false"


def test_services_flush_and_the_caller_commits(app: Flask, world: World) -> None:
    """Pin, reorder, add by hand and publish change nothing once the caller rolls back."""
    world.rep_west.max_visits_per_day = 1
    db.session.commit()
    run = plan(world)
    (stop,) = run.plans[0].stops
    left = PlanResult.of_run(run).unassigned[0]
    services.toggle_pin(stop)
    services.assign_unassigned(run, left.account_id, world.rep_west.id, FRIDAY)
    services.move_stop(stop, "down" if stop.seq == 1 else "up")
    services.publish(run)
    db.session.rollback()
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    assert run.status == PlanStatus.DRAFT
    assert [(s.account_id, s.seq, s.pinned) for s in run.plans[0].stops] == [
        (stop.account_id, 1, False)]
    assert [u.account_id for u in PlanResult.of_run(run).unassigned] == [left.account_id]


# -- plans start now ----------------------------------------------------------------------------
def test_planning_today_after_the_shift_began_starts_now_and_says_so(
    app: Flask, world: World, set_clock: Any, client: FlaskClient, auth: AuthActions
) -> None:
    """At 14:15 on Friday, Friday's route starts at 14:15 from home (not at 08:00), and the
    run page and the plan say why; Monday's route still starts with the shift."""
    set_clock(FRIDAY, 14, 15)
    run = plan(world, end=MONDAY)
    friday = next(p for p in run.plans if p.plan_date == FRIDAY)
    monday = next(p for p in run.plans if p.plan_date == MONDAY)
    home = (world.rep_west.home_lat, world.rep_west.home_lon)
    first = min(friday.stops, key=lambda s: s.seq)
    now_s = 14 * 3600 + 15 * 60
    assert local_s(first.arrival) == now_s + travel_s(home, (first.account.lat,
                                                              first.account.lon))
    assert friday.params["start_at"] == now_s and friday.params["day_start"] == now_s
    note = ("Planned at 14:15, after West's working day began (08:00): the route starts now, "
            "from home.")
    assert english(friday.params["start_note"]) == note
    assert f"Fri, May 15, 2026: {note}" in english_all(PlanResult.of_run(run).notes)
    assert "start_note" not in monday.params
    assert monday.params["day_start"] < 9 * 3600
    auth.login(world.planner.email)
    page = html.unescape(client.get(f"/planning/runs/{run.id}").get_data(as_text=True))
    assert f'plan-start-note">{note}</p>' in page
    page = html.unescape(client.get(f"/planning/plans/{friday.id}").get_data(as_text=True))
    assert note in page


def test_planning_today_starts_from_the_last_check_in(
    app: Flask, world: World, set_clock: Any, client: FlaskClient, auth: AuthActions
) -> None:
    """A rep who checked in somewhere today starts the rest of the day from there (and the
    map's route line starts there too)."""
    set_clock(FRIDAY, 14, 15)
    kirja = world.west_accounts[1]
    make_interaction(kirja, world.rep_west, checkin_at=datetime(2026, 5, 15, 10, 50),
                     checkin_lat=60.1801, checkin_lon=24.9302)
    make_interaction(kirja, world.rep_west, checkin_at=datetime(2026, 5, 14, 10, 50),
                     checkin_lat=60.0, checkin_lon=24.0)  # yesterday: not where they are
    db.session.commit()
    run = plan(world)
    (friday,) = run.plans
    assert friday.params["start"] == [60.1801, 24.9302]
    assert english(friday.params["start_note"]).endswith("from your check-in at Kirja & Co.")
    first = min(friday.stops, key=lambda s: s.seq)
    assert first.account_id == kirja.id  # a few metres away: the obvious first stop
    assert first.travel_s == travel_s((60.1801, 24.9302), (kirja.lat, kirja.lon))
    auth.login(world.planner.email)
    page = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    # the map's route (drawn by plan_page.js from the page data) starts at the check-in
    data = json.loads(re.search(r'id="geocrm-data">(.*?)</script>', page, re.S).group(1))
    assert data["planMap"]["plans"][0]["start"] == [60.1801, 24.9302]


def test_planning_today_after_the_shift_ended_plans_nothing_and_says_why(
    app: Flask, world: World, set_clock: Any
) -> None:
    """At 17:30 the day is over: no route, and each account says so."""
    set_clock(FRIDAY, 17, 30)
    run = plan(world)
    assert run.plans == []
    result = PlanResult.of_run(run)
    assert {(u.reason, u.text) for u in result.unassigned} == {
        ("day_over", "the chosen reps' working day is already over")}
    assert ("Fri, May 15, 2026: West's working day ended at 17:00; nothing planned for them "
            "today.") in english_all(result.notes)


# -- drive minutes and reasons on the pages -------------------------------------------------------
def test_drive_text(app: Flask) -> None:
    """Drive times read in whole minutes with the distance; a short city leg is not "0 min"."""
    assert services.drive_text(47, 556.0) == "1 min · 560 m"
    assert services.drive_text(6, 47.0) == "<1 min · 50 m"
    assert services.drive_text(629, 4321.0) == "10 min · 4.3 km"
    assert services.drive_text(0, 0.0) == "—"
    assert services.drive_text(95) == "2 min"


def test_drive_column_shows_each_legs_real_minutes(app: Flask, world: World, client: FlaskClient,
                                                   auth: AuthActions) -> None:
    """Shops a couple of hundred metres apart: each leg's drive is shown (not "0 min" for
    every stop, as when seconds were floored to minutes)."""
    home = (world.rep_west.home_lat, world.rep_west.home_lon)
    shops = [make_account(f"Corner {i}", home[0] + 0.002 * i, home[1], territory_id=world.west.id)
             for i in (1, 2, 3)]
    db.session.commit()
    run = plan(world, account_ids=tuple(a.id for a in shops))
    stops = sorted(run.plans[0].stops, key=lambda s: s.seq)
    assert sum(0 < s.travel_s < 60 for s in stops) >= 2  # legs that used to read "0 min"
    auth.login(world.planner.email)
    page = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    cells = [html.unescape(c) for c in re.findall(r'<td class="stop-drive">([^<]*)</td>', page)]
    assert cells == [services.drive_text(s.travel_s, s.distance_m) for s in stops]
    assert "0 min" not in " ".join(cells)
    run.plans[0].status = PlanStatus.PUBLISHED
    run.status = PlanStatus.PUBLISHED
    db.session.commit()
    auth.login(world.rep_west.email)
    page = html.unescape(client.get(f"/planning/plans/{run.plans[0].id}").get_data(as_text=True))
    assert re.findall(r'<span class="stop-drive">([^<]*)</span>', page) == cells


def test_left_out_visits_show_the_routing_librarys_reason(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the library says about a visit it left out is what the planner reads (its
    code and words), not a generic "priority"."""
    world.rep_west.max_visits_per_day = 1
    db.session.commit()
    real = routing.solve
    words = "no room in any route today: every rep who could go has a full day"

    def solve(*args: Any, **kwargs: Any) -> routing.Plan:
        out = real(*args, **kwargs)
        return dataclasses.replace(out, unassigned=tuple(
            dataclasses.replace(u, text=words) for u in out.unassigned))

    monkeypatch.setattr(routing, "solve", solve)
    run = plan(world)
    (left,) = PlanResult.of_run(run).unassigned
    assert (left.reason, left.text) == ("capacity", words)
    auth.login(world.planner.email)
    page = html.unescape(client.get(f"/planning/runs/{run.id}").get_data(as_text=True))
    row = re.search(r'<tr class="unassigned-row"[^>]*data-reason="([^"]+)">(.*?)</tr>', page,
                    re.S)
    assert row is not None and row.group(1) == "capacity"
    assert words in row.group(2) and "priority" not in row.group(2)


# -- re-plan from where the rep is, in words ------------------------------------------------------
def published(world: World) -> RoutePlan:
    run = plan(world)
    services.publish(run)
    db.session.commit()
    return run.plans[0]


def test_replan_page_asks_for_no_coordinates_and_starts_from_the_last_check_in(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """The re-plan form has no latitude/longitude to type; it says where it will start (the
    last check-in today), starts there, and says so by name."""
    route = published(world)
    first, second = sorted(route.stops, key=lambda s: s.seq)
    first.status = "visited"
    make_interaction(first.account, world.rep_west, checkin_at=datetime(2026, 5, 15, 9, 0),
                     checkin_lat=first.account.lat + 0.0001, checkin_lon=first.account.lon)
    db.session.commit()
    auth.login(world.rep_west.email)
    page = html.unescape(client.get(f"/planning/plans/{route.id}").get_data(as_text=True))
    form = re.search(r'<form[^>]*id="replan-form".*?</form>', page, re.S)
    assert form is not None
    assert 'name="lat"' not in form.group(0) and 'name="lon"' not in form.group(0)
    assert f"It starts from your check-in at {first.account.name}." in page
    response = client.post(f"/planning/plans/{route.id}/replan", data={"at": "13:00"})
    assert response.status_code == 302
    db.session.expire_all()
    second = db.session.get(RouteStop, second.id)
    where = (first.account.lat + 0.0001, first.account.lon)
    assert local_s(second.arrival) == 13 * 3600 + travel_s(where, (second.account.lat,
                                                                   second.account.lon))
    notes = english_all(db.session.get(RoutePlan, route.id).notes)
    assert f"Re-planned at 13:00 from your check-in at {first.account.name}." in notes


def test_replan_messages_name_the_accounts_and_the_reason(app: Flask, world: World) -> None:
    """A shop that closes at 15:00 is dropped at 14:45 "closed after 15:00", by name; the
    later start of the other shop is one sentence; no internal id anywhere."""
    kahvila, kirja = world.west_accounts
    kahvila.opening_hours = "Mo-Fr 09:00-15:00"
    db.session.commit()
    route = published(world)
    summary = english_all(services.replan_day(route, position=(60.17, 24.92),
                                              at_s=14 * 3600 + 45 * 60))
    db.session.commit()
    assert summary[0] == "Re-planned at 14:45 from where you are now."
    assert "Kahvila Aalto dropped: closed after 15:00." in summary
    assert any(line.startswith("Kirja & Co starts ") and line.endswith(" later.")
               for line in summary), summary
    assert not any(re.search(r"\b[ar]\d+\b", line) for line in summary), summary
    db.session.expire_all()
    route = db.session.get(RoutePlan, route.id)
    assert [(u["name"], u["text"]) for u in route.unassigned] == [
        ("Kahvila Aalto", "closed after 15:00")]


def test_replan_summary_reads_like_a_person(app: Flask, world: World) -> None:
    """The library's changes (by visit id) become sentences with names: a stop that moves
    past lunch "moved after lunch", a drop gives the shop's closing time, and the library's
    own first line (raw coordinates) is replaced by where the day starts in words."""
    from geocrm.planning.problem import home_position
    from geocrm.planning.replan import _collect, describe

    kahvila, kirja = world.west_accounts
    kahvila.opening_hours = "Mo-Fr 09:00-15:00"
    db.session.commit()
    route = published(world)
    stops = {s.account_id: s for s in route.stops}
    at_s = 11 * 3600
    for account, start in ((kahvila, 11 * 3600 + 30 * 60), (kirja, 11 * 3600 + 45 * 60)):
        stops[account.id].start = services.to_utc(FRIDAY, start, HELSINKI)
    day = _collect(route, sorted(route.stops, key=lambda s: s.seq), at_s)
    ka, ki = f"a{kahvila.id}", f"a{kirja.id}"
    stop = routing.Stop(ka, 13 * 3600, 0, 13 * 3600, 13 * 3600 + 1800, 900, 120)
    result = routing.Replan(
        plan=routing.Plan((routing.RepRoute("r1", (stop,), at_s, 14 * 3600, 900, 120, 1800,
                                            0),),
                          (routing.Unassigned(ki, routing.Reason.SHIFT_TOO_SHORT, "x"),), 0, 0.1),
        kept_order=False,
        changes=(routing.Change(routing.ChangeKind.MOVED, ka, f"{ka} moved (now first)."),
                 routing.Change(routing.ChangeKind.SHIFTED, ka, f"{ka} now starts 13:00."),
                 routing.Change(routing.ChangeKind.DROPPED, ki, f"{ki} dropped: x.")),
        summary=("Re-planned at 11:00 from 60.17000, 24.92000.",
                 "New order: saves 5 min of travel (20 %).",
                 f"{ka} moved (now first).", f"{ka} now starts 13:00.", f"{ki} dropped: x."),
        kept_travel_s=420, best_travel_s=120)
    lines = english_all(describe(result, day, home_position(world.rep_west), world.rep_west))
    assert lines == [
        "Re-planned at 11:00 from home.",
        "New order: saves 5 min of travel (20 %).",
        "Kahvila Aalto moved after lunch, to 13:00.",
        "Kirja & Co dropped: no time left before your day ends at 17:00.",
    ]


def test_cadence_plan_for_today_starts_now_too(app: Flask, world: World,
                                               set_clock: Any) -> None:
    """A cadence run whose first day is today routes today from now, like a day plan."""
    set_clock(FRIDAY, 14, 15)
    kiosk = make_account("Weekly Kiosk", 60.171, 24.921, territory_id=world.west.id,
                         cadence_days=7, last_visit_at=datetime(2026, 5, 1, 9, 0))
    db.session.commit()
    run = plan(world, by_cadence=True, account_ids=(kiosk.id,))
    (friday,) = run.plans
    (stop,) = friday.stops
    home = (world.rep_west.home_lat, world.rep_west.home_lon)
    assert friday.params["start_at"] == 14 * 3600 + 15 * 60
    assert local_s(stop.arrival) == 14 * 3600 + 15 * 60 + travel_s(home, (kiosk.lat, kiosk.lon))
    assert any("Planned at 14:15" in n for n in english_all(PlanResult.of_run(run).notes))
