"""Bad input to every public routing function: a named ModelError, never an abort or a drop."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from routing import (
    Break,
    GreatCircle,
    Location,
    Matrices,
    ModelError,
    OsrmTable,
    Problem,
    Reason,
    RoadNetwork,
    SolveParams,
    TimeWindow,
    Visit,
    WeekProblem,
    plan_week,
    replan,
    rest_of_day,
    solve,
    solve_vrptw,
)
from tests.routing.helpers import FAST, HOME, H, at, rep, run, visit

NAN, INF = math.nan, math.inf


def vrptw(**over: object) -> dict[str, object]:
    """A three-customer Solomon-style instance, with fields overridden."""
    kw: dict[str, object] = {
        "coords": np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        "demand": np.array([0, 1, 1, 1]),
        "capacity": 10,
        "windows": np.array([[0, 100], [0, 100], [0, 100], [0, 100]], dtype=float),
        "service": np.array([0.0, 1.0, 1.0, 1.0]),
        "vehicles": 2,
        "time_limit": 0.5,
    }
    kw.update(over)
    return kw


def raises(field: str, fn: object, *args: object, **kw: object) -> ModelError:
    """Call ``fn`` and return the ModelError, checking it names ``field``."""
    with pytest.raises(ModelError) as info:
        fn(*args, **kw)  # type: ignore[operator]
    assert info.value.field == field, str(info.value)
    return info.value


def test_vrptw_good_instance_still_solves():
    """The reference instance used below is valid: every customer is served."""
    result = solve_vrptw(**vrptw())  # type: ignore[arg-type]
    assert sorted(c for r in result.routes for c in r) == [1, 2, 3]


@pytest.mark.parametrize("vehicles", [0, -1, 2.5, NAN, True])
def test_vrptw_bad_fleet_is_an_error_not_an_abort(vehicles):
    """vehicles=0 used to hit an OR-Tools CHECK (exit 134); now a named error."""
    raises("vehicles", solve_vrptw, **vrptw(vehicles=vehicles))


def test_vrptw_nan_coordinate_names_the_row():
    """A NaN coordinate no longer silently drops its customer: the row is named."""
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [NAN, 1.0], [1.0, 1.0]])
    err = raises("coords", solve_vrptw, **vrptw(coords=coords))
    assert "row 2" in str(err)


@pytest.mark.parametrize(("field", "value"), [
    ("demand", np.array([0, 1, -1, 1])),
    ("demand", np.array([0, 1, 1])),
    ("service", np.array([0.0, 1.0, INF, 1.0])),
    ("windows", np.array([[0, 100], [50, 10], [0, 100], [0, 100]], dtype=float)),
    ("capacity", 0),
    ("time_limit", 0),
    ("time_limit", NAN),
    ("scale", -1),
])
def test_vrptw_bad_arrays_and_numbers(field, value):
    """Negative, non-finite, wrongly shaped or zero-size inputs name their field."""
    raises(field, solve_vrptw, **vrptw(**{field: value}))


@pytest.mark.parametrize(("lat", "lon", "field"), [(NAN, 24.9, "lat"), (60.1, INF, "lon"),
                                                   (91, 0, "lat"), (0, -181, "lon")])
def test_location_rejects_non_finite_and_out_of_range(lat, lon, field):
    """Location checks NaN and inf, which plain range comparisons let through."""
    raises(field, Location, lat, lon)


@pytest.mark.parametrize("duration", [NAN, INF, -1, "30"])
def test_visit_duration_must_be_a_finite_non_negative_number(duration):
    """A NaN visit duration used to be accepted."""
    raises("duration", Visit, "v1", HOME, duration)


@pytest.mark.parametrize("priority", [0, 6, 2.5, True])
def test_visit_priority_is_one_to_five(priority):
    """Priorities are whole numbers 1..5."""
    raises("priority", Visit, "v1", HOME, 600, priority=priority)


def test_time_window_and_break_reject_nan():
    """Windows and breaks check their numbers."""
    raises("start", TimeWindow, NAN, 10)
    raises("duration", Break, 11 * H, 13 * H, NAN)
    raises("duration", Break, 11 * H, 13 * H, 0)


def test_break_longer_than_the_shift_is_an_error():
    """A 3-hour break in a 2-hour shift used to be accepted."""
    err = raises("breaks[0]", rep, shift=TimeWindow(8 * H, 10 * H),
                 breaks=(Break(8 * H, 9 * H, 3 * H),))
    assert "longer than" in str(err)


@pytest.mark.parametrize("speed", [0, -5, NAN, INF])
def test_rep_speed_must_be_positive_and_finite(speed):
    """A zero or NaN speed would divide by zero inside the travel matrix."""
    raises("speed_kmh", rep, speed_kmh=speed)


def test_problem_circuity_and_empty_team():
    """A NaN circuity and a team of nobody are named."""
    raises("circuity", Problem, (rep(),), (), NAN)
    raises("reps", Problem, (), ())


def test_window_shorter_than_the_visit_has_its_own_reason():
    """Open 15 minutes for a 30-minute visit: 'window too short', not 'outside windows'."""
    short = visit("short", windows=(TimeWindow(10 * H, 10 * H + 900),))
    fine = visit("fine", dlon=0.01)
    plan = run([rep()], [short, fine])
    assert plan.served == {"fine"}
    (u,) = plan.unassigned
    assert (u.visit_id, u.reason) == ("short", Reason.WINDOW_TOO_SHORT)


@pytest.mark.parametrize("limit", [0, -1, NAN, INF])
def test_solve_time_limit(limit):
    """solve() needs a positive, finite time limit."""
    raises("time_limit", solve, Problem((rep(),), (visit("a"),)), time_limit=limit, params=FAST)


def test_solve_params_are_checked():
    """Unknown strategy names and shares outside (0, 1] are named."""
    raises("metaheuristic", SolveParams, metaheuristic="GUIDED")
    raises("first_solution", SolveParams, also_try=("NOPE",))
    raises("start_share", SolveParams, start_share=0)
    raises("rounds", SolveParams, rounds=0)


class NanProvider:
    """A travel provider that returns a NaN cell (a broken custom service)."""

    def matrices(self, locations, speed_kmh):
        m = GreatCircle().matrices(locations, speed_kmh)
        t = m.travel_s.astype(float)
        t[0, -1] = NAN
        return Matrices(m.distance_m, t)


def test_provider_returning_nan_is_named():
    """A custom provider's NaN cell is caught before it becomes an integer in OR-Tools."""
    raises("travel_s", solve, Problem((rep(),), (visit("a"),)), time_limit=0.5, params=FAST,
           provider=NanProvider())


