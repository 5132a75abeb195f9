"""Route planning in the app: problems built from the database, the planning job, tweaks,
publishing to Today, re-planning, scope and CSRF — on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import routing
from geocrm import jobs
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.field import services as field_services
from geocrm.models import PlanStatus, Role, RoutePlan, RouteStop, User
from geocrm.models.planning import JobStatus, PlanRun
from geocrm.planning import services
from geocrm.planning.notes import english_all
from geocrm.spatial import haversine_m
from tests.conftest import PASSWORD, AuthActions
from tests.factories import World, make_account, make_user

FRIDAY = date(2026, 5, 15)  # Helsinki is on summer time (UTC+3) that day
SATURDAY = FRIDAY + timedelta(days=1)
SPEED = 30 / 3.6  # routing's default rep speed, m/s
CIRCUITY = 1.3


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "GEOCRM_TIMEZONE": "Europe/Helsinki",
        "GEOCRM_PLAN_TIME_LIMIT": 0.5,
        "GEOCRM_REPLAN_TIME_LIMIT": 0.5,
    }


def travel_s(a: tuple[float, float], b: tuple[float, float]) -> int:
    """The solver's travel model, by hand: great circle × 1.3 at 30 km/h."""
    return round(round(haversine_m(*a, *b) * CIRCUITY) / SPEED)


def plan_request(world: World, **kw: Any) -> services.PlanRequest:
    fields: dict[str, Any] = {"rep_ids": (world.rep_west.id, world.rep_east.id),
                              "start": FRIDAY, "end": FRIDAY}
    fields.update(kw)
    return services.PlanRequest(**fields)


def run_planning(world: World, user: User | None = None, **kw: Any) -> PlanRun:
    run = services.start_run(user or world.planner, plan_request(world, **kw))
    job = jobs.wait_for_job(run.job_id, timeout=60)
    assert job.status == JobStatus.DONE, job.error
    db.session.expire_all()
    return db.session.get(PlanRun, run.id)


def stops_of(run: PlanRun, rep: User) -> list[RouteStop]:
    plan = next(p for p in run.plans if p.rep_id == rep.id)
    return sorted(plan.stops, key=lambda s: s.seq)


# -- building the problem ---------------------------------------------------------------------
def test_day_problem_windows_lunch_and_territories(app: Flask, world: World) -> None:
    """Opening hours become windows (with the lunch closure), the rep's lunch a break, and
    each visit may only go to a rep working its territory."""
    shop = make_account("Lunch Shop", 60.17, 24.94, territory_id=world.west.id,
                        opening_hours="Mo-Fr 09:00-11:00,13:00-17:00", visit_minutes=45,
                        priority=1)
    closed = make_account("Weekend Shop", 60.175, 24.935, territory_id=world.west.id,
                          opening_hours="Sa 10:00-14:00")
    reps = [world.rep_west, world.rep_east]
    accounts = [shop, closed, world.unassigned, *world.east_accounts]
    dp = services.build_day_problem(FRIDAY, reps, accounts, {})
    assert dp.problem is not None
    west = next(r for r in dp.problem.reps if r.id == f"r{world.rep_west.id}")
    assert west.shift == routing.TimeWindow(8 * 3600, 17 * 3600)
    assert west.breaks == (routing.Break(12 * 3600, 13 * 3600, 30 * 60),)
    assert west.skills == frozenset({f"territory:{world.west.id}"})
    visit = next(v for v in dp.problem.visits if v.id == f"a{shop.id}")
    assert visit.windows == (routing.TimeWindow(9 * 3600, 11 * 3600),
                             routing.TimeWindow(13 * 3600, 17 * 3600))
    assert visit.duration == 45 * 60 and visit.priority == 1
    assert visit.skills == frozenset({f"territory:{world.west.id}"})
    reasons = {a.name: code for a, code, _ in dp.left_out}
    assert reasons == {"Weekend Shop": services.CLOSED, "Far Away Ltd": services.NOT_COVERED}
    assert {v.id for v in dp.problem.visits} == {f"a{a.id}" for a in
                                                [shop, *world.east_accounts]}
    # Saturday: nobody works (Mon–Fri); the shop is left out for that, not for its hours.
    sat = services.build_day_problem(SATURDAY, reps, [shop], {})
    assert sat.problem is None
    assert [(a.name, code) for a, code, _ in sat.left_out] == [
        ("Lunch Shop", services.NO_REP_WORKING)]


