"""Locks a planner can trust (issue 15, item 5): a stop locked at its place and a locked
route survive a re-run that re-optimises the rest; a manual move is checked at once (late
arrival, closed shop, overtime, lunch) and the violations are shown, in the reader's
language; scope and CSRF hold."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import routing
from geocrm import jobs
from geocrm.extensions import db
from geocrm.models import Account, RoutePlan, RouteStop
from geocrm.models.planning import JobStatus, PlanRun
from geocrm.planning import locks, services
from tests.conftest import AuthActions
from tests.factories import World, make_account

FRIDAY = date(2026, 5, 15)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "GEOCRM_TIMEZONE": "Europe/Helsinki",
            "GEOCRM_PLAN_TIME_LIMIT": 0.5}


def west_day(world: World) -> list[Any]:
    """Four more West shops in a line north of West's home (60.17, 24.92)."""
    return [make_account(f"Line {i}", 60.17 + 0.004 * i, 24.92, territory_id=world.west.id,
                         visit_minutes=30) for i in range(1, 5)]


def plan_run(world: World, **kw: Any) -> PlanRun:
    req = services.PlanRequest(rep_ids=(world.rep_west.id, world.rep_east.id), start=FRIDAY,
                               end=FRIDAY, **kw)
    run = services.start_run(world.planner, req)
    assert jobs.wait_for_job(run.job_id, timeout=60).status == JobStatus.DONE
    db.session.expire_all()
    return db.session.get(PlanRun, run.id)


def rerun(client: FlaskClient, run: PlanRun) -> PlanRun:
    assert client.post(f"/planning/runs/{run.id}/rerun").status_code == 302
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    assert jobs.wait_for_job(run.job_id, timeout=60).status == JobStatus.DONE
    db.session.expire_all()
    return db.session.get(PlanRun, run.id)


def plan_of(run: PlanRun, rep_id: int) -> RoutePlan:
    return next(p for p in run.plans if p.rep_id == rep_id)


def names(plan: RoutePlan) -> list[str]:
    return [s.account.name for s in sorted(plan.stops, key=lambda s: s.seq)]


