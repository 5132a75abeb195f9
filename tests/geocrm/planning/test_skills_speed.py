"""Skills and vehicles in the planner (issue 17): a visit that needs a skill goes only to a rep
who has it, and a slower vehicle makes every trip longer — on the straight-line estimate and
on road times alike; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from flask import Flask

import routing
from geocrm.extensions import db
from geocrm.planning.base import rep_key, visit_key
from geocrm.planning.cadence import _week_accounts
from geocrm.planning.problem import build_day_problem, routing_rep
from geocrm.planning.request import PlanRequest
from geocrm.region.travel import slower, travel_provider
from tests.factories import World

FRIDAY = date(2026, 5, 15)


def _solve(world: World) -> tuple[routing.Plan, dict[str, int]]:
    reps = [world.rep_west, world.rep_east]
    dp = build_day_problem(FRIDAY, reps, world.west_accounts, {})
    assert dp.problem is not None
    plan = routing.solve(dp.problem, time_limit=0.5, provider=travel_provider())
    by_visit = {s.visit_id: dp.accounts[s.visit_id].id for r in plan.routes for s in r.stops}
    return plan, by_visit


def test_a_visit_needing_a_skill_goes_only_to_a_rep_who_has_it(app: Flask, world: World) -> None:
    """Both reps work West; the forklift account goes to the one with a forklift (whatever
    the distance), and is left out, naming the skill, when nobody working has it."""
    world.west.reps.append(world.rep_east)
    forklift, other = world.west_accounts
    forklift.required_skills = "Forklift"
    world.rep_east.skills = "forklift, 한국어"  # matched ignoring case
    db.session.commit()
    plan, by_visit = _solve(world)
    owner = {by_visit[s.visit_id]: r.rep_id for r in plan.routes for s in r.stops}
    assert owner[forklift.id] == rep_key(world.rep_east.id)
    assert other.id in owner  # the other account is planned as before

    world.rep_east.skills = "日本語"
    db.session.commit()
    dp = build_day_problem(FRIDAY, [world.rep_west, world.rep_east], world.west_accounts, {})
    left = {a.id: (code, why) for a, code, why in dp.left_out}
    assert left[forklift.id][0] == "skills_needed"
    assert left[forklift.id][1]["params"]["skills"] == "Forklift"
    assert dp.problem is not None
    assert all(v.id != visit_key(forklift.id) for v in dp.problem.visits)


def test_cadence_gives_a_skilled_account_to_the_territorys_rep_with_the_skill(
        app: Flask, world: World) -> None:
    """Spread by cadence, the account goes to the territory's rep who has the skill, and the
    week is told the skill it needs."""
    world.west.reps.append(world.rep_east)
    forklift = world.west_accounts[0]
    forklift.required_skills, forklift.cadence_days = "forklift", 7
    world.rep_east.skills = "Forklift"
    db.session.commit()
    req = PlanRequest(rep_ids=(world.rep_west.id, world.rep_east.id), start=FRIDAY, end=FRIDAY)
    accounts, _, _ = _week_accounts(req, [world.rep_west, world.rep_east], [forklift],
                                    ZoneInfo("UTC"))
    assert accounts[0].rep_id == rep_key(world.rep_east.id)
    assert accounts[0].skills == frozenset({"skill:forklift"})
    assert accounts[0].skills <= routing_rep(world.rep_east).skills


def test_a_bike_rep_takes_longer_on_every_trip(app: Flask, world: World) -> None:
    """The vehicle sets the rep's speed; on the straight-line estimate a bike's day has
    twice the car's travel, and a walker's six times; an own speed wins over the vehicle."""
    assert routing_rep(world.rep_west).speed_kmh == 30.0  # no vehicle set: a car, as before
    car_plan, _ = _solve(world)
    world.rep_west.vehicle = "bike"
    db.session.commit()
    assert routing_rep(world.rep_west).speed_kmh == 15.0
    bike_plan, _ = _solve(world)

    def travel(plan: routing.Plan) -> int:
        route = next(r for r in plan.routes if r.rep_id == rep_key(world.rep_west.id))
        return sum(s.leg_travel_s for s in route.stops) + route.return_travel_s

    assert travel(bike_plan) > 1.9 * travel(car_plan)
    world.rep_west.speed_kmh = 5.0
    assert routing_rep(world.rep_west).speed_kmh == 5.0


def test_road_times_slow_down_for_vehicles_slower_than_a_car() -> None:
    """Road and OSRM times are a car's: a bike takes at least the road's metres at its own
    speed on each trip; a car (or faster) keeps the road's times."""
    seconds = np.array([[0.0, 60.0], [100.0, 0.0]])
    metres = np.array([[0.0, 1000.0], [500.0, 0.0]])
    assert (slower(seconds, metres, 30.0) == seconds).all()
    assert (slower(seconds, metres, 80.0) == seconds).all()
    bike = slower(seconds, metres, 15.0)
    assert bike[0, 1] == pytest.approx(240.0)  # 1 km at 15 km/h
    assert bike[1, 0] == pytest.approx(120.0)  # 500 m at 15 km/h: slower than the road's 100 s