def test_pins_and_owned_accounts(app: Flask, world: World) -> None:
    """A pin makes a must-visit for that rep on that day only; an account outside every
    territory goes to its owner."""
    owned = make_account("Owned Ltd", 60.3, 24.8, owner_id=world.rep_east.id)
    pinned = world.west_accounts[0]
    reps = [world.rep_west, world.rep_east]
    pins = {pinned.id: (world.rep_east.id, FRIDAY)}
    dp = services.build_day_problem(FRIDAY, reps, [owned, pinned], pins)
    visits = {v.id: v for v in dp.problem.visits}
    assert visits[f"a{owned.id}"].pinned_rep == f"r{world.rep_east.id}"
    assert not visits[f"a{owned.id}"].must_visit
    assert visits[f"a{pinned.id}"].pinned_rep == f"r{world.rep_east.id}"
    assert visits[f"a{pinned.id}"].must_visit
    other_day = services.build_day_problem(FRIDAY + timedelta(days=3), reps, [pinned], pins)
    assert other_day.problem.visits == () and other_day.left_out == []


# -- the planning job -------------------------------------------------------------------------
def test_one_visit_times_by_hand_in_local_time(app: Flask, world: World) -> None:
    """One rep, one shop opening at 09:00 Helsinki time: the rep leaves home just in time,
    arrives 09:00 (06:00 UTC), visits 30 min, and the distances are the solver's model."""
    shop = world.west_accounts[0]
    shop.opening_hours = "Mo-Fr 09:00-17:00"
    db.session.commit()
    run = run_planning(world, rep_ids=(world.rep_west.id,), account_ids=(shop.id,))
    (stop,) = stops_of(run, world.rep_west)
    home = (world.rep_west.home_lat, world.rep_west.home_lon)
    leg = travel_s(home, (shop.lat, shop.lon))
    assert stop.arrival == datetime(2026, 5, 15, 6, 0)
    assert stop.start == datetime(2026, 5, 15, 6, 0)
    assert stop.departure == datetime(2026, 5, 15, 6, 30)
    assert stop.travel_s == leg
    plan = stop.plan
    one_way = round(haversine_m(*home, shop.lat, shop.lon) * CIRCUITY)
    assert plan.distance_m == pytest.approx(2 * one_way, abs=1)
    assert plan.status == PlanStatus.DRAFT and plan.run_id == run.id
    assert plan.params["day_start"] == 9 * 3600 - leg
    assert run.result["unassigned"] == []


def test_two_reps_keep_to_their_territories_and_reasons_are_given(
    app: Flask, world: World
) -> None:
    """Each rep gets only their territory's accounts; a closed shop is reported with why."""
    make_account("Weekend Shop", 60.175, 24.935, territory_id=world.west.id,
                 opening_hours="Sa 10:00-14:00")
    run = run_planning(world, territory_ids=(world.west.id, world.east.id))
    west = {s.account_id for s in stops_of(run, world.rep_west)}
    east = {s.account_id for s in stops_of(run, world.rep_east)}
    assert west == {a.id for a in world.west_accounts}
    assert east == {a.id for a in world.east_accounts}
    (left,) = run.result["unassigned"]
    assert left["name"] == "Weekend Shop" and left["reason"] == "closed"
    assert "closed on Fri, May 15, 2026" in left["text"]
    assert left["why"] == {"code": "closed_on", "params": {"day": "2026-05-15",
                                                          "hours": "Sa 10:00-14:00"}}
    for rep in (world.rep_west, world.rep_east):
        stops = stops_of(run, rep)
        assert [s.seq for s in stops] == [1, 2]
        assert all(a.departure <= b.arrival for a, b in zip(stops, stops[1:], strict=False))


def test_lunch_closure_is_respected(app: Flask, world: World) -> None:
    """A 90-minute visit to a shop open 09:00–11:00 and 13:00–17:00 cannot start at 10:00:
    it starts at 09:00 (ends 10:30) or from 13:00."""
    shop = world.west_accounts[0]
    shop.opening_hours = "Mo-Fr 09:00-11:00,13:00-17:00"
    shop.visit_minutes = 90
    db.session.commit()
    run = run_planning(world, rep_ids=(world.rep_west.id,), account_ids=(shop.id,))
    (stop,) = stops_of(run, world.rep_west)
    tz = services.local_zone()
    start = services.to_local_seconds(FRIDAY, stop.start, tz)
    assert 9 * 3600 <= start <= 9 * 3600 + 30 * 60 or 13 * 3600 <= start <= 15 * 3600 + 30 * 60