def test_providers_check_their_settings():
    """GreatCircle and OsrmTable settings are checked when built."""
    raises("circuity", GreatCircle, NAN)
    raises("block", OsrmTable, "http://localhost:5000", block=0)
    raises("timeout_s", OsrmTable, "http://localhost:5000", timeout_s=NAN)


def test_road_network_rejects_bad_arrays():
    """A NaN node, an arc to a missing node and a zero speed are named."""
    good = dict(lat=[60.0, 60.001], lon=[24.0, 24.0], tail=[0], head=[1], length_m=[110.0],
                speed_kmh=[30.0])
    assert RoadNetwork(**good).size == 2  # type: ignore[arg-type]
    raises("lat", RoadNetwork, **{**good, "lat": [60.0, NAN]})
    raises("head", RoadNetwork, **{**good, "head": [5]})
    raises("speed_kmh", RoadNetwork, **{**good, "speed_kmh": [0.0]})


def test_replan_and_rest_of_day_check_their_numbers():
    """Re-planning with a NaN clock or time limit is a named error."""
    raises("now", rest_of_day, rep(), now=NAN, position=at(0.01))
    raises("time_limit", replan, rep(), [visit("a")], now=10 * H, position=at(0.01),
           current_order=["a"], time_limit=NAN)


def test_plan_week_time_limit():
    """plan_week needs a positive time per day."""
    with pytest.raises(ModelError) as info:
        plan_week(_week(), time_limit_per_day=0)
    assert info.value.field == "time_limit_per_day"
    raises("circuity", WeekProblem, _week().reps, _week().accounts, date(2025, 3, 3),
           date(2025, 3, 7), circuity=NAN)


def _week() -> WeekProblem:
    from routing import Account, Cadence, RepWeek

    return WeekProblem((RepWeek(rep("anna")),),
                       (Account("a1", at(0.01), 1800, Cadence.weekly()),),
                       date(2025, 3, 3), date(2025, 3, 7))