def test_locked_place_survives_the_rerun(app: Flask, world: World, client: FlaskClient,
                                         auth: AuthActions) -> None:
    """The farthest shop moved to stop 1 and locked there: the re-run keeps it first (the
    solver alone would never start there) and re-orders the rest around it."""
    west_day(world)
    run = plan_run(world, territory_ids=(world.west.id,))
    auth.login(world.planner.email)
    west = plan_of(run, world.rep_west.id)
    assert names(west)[0] != "Line 4"
    far = next(s for s in west.stops if s.account.name == "Line 4")
    response = client.post(f"/planning/stops/{far.id}/place",
                           data={"rep_id": world.rep_west.id, "position": 1})
    assert response.status_code == 302
    assert client.post(f"/planning/stops/{far.id}/lock", data={"locked": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RouteStop, far.id).position_locked
    run = rerun(client, db.session.get(PlanRun, run.id))
    west = plan_of(run, world.rep_west.id)
    assert names(west)[0] == "Line 4"
    first = sorted(west.stops, key=lambda s: s.seq)[0]
    assert first.position_locked and first.pinned  # still locked for the next re-run
    assert len(west.stops) == 6


def test_locked_route_is_kept_exactly(app: Flask, world: World, client: FlaskClient,
                                      auth: AuthActions) -> None:
    """West's route locked after a hand reorder: the re-run gives exactly that order and
    adds nothing, even an account that would fit."""
    west_day(world)
    run = plan_run(world, territory_ids=(world.west.id,))
    auth.login(world.planner.email)
    west = plan_of(run, world.rep_west.id)
    stops = sorted(west.stops, key=lambda s: s.seq)
    last = stops[-1]
    client.post(f"/planning/stops/{last.id}/place",
                data={"rep_id": world.rep_west.id, "position": 2})
    db.session.expire_all()
    west = db.session.get(RoutePlan, west.id)
    wanted = names(west)
    assert client.post(f"/planning/plans/{west.id}/lock", data={"locked": "1"}).status_code == 302
    # A new West account joins the selection: a locked route must not take it.
    extra = make_account("Late Joiner", 60.171, 24.921, territory_id=world.west.id)
    run = db.session.get(PlanRun, run.id)
    run.params = {**run.params, "account_ids": [*run.params["account_ids"], extra.id]}
    db.session.commit()
    run = rerun(client, run)
    west = plan_of(run, world.rep_west.id)
    assert names(west) == wanted
    assert west.route_locked
    assert run.params["locks"]["routes"] == [{"rep_id": world.rep_west.id,
                                              "date": FRIDAY.isoformat()}]


def test_check_names_late_arrival_closed_shop_and_overtime(app: Flask, world: World,
                                                            client: FlaskClient,
                                                            auth: AuthActions) -> None:
    """The check changes nothing and answers what the move breaks."""
    make_account("Aamu Kioski", 60.19, 24.93, territory_id=world.west.id,
                         opening_hours="Mo-Fr 08:00-09:00", visit_minutes=20)
    make_account("Pitkä Palaveri", 60.171, 24.921, territory_id=world.west.id,
                 visit_minutes=8 * 60)
    make_account("Sunnuntai", 60.172, 24.922, territory_id=world.west.id,
                 opening_hours="Su 10:00-14:00")
    run = plan_run(world, territory_ids=(world.west.id,))
    auth.login(world.planner.email)
    west = plan_of(run, world.rep_west.id)
    by_name = {s.account.name: s for s in west.stops}
    assert "Aamu Kioski" in by_name  # planned first thing, while it is open
    stop = by_name["Aamu Kioski"]
    before = [(s.id, s.seq) for s in west.stops]
    got = client.post(f"/planning/stops/{stop.id}/check",
                      json={"rep_id": world.rep_west.id, "position": 99})
    assert got.status_code == 200
    data = got.get_json()
    kinds = {v["kind"] for v in data["violations"]}
    assert "late" in kinds
    late = next(v for v in data["violations"] if v["kind"] == "late")
    assert late["name"] == "Aamu Kioski" and late["limit"] == "09:00"
    assert "after it closes (09:00)" in late["text"]
    assert data["position"] == len(west.stops) and not data["ok"]
    db.session.expire_all()
    assert [(s.id, s.seq) for s in db.session.get(RoutePlan, west.id).stops] == before
    # Its own place is fine.
    fine = client.post(f"/planning/stops/{stop.id}/check",
                       json={"rep_id": world.rep_west.id, "position": stop.seq}).get_json()
    assert "late" not in {v["kind"] for v in fine["violations"]}
    # A shop closed that day and an 8-hour meeting added by hand: closed, and overtime.
    plan = db.session.get(RoutePlan, west.id)
    shut = db.session.scalars(select(Account).where(Account.name == "Sunnuntai")).one()
    meeting = db.session.scalars(select(Account).where(Account.name == "Pitkä Palaveri")).one()
    out = locks.check_accounts(plan, [shut, meeting, *[s.account for s in plan.stops]])
    assert {"kind": "closed", "name": "Sunnuntai", "at": "", "limit": ""} in out
    over = next(v for v in out if v["kind"] == "overtime")
    assert over["limit"] == "17:00" and over["at"] > "17:00"


def test_violations_are_translated(app: Flask, world: World, client: FlaskClient,
                                   auth: AuthActions) -> None:
    make_account("Aamu Kioski", 60.19, 24.93, territory_id=world.west.id,
                 opening_hours="Mo-Fr 08:00-09:00", visit_minutes=20)
    west_day(world)
    run = plan_run(world, territory_ids=(world.west.id,))
    auth.login(world.planner.email)
    west = plan_of(run, world.rep_west.id)
    stop = next(s for s in west.stops if s.account.name == "Aamu Kioski")
    english = client.post(f"/planning/stops/{stop.id}/check",
                          json={"rep_id": world.rep_west.id, "position": 99}).get_json()
    korean = client.post(f"/planning/stops/{stop.id}/check",
                         json={"rep_id": world.rep_west.id, "position": 99},
                         headers={"Accept-Language": "ko"}).get_json()
    assert english["violations"][0]["kind"] == korean["violations"][0]["kind"] == "late"
    assert korean["violations"][0]["text"] != english["violations"][0]["text"]
    assert "Aamu Kioski" in korean["violations"][0]["text"]


def test_scope_csrf_and_bad_input(app: Flask, world: World, client: FlaskClient,
                                  auth: AuthActions) -> None:
    run = plan_run(world, territory_ids=(world.west.id, world.east.id))
    stop = plan_of(run, world.rep_west.id).stops[0]
    auth.login(world.rep_west.email)  # a rep may not edit a draft
    assert client.post(f"/planning/stops/{stop.id}/check",
                       json={"rep_id": world.rep_west.id, "position": 1}).status_code == 403
    auth.logout()
    auth.login(world.planner.email)
    bad = client.post(f"/planning/stops/{stop.id}/check",
                      json={"rep_id": world.rep_west.id, "position": "first"})
    assert bad.status_code == 422 and "position" in bad.get_data(as_text=True)
    # East does not work West's territory: the check says so by name.
    other = client.post(f"/planning/stops/{stop.id}/check",
                        json={"rep_id": world.rep_east.id, "position": 1})
    assert other.status_code == 422
    assert "does not work this account" in other.get_data(as_text=True)
    # A locked route takes no moved stop.
    east = plan_of(run, world.rep_east.id)
    locks.lock_route(east, True)
    db.session.commit()
    world.east.reps.append(world.rep_west)
    db.session.commit()
    east_stop = east.stops[0]
    moved = client.post(f"/planning/stops/{east_stop.id}/place",
                        data={"rep_id": world.rep_west.id, "position": 1})
    assert moved.status_code == 422 and "locked" in moved.get_data(as_text=True)


def test_apply_locks_renumbers_a_locked_route_and_leaves_out_what_only_it_could_take(
        app: Flask, world: World) -> None:
    """A locked route whose second stop has gone keeps 1, 2 without a gap; an account owned
    by that rep (nobody else may go) is left out with the reason, not handed to others."""
    line = west_day(world)
    owned = make_account("Owned Oy", 60.2, 24.9, owner_id=world.rep_west.id)
    day_locks = locks.RunLocks(
        {line[0].id: (world.rep_west.id, FRIDAY, 1), line[2].id: (world.rep_west.id, FRIDAY, 3)},
        frozenset({(world.rep_west.id, FRIDAY)}))
    dp = services.build_day_problem(FRIDAY, [world.rep_west, world.rep_east],
                                    [*line, owned, *world.east_accounts], {
                                        line[0].id: (world.rep_west.id, FRIDAY),
                                        line[2].id: (world.rep_west.id, FRIDAY)})
    dp = locks.apply_locks(dp, day_locks)
    assert dp.problem is not None
    west = next(r for r in dp.problem.reps if r.id == f"r{world.rep_west.id}")
    assert west.route_locked
    positions = {v.id: v.position for v in dp.problem.visits if v.position is not None}
    assert positions == {f"a{line[0].id}": 1, f"a{line[2].id}": 2}
    assert [(a.name, code) for a, code, _ in dp.left_out] == [("Owned Oy", "route_locked")]
    assert f"a{owned.id}" not in {v.id for v in dp.problem.visits}
    # The rest of West's shops go to nobody (West is locked, East does not cover West):
    # the solver leaves them out; East's own day is planned as usual.
    plan = routing.solve(dp.problem, time_limit=0.5)
    assert [s.visit_id for s in plan.route(west.id).stops] == [f"a{line[0].id}",
                                                               f"a{line[2].id}"]


def test_cadence_run_keeps_a_locked_route(app: Flask, world: World, client: FlaskClient,
                                          auth: AuthActions) -> None:
    """A weekly (cadence) run honours locks too: West's route reordered by hand and locked
    is given back exactly by the re-run, and a new due account does not join it."""
    from datetime import datetime

    for a in west_day(world):
        a.cadence_days, a.last_visit_at = 7, datetime(2026, 5, 7, 9, 0)
    db.session.commit()
    run = plan_run(world, territory_ids=(world.west.id,), by_cadence=True)
    auth.login(world.planner.email)
    west = plan_of(run, world.rep_west.id)
    assert len(west.stops) >= 3
    last = sorted(west.stops, key=lambda s: s.seq)[-1]
    client.post(f"/planning/stops/{last.id}/place",
                data={"rep_id": world.rep_west.id, "position": 1})
    db.session.expire_all()
    west = db.session.get(RoutePlan, west.id)
    wanted = names(west)
    assert client.post(f"/planning/plans/{west.id}/lock", data={"locked": "1"}).status_code == 302
    extra = make_account("Late Joiner", 60.171, 24.921, territory_id=world.west.id)
    extra.cadence_days, extra.last_visit_at = 7, datetime(2026, 5, 1, 9, 0)
    run = db.session.get(PlanRun, run.id)
    run.params = {**run.params, "account_ids": [*run.params["account_ids"], extra.id]}
    db.session.commit()
    run = rerun(client, run)
    west = plan_of(run, world.rep_west.id)
    assert names(west) == wanted and west.route_locked
    # A stop of the locked route cannot even be checked away to another rep.
    got = client.post(f"/planning/stops/{west.stops[0].id}/check",
                      json={"rep_id": world.rep_east.id, "position": 1})
    assert got.status_code == 422


def test_move_check_covers_the_day_the_stop_leaves(app: Flask, world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Moved to another rep, the day it leaves is checked too: what that day newly breaks
    without the stop is listed, marked with whose day it is; what it broke already is not."""
    west_day(world)
    make_account("Itä", 60.171, 24.97, territory_id=world.east.id)
    world.rep_east.territories.append(world.west)
    db.session.commit()
    run = plan_run(world)
    west = plan_of(run, world.rep_west.id)
    stop = sorted(west.stops, key=lambda s: s.seq)[0]
    real = locks.check_accounts

    def fake(plan: RoutePlan, accounts: list[Account]) -> list[dict[str, Any]]:
        out = real(plan, accounts)
        if plan.id == west.id:
            out.append({"kind": "late", "name": "Old", "at": "10:00", "limit": "09:00"})
            if stop.account not in accounts:
                out.append({"kind": "late", "name": "New", "at": "11:00", "limit": "10:00"})
        return out

    monkeypatch.setattr(locks, "check_accounts", fake)
    check = locks.check_move(stop, world.rep_east.id, 1)
    behind = [v for v in check.violations if v.get("left")]
    assert [(v["name"], v["left"]) for v in behind] == [("New", world.rep_west.name)]
    assert locks.violation_words(behind[0]).startswith(f"On {world.rep_west.name}'s day: ")
    same = locks.check_move(stop, world.rep_west.id, 2)
    assert not [v for v in same.violations if v.get("left")]


def test_afternoon_cadence_resolve_keeps_todays_locks(app: Flask, world: World) -> None:
    """Re-solving a cadence run's today from now (the afternoon) keeps today's locks: a stop
    locked at its place is still that stop, a locked route gives back exactly its locked
    stops (renumbered over those still in it) and leaves the others out."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from geocrm.planning import cadence
    from geocrm.planning.base import rep_key, visit_key
    from geocrm.planning.problem import DayProblem

    line = west_day(world)  # Line 1..4 north of West's home: driven 1-2-3-4 or 4-3-2-1
    db.session.commit()
    keys = [visit_key(a.id) for a in line]
    west = rep_key(world.rep_west.id)
    stops = tuple(routing.Stop(k, 0, 0, 0, 0, 0, 0) for k in keys)
    week_plan = routing.Plan((routing.RepRoute(west, stops, 0, 0, 0, 0, 0, 0),), (), 0, 0.0)
    now = datetime(2026, 5, 15, 13, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
    search = routing.SolveParams(solution_limit=50)

    def again(lock: routing.WeekLock) -> tuple[routing.Plan, list[Any]]:
        dp = DayProblem(FRIDAY, None, dict(zip(keys, line, strict=True)))
        return cadence._today_from_now(dp, week_plan, [world.rep_west], now, 0.3, search,
                                       (lock,))

    plan, left = again(routing.WeekLock(west, FRIDAY, ((keys[1], 1),)))
    assert plan.route(west).stops[0].visit_id == keys[1] and not left
    assert len(plan.route(west).stops) == 4
    # A locked route of Line 3 then Line 1, whose third stop (an account since gone) left a
    # gap: exactly those two, in that order; Line 2 and 4 are left out.
    plan, left = again(routing.WeekLock(west, FRIDAY, ((keys[2], 1), (keys[0], 3)), route=True))
    assert [s.visit_id for s in plan.route(west).stops] == [keys[2], keys[0]]
    assert {v.account_id for v in left} == {line[1].id, line[3].id}