def test_multi_day_run_plans_each_account_once(app: Flask, world: World) -> None:
    """Over Friday–Monday (weekend off), a rep capped at one visit a day covers both of their
    accounts on the two working days; nothing is planned on the weekend."""
    world.rep_west.max_visits_per_day = 1
    db.session.commit()
    monday = FRIDAY + timedelta(days=3)
    run = run_planning(world, rep_ids=(world.rep_west.id,), end=monday)
    by_day = {p.plan_date: [s.account_id for s in p.stops] for p in run.plans}
    assert set(by_day) == {FRIDAY, monday}
    assert len(by_day[FRIDAY]) == 1 and len(by_day[monday]) == 1
    assert set(by_day[FRIDAY] + by_day[monday]) == {a.id for a in world.west_accounts}
    assert [d["reps"] for d in run.result["days"]] == [1, 0, 0, 1]


def test_capacity_reason_when_a_rep_is_full(app: Flask, world: World) -> None:
    """Max visits per day: what does not fit comes back as 'capacity'."""
    world.rep_west.max_visits_per_day = 1
    db.session.commit()
    run = run_planning(world, rep_ids=(world.rep_west.id,))
    assert len(stops_of(run, world.rep_west)) == 1
    (left,) = run.result["unassigned"]
    assert left["reason"] == "capacity"


def test_failed_job_leaves_earlier_drafts_untouched(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-run whose solver breaks on its second day fails with the error, and the drafts of
    the first run are still there, unchanged: nothing half-written."""
    run = run_planning(world, end=FRIDAY + timedelta(days=3))
    before = sorted((p.rep_id, p.plan_date, s.account_id, s.seq) for p in run.plans
                    for s in p.stops)
    calls = {"n": 0}
    real = routing.solve

    def flaky(*args: Any, **kwargs: Any) -> routing.Plan:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("solver exploded")
        return real(*args, **kwargs)

    monkeypatch.setattr(routing, "solve", flaky)
    job = services.rerun(run, world.planner)
    done = jobs.wait_for_job(job.id, timeout=60)
    assert done.status == JobStatus.FAILED
    assert done.error == "RuntimeError: solver exploded"
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    after = sorted((p.rep_id, p.plan_date, s.account_id, s.seq) for p in run.plans
                   for s in p.stops)
    assert after == before


def test_overdue_filter_uses_cadence(app: Flask, world: World) -> None:
    """Only accounts due by cadence: never visited, or last visit at least N days ago."""
    due, fresh, never = world.west_accounts[0], world.west_accounts[1], world.east_accounts[0]
    due.cadence_days, due.last_visit_at = 14, datetime(2026, 5, 1, 10)  # 14 days: due
    fresh.cadence_days, fresh.last_visit_at = 14, datetime(2026, 5, 2, 10)  # 13 days: not yet
    never.cadence_days = 30
    db.session.commit()
    chosen = services.select_accounts(world.planner, plan_request(world, overdue_only=True))
    assert {a.id for a in chosen} == {due.id, never.id}


def test_segment_selects_its_accounts_and_private_segments_are_refused(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """The CRM core's segments plug in: a shared 'customers' segment plans exactly its
    accounts; someone else's private segment is a named form error."""
    from geocrm.crm import segments

    shared = segments.save_segment(world.manager, {"name": "Customers", "stages": "customer",
                                                   "shared": "1"})
    private = segments.save_segment(world.manager, {"name": "Mine", "stages": "lead"})
    db.session.commit()
    assert (shared.id, "Customers") in services.segment_choices(world.planner)
    assert private.id not in {i for i, _ in services.segment_choices(world.planner)}
    run = run_planning(world, segment_id=shared.id)
    planned = {s.account_id for p in run.plans for s in p.stops}
    assert planned == {world.west_accounts[0].id, world.east_accounts[1].id}
    auth.login(world.planner.email)
    response = client.post("/planning/runs", data={
        "rep": world.rep_west.id, "start": "2026-05-15", "segment": private.id})
    assert response.status_code == 422
    assert f"segment {private.id} is not one you can open" in response.get_data(as_text=True)


# -- requests, scope, CSRF ------------------------------------------------------------------
def test_form_errors_name_the_field(app: Flask, world: World, client: FlaskClient,
                                    auth: AuthActions) -> None:
    """Bad requests answer 422 with the field in the message, and start nothing."""
    auth.login(world.planner.email)
    cases = [
        ({"start": "2026-05-15"}, "rep: choose at least one rep"),
        ({"rep": world.rep_west.id, "start": "15.5.2026"}, "start: '15.5.2026' is not a date"),
        ({"rep": world.rep_west.id, "start": "2026-05-15", "end": "2026-05-14"},
         "end: is before the start date"),
        ({"rep": world.rep_west.id, "start": "2026-05-01", "end": "2026-05-20"},
         "end: plan at most 14 days at once"),
        ({"rep": world.planner.id, "start": "2026-05-15"}, "is not one you can plan for"),
    ]
    for data, message in cases:
        response = client.post("/planning/runs", data=data)
        assert response.status_code == 422, data
        assert message in html.unescape(response.get_data(as_text=True))
    assert db.session.scalars(select(PlanRun)).all() == []


def test_rep_without_home_base_is_refused(app: Flask, world: World) -> None:
    """The planner cannot start a day without the rep's home base, and is told whose."""
    world.rep_west.home_lat = None
    db.session.commit()
    with pytest.raises(ValidationError, match="West has no home base"):
        services.parse_plan_request(
            _form({"rep": [str(world.rep_west.id)], "start": "2026-05-15"}), world.planner)


def test_manager_plans_only_their_reps_and_sees_only_their_runs(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """Another manager (no territories) can plan nobody and gets 404 for this run."""
    other = make_user("other-manager@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    assert services.plannable_reps(other) == []
    assert {r.id for r in services.plannable_reps(world.manager)} == {
        world.rep_west.id, world.rep_east.id}
    run = run_planning(world, user=world.manager)
    auth.login(other.email)
    assert client.get(f"/planning/runs/{run.id}").status_code == 404
    assert client.post(f"/planning/runs/{run.id}/publish").status_code == 404
    stop = run.plans[0].stops[0]
    assert client.post(f"/planning/stops/{stop.id}/pin").status_code == 404
    assert client.get(f"/planning/plans/{run.plans[0].id}").status_code == 404
    response = client.post("/planning/runs", data={"rep": world.rep_west.id,
                                                   "start": "2026-05-15"})
    assert response.status_code == 422
    auth.logout()
    auth.login(world.manager.email)
    assert client.get(f"/planning/runs/{run.id}").status_code == 200


def test_reps_see_only_their_own_published_plans(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """Drafts are invisible to reps; once published a rep reads their own plan (and its
    exports) but the other rep's answers 404; planner pages are not for reps."""
    run = run_planning(world)
    west = next(p for p in run.plans if p.rep_id == world.rep_west.id)
    east = next(p for p in run.plans if p.rep_id == world.rep_east.id)
    auth.login(world.rep_west.email)
    assert client.get(f"/planning/plans/{west.id}").status_code == 404
    services.publish(run)
    for url in (f"/planning/plans/{west.id}", f"/planning/plans/{west.id}/route.ics",
                f"/planning/plans/{west.id}/route.csv"):
        assert client.get(url).status_code == 200, url
    for url in (f"/planning/plans/{east.id}", f"/planning/plans/{east.id}/route.ics"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/planning/runs/{run.id}").status_code == 403
    assert client.get("/planning/").status_code == 302


def test_every_post_needs_the_csrf_token(app: Flask, world: World) -> None:
    """With CSRF on (as in production), planner POSTs without the token are refused."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": world.planner.email, "password": PASSWORD,
                                "csrf_token": token})
    page = client.get("/planning/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"rep": world.rep_west.id, "start": "2026-05-15"}
    assert client.post("/planning/runs", data=data).status_code == 400
    assert db.session.scalars(select(PlanRun)).all() == []
    assert client.post("/planning/runs", data={**data, "csrf_token": token}).status_code == 302
    (run,) = db.session.scalars(select(PlanRun)).all()
    assert jobs.wait_for_job(run.job_id, timeout=60).status == JobStatus.DONE


# -- pages ------------------------------------------------------------------------------------
def test_run_page_shows_map_timelines_and_unassigned(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """The result page: a folium map on local Leaflet with numbered stops, a timeline per rep,
    the unassigned list with reasons, escaped names, and no external host."""
    make_account("Weekend <b>Shop</b>", 60.175, 24.935, territory_id=world.west.id,
                 opening_hours="Sa 10:00-14:00")
    make_account("Tick `${alert(3)}`", 60.176, 24.936, territory_id=world.west.id)
    run = run_planning(world, territory_ids=(world.west.id, world.east.id))
    auth.login(world.planner.email)
    page = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert page.count("tl-track") == 2
    assert "closed on Fri, May 15, 2026" in page
    assert "Weekend &lt;b&gt;Shop&lt;/b&gt;" in page
    assert "<b>Shop</b>" not in page
    assert "<script>alert(1)</script>" not in page
    # The routes travel as data for plan_page.js (text put in with textContent), never as
    # generated script: no name is inside a script statement or a JS template literal.
    assert "$(`" not in page and "bindTooltip(" not in page
    data = json.loads(re.search(r'id="geocrm-data">(.*?)</script>', page, re.S).group(1))
    names = [s["name"] for p in data["planMap"]["plans"] for s in p["stops"]]
    assert "Tick `${alert(3)}`" in names
    assert "plan_page.js" in page
    external = [u for u in _urls(page) if not u.startswith("http://localhost")]
    assert external == []


def test_progress_page_polls_the_job(app: Flask, world: World, client: FlaskClient,
                                     auth: AuthActions) -> None:
    """While the job is queued the run page is a progress page pointing at the job JSON."""
    run = PlanRun(created_by_id=world.planner.id, start_date=FRIDAY, end_date=FRIDAY,
                  params={"rep_ids": [world.rep_west.id], "account_ids": []}, result={})
    from geocrm.models.planning import Job

    job = Job(kind="plan", func="geocrm.planning.services:plan_run_job", kwargs={},
              created_by_id=world.planner.id, message="queued")
    db.session.add_all([run, job])
    db.session.flush()
    run.job_id = job.id
    db.session.commit()
    auth.login(world.planner.email)
    html = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    assert f'"jobStatusUrl": "/planning/jobs/{job.id}"' in html  # the page data block
    assert client.get(f"/planning/jobs/{job.id}").get_json()["status"] == "queued"


# -- tweaks, publish, Today ----------------------------------------------------------------
def test_move_pin_reassign_and_rerun_with_pins(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """Reorder a stop, move one to the other rep (only where they cover the territory), and
    re-run: the moved (pinned) stop stays with its new rep."""
    world.east.reps.append(world.rep_west)  # West may now also work East
    db.session.commit()
    run = run_planning(world, territory_ids=(world.west.id, world.east.id))
    auth.login(world.planner.email)
    west_stops = stops_of(run, world.rep_west)
    first, second = west_stops[0], west_stops[1]
    assert client.post(f"/planning/stops/{second.id}/move",
                       data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [s.account_id for s in stops_of(run, world.rep_west)][:2] == [
        second.account_id, first.account_id]
    moved = db.session.get(RouteStop, second.id)
    assert moved.arrival < db.session.get(RouteStop, first.id).arrival
    # East's rep does not work West: refused with the reason.
    response = client.post(f"/planning/stops/{first.id}/reassign",
                           data={"rep_id": world.rep_east.id})
    assert response.status_code == 422
    assert "does not work this account's territory" in html.unescape(
        response.get_data(as_text=True))
    # West works East too: move an East stop to West.
    east_stop = stops_of(run, world.rep_east)[0]
    account_id = east_stop.account_id
    assert client.post(f"/planning/stops/{east_stop.id}/reassign",
                       data={"rep_id": world.rep_west.id}).status_code == 302
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    west_now = {s.account_id: s for s in stops_of(run, world.rep_west)}
    assert account_id in west_now and west_now[account_id].pinned
    assert account_id not in {s.account_id for s in stops_of(run, world.rep_east)}
    # Re-run: the pinned stop stays with West.
    assert client.post(f"/planning/runs/{run.id}/rerun").status_code == 302
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    assert jobs.wait_for_job(run.job_id, timeout=60).status == JobStatus.DONE
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    assert run.params["pins"] == {str(account_id): {"rep_id": world.rep_west.id,
                                                    "date": FRIDAY.isoformat()}}
    west_after = {s.account_id: s for s in stops_of(run, world.rep_west)}
    assert account_id in west_after and west_after[account_id].pinned


def test_unassigned_account_added_by_hand(app: Flask, world: World, client: FlaskClient,
                                          auth: AuthActions) -> None:
    """A left-out account can be put on a rep's day by hand; it leaves the unassigned list."""
    world.rep_west.max_visits_per_day = 1
    db.session.commit()
    run = run_planning(world, rep_ids=(world.rep_west.id,))
    (left,) = run.result["unassigned"]
    auth.login(world.planner.email)
    response = client.post(f"/planning/runs/{run.id}/assign", data={
        "account_id": left["account_id"], "target": f"{world.rep_west.id}:{FRIDAY}"})
    assert response.status_code == 302
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    assert run.result["unassigned"] == []
    assert left["account_id"] in {s.account_id for s in stops_of(run, world.rep_west)}


def test_publish_feeds_today_and_archives_the_previous_plan(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """Published plans are what the field app's Today shows, in order; publishing a newer
    plan for the same rep and day archives the older one; a published run is read-only."""
    first = run_planning(world)
    assert client.post(f"/planning/runs/{first.id}/publish").status_code in (302, 401, 403)
    auth.login(world.planner.email)
    assert client.post(f"/planning/runs/{first.id}/publish").status_code == 302
    db.session.expire_all()
    first = db.session.get(PlanRun, first.id)
    assert first.status == PlanStatus.PUBLISHED
    assert {p.status for p in first.plans} == {PlanStatus.PUBLISHED}
    today = field_services.today_plan(world.rep_west, FRIDAY)
    expected = [s.account_id for s in stops_of(first, world.rep_west)]
    assert today.source == "plan"
    assert [s.account.id for s in today.stops] == expected
    stop = first.plans[0].stops[0]
    assert client.post(f"/planning/stops/{stop.id}/pin").status_code == 409
    second = run_planning(world)
    services.publish(second)
    db.session.expire_all()
    statuses = {p.id: p.status for p in db.session.scalars(select(RoutePlan))}
    assert {statuses[p.id] for p in first.plans} == {PlanStatus.ARCHIVED}
    assert field_services.today_plan(world.rep_west, FRIDAY).plan_id in {
        p.id for p in db.session.get(PlanRun, second.id).plans}


def test_replan_mid_day_keeps_visited_and_retimes_the_rest(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """After the first visit, a re-plan at 13:00 keeps it first and schedules the rest
    from 13:00 at the rep's position; the rep may do it for their own plan."""
    run = run_planning(world, rep_ids=(world.rep_west.id,))
    services.publish(run)
    plan = run.plans[0]
    first, second = sorted(plan.stops, key=lambda s: s.seq)
    first.status = "visited"
    db.session.commit()
    auth.login(world.rep_west.email)
    response = client.post(f"/planning/plans/{plan.id}/replan",
                           data={"at": "13:00", "lat": "60.18", "lon": "24.93"})
    assert response.status_code == 302
    db.session.expire_all()
    first, second = (db.session.get(RouteStop, first.id), db.session.get(RouteStop, second.id))
    assert (first.seq, first.status) == (1, "visited")
    assert (second.seq, second.status) == (2, "planned")
    tz = services.local_zone()
    leg = travel_s((60.18, 24.93), (second.account.lat, second.account.lon))
    assert services.to_local_seconds(FRIDAY, second.arrival, tz) == 13 * 3600 + leg
    notes = english_all(db.session.get(RoutePlan, plan.id).notes)
    assert any(n.startswith("Re-planned at 13:00") for n in notes)
    bad = client.post(f"/planning/plans/{plan.id}/replan", data={"at": "25:00"})
    assert bad.status_code == 422


def test_replan_drops_what_no_longer_fits_with_the_reason(app: Flask, world: World) -> None:
    """At 16:50 nothing fits before the 17:00 shift end: the stops are skipped, with why."""
    run = run_planning(world, rep_ids=(world.rep_west.id,))
    services.publish(run)
    plan = run.plans[0]
    summary = english_all(services.replan_day(plan, position=None, at_s=16 * 3600 + 50 * 60))
    db.session.expire_all()
    plan = db.session.get(RoutePlan, plan.id)
    assert {s.status for s in plan.stops} == {"skipped"}
    assert len(plan.unassigned) == 2
    names = sorted(s.account.name for s in plan.stops)
    dropped = [line for line in summary if "dropped" in line]
    assert dropped == [f"2 visits dropped: no time left before your day ends at 17:00 "
                       f"({', '.join(n for n in names_in(summary, names))})."]
    assert {u["text"] for u in plan.unassigned} == {
        "no time left before your day ends at 17:00"}
    assert not any(re.search(r"\ba\d+\b", line) for line in summary), summary


# -- helpers ---------------------------------------------------------------------------------
def names_in(lines: list[str], names: list[str]) -> list[str]:
    """``names`` in the order they appear in ``lines`` (the re-plan lists them in route order)."""
    text = " ".join(lines)
    return sorted(names, key=text.find)


class _form(dict):  # noqa: N801 - a tiny MultiDict stand-in
    def getlist(self, key: str) -> list[str]:
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]


def _urls(html: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>)]+", html)




# -- spreading visits by cadence ---------------------------------------------------------------
MONDAY = date(2026, 5, 11)


def test_cadence_run_spreads_visits_over_two_weeks(app: Flask, world: World, client: FlaskClient,
                                                   auth: AuthActions) -> None:
    """Over two working weeks (Mon 11 - Fri 22 May; West works Mon-Thu, with a holiday on
    Thu 14th): a weekly account is visited once a week, a fortnightly one once, an account
    without cadence is listed with the reason; nothing on Fridays, weekends or the holiday."""
    world.rep_west.work_days = "1,2,3,4"
    weekly = make_account("Weekly Kiosk", 60.17, 24.93, territory_id=world.west.id,
                          cadence_days=7, last_visit_at=datetime(2026, 5, 8, 9, 0))
    fortnightly = make_account("Fortnightly Bar", 60.18, 24.92, territory_id=world.west.id,
                               cadence_days=14, last_visit_at=datetime(2026, 5, 5, 9, 0))
    none = make_account("No Cadence Oy", 60.175, 24.925, territory_id=world.west.id)
    db.session.commit()
    run = run_planning(world, rep_ids=(world.rep_west.id,), start=MONDAY,
                       end=MONDAY + timedelta(days=11), by_cadence=True,
                       holidays=(date(2026, 5, 14),),
                       account_ids=(weekly.id, fortnightly.id, none.id))
    visits: dict[int, list[date]] = {}
    for plan in run.plans:
        assert plan.rep_id == world.rep_west.id and plan.status == PlanStatus.DRAFT
        assert plan.plan_date.isoweekday() <= 4 and plan.plan_date != date(2026, 5, 14)
        for stop in plan.stops:
            visits.setdefault(stop.account_id, []).append(plan.plan_date)
    weeks = sorted(d.isocalendar().week for d in visits[weekly.id])
    assert weeks == [20, 21]  # one visit in each week
    assert len(visits[fortnightly.id]) == 1
    # Due 14 days after 5 May, on the 19th, give or take the cadence's 4 days.
    assert abs((visits[fortnightly.id][0] - date(2026, 5, 19)).days) <= 4
    assert none.id not in visits
    left = {u["account_id"]: u for u in run.result["unassigned"]}
    assert left[none.id]["reason"] == "no_cadence"
    assert run.result["mode"] == "cadence"
    auth.login("planner@example.com")
    page = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    assert "Weekly Kiosk" in page and "no visit cadence set" in page
    # the week's notes name the rep, not routing's id (issue 12)
    assert f"{world.rep_west.name}: " in page and f"r{world.rep_west.id}:" not in page
    assert "3 visits due for 2 accounts from Mon, May 11, 2026 to Fri, May 22, 2026" in page


def test_cadence_form_fields(app: Flask, world: World) -> None:
    from werkzeug.datastructures import MultiDict

    form = MultiDict([("rep", str(world.rep_west.id)), ("start", "2026-05-11"),
                      ("end", "2026-05-22"), ("cadence", "1"),
                      ("holidays", "2026-05-14, 2026-05-15")])
    req = services.parse_plan_request(form, world.planner)
    assert req.by_cadence and req.holidays == (date(2026, 5, 14), date(2026, 5, 15))
    form["holidays"] = "next thursday"
    with pytest.raises(ValidationError) as err:
        services.parse_plan_request(form, world.planner)
    assert err.value.field == "holidays"
    form["holidays"] = ""
    form["overdue"] = "1"
    with pytest.raises(ValidationError) as err:
        services.parse_plan_request(form, world.planner)
    assert err.value.field == "cadence"
