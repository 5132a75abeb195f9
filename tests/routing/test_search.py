"""The search that keeps improving: OR-Tools' ILS, PyVRP on the second core, the checks."""

from __future__ import annotations

import importlib.util

import pytest

import routing.daymodel as daymodel
from routing import Break, GreatCircle, Problem, SolveParams, TimeWindow, solve
from routing.daymodel import DayModel, ils_search, multi_start, search_parameters
from tests.routing.helpers import FAST, H, rep, visit

HAS_PYVRP = importlib.util.find_spec("pyvrp") is not None
LUNCH = (Break(11 * H + 1800, 13 * H, 1800),)


def crowded_day(n: int = 40) -> Problem:
    """Two reps, 40 half-hour visits scattered around, some open mornings only: not all fit."""
    visits = []
    for i in range(n):
        windows = (TimeWindow(8 * H, 12 * H),) if i % 3 == 0 else (TimeWindow(0, 24 * H),)
        visits.append(visit(f"v{i:02d}", 0.004 * ((i * 7) % 13) - 0.02,
                            0.006 * ((i * 5) % 11) - 0.03, windows=windows))
    return Problem((rep("anna", breaks=LUNCH), rep("bert", breaks=LUNCH)), tuple(visits))


def test_ils_is_configured_with_ruins_and_annealing():
    """The ILS parameters carry ruin strategies (the default has none, so it did nothing)."""
    search = search_parameters(1.0, SolveParams())
    daymodel.configure_ils(search, 100)
    ils = search.iterated_local_search_parameters
    assert search.use_iterated_local_search
    kinds = {r.WhichOneof("strategy") for r in ils.ruin_recreate_parameters.ruin_strategies}
    assert kinds == {"sisr", "random_walk", "spatially_close_routes"}
    assert ils.reference_solution_acceptance_strategy.simulated_annealing.automatic_temperatures


def test_ils_is_never_worse_than_the_first_descent():
    """ILS starts from the descended first solution and accepts a new best only if better."""
    problem = crowded_day()
    descent = DayModel(problem, GreatCircle())
    descent.close(1.0, FAST)
    first = multi_start(descent.routing, 1.0, SolveParams(metaheuristic="GREEDY_DESCENT",
                                                          also_try=()), 0.0)
    ils = DayModel(problem, GreatCircle())
    ils.close(1.0, SolveParams())
    best = ils_search(ils.routing, 1.0, SolveParams(), len(ils.active))
    assert best is not None and first is not None
    assert best.ObjectiveValue() <= first.ObjectiveValue()


def test_routes_an_engine_returns_are_checked_and_trimmed():
    """A route that breaks a window is shortened until OR-Tools' model accepts it."""
    problem = Problem((rep(shift=TimeWindow(8 * H, 12 * H)),),
                      (visit("a", 0.01), visit("b", 0.02),
                       visit("late", 0.03, windows=(TimeWindow(8 * H, 9 * H),))))
    model = DayModel(problem, GreatCircle())
    model.close(1.0, FAST)
    positions = {problem.visits[j].id: p for p, j in enumerate(model.active)}
    # "late" must be done by 09:00 but comes third (after 09:08): infeasible as a whole.
    route = [positions["a"], positions["b"], positions["late"]]
    assert model.from_routes([["a", "b", "late"]]) is None
    accepted = model.accept_routes([route])
    assert accepted is not None
    assert model.orders(accepted) == [["a", "b"]]


def test_engine_day_refuses_days_it_cannot_express():
    """Pinned visits (a rep restriction PyVRP has no word for) keep the day in OR-Tools."""
    problem = Problem((rep("anna"), rep("bert")),
                      (visit("a", 0.01, pinned_rep="anna"), visit("b", 0.02)))
    model = DayModel(problem, GreatCircle())
    assert model.engine_day() is None
    free = DayModel(Problem(problem.reps, (visit("a", 0.01), visit("b", 0.02))), GreatCircle())
    day = free.engine_day()
    assert day is not None and len(day.service) == 2 and day.starts == (0, 1)


def test_without_pyvrp_the_search_runs_alone(monkeypatch):
    """No PyVRP installed: the same call plans with OR-Tools alone and says nothing of it."""
    monkeypatch.setattr(daymodel, "pyvrp_installed", lambda: False)
    plan = solve(crowded_day(), time_limit=1.0, params=SolveParams(workers=2))
    assert plan.served and not any("PyVRP" in n for n in plan.notes)


@pytest.mark.skipif(not HAS_PYVRP, reason="PyVRP is optional")
@pytest.mark.parametrize("main_engine", ["ortools", "pyvrp"])
def test_portfolio_plans_pass_every_constraint(main_engine):
    """Whichever engine wins, the plan is OR-Tools' own: windows, shift and lunch hold."""
    problem = crowded_day()
    plan = solve(problem, time_limit=1.5,
                 params=SolveParams(workers=2, helper_min_seconds=0.5, main_engine=main_engine))
    by_id = {v.id: v for v in problem.visits}
    assert len(plan.served) >= 10
    for route in plan.routes:
        assert 8 * H <= route.start and route.end <= 17 * H
        for s in route.stops:
            assert any(w.start <= s.start and s.departure <= w.end
                       for w in by_id[s.visit_id].windows)
        assert _lunch_fits(route), route.rep_id


def _lunch_fits(route) -> bool:
    """Some gap holds the leg's driving plus 30 minutes of lunch starting 11:30–13:00."""
    if not route.stops:
        return True
    stops = route.stops
    gaps = [(route.start, stops[0].start, stops[0].leg_travel_s)]
    gaps += [(a.departure, b.start, b.leg_travel_s) for a, b in zip(stops, stops[1:],
                                                                    strict=False)]
    gaps.append((stops[-1].departure, 10**9, route.return_travel_s))
    for dep, nxt, travel in gaps:
        lo = max(dep, 11 * H + 1800)
        if lo <= 13 * H and lo + 1800 <= nxt and nxt - dep >= travel + 1800:
            return True
    return False


def test_oversubscribed_day_plans_a_pool_and_accounts_for_every_candidate():
    """40 candidates for a 3-visit day: a pool is planned, every other one has a reason."""
    candidates = [visit(f"c{i:02d}", 0.002 * (i % 7), 0.003 * (i // 7), priority=1 + i % 5)
                  for i in range(40)]
    problem = Problem((rep(max_visits=3),), tuple(candidates))
    plan = solve(problem, time_limit=1.0,
                 params=SolveParams(workers=1, pool=2, pool_min=10))
    assert len(plan.served) == 3
    assert len(plan.served) + len(plan.unassigned) == 40
    assert any("40 candidates" in n for n in plan.notes)
    # The pool favours the most important: the three served are all priority 1.
    by_id = {v.id: v for v in candidates}
    assert {by_id[v].priority for v in plan.served} == {1}
    assert {u.reason.value for u in plan.unassigned} <= {"capacity", "dropped_for_priority",
                                                         "no_room"}


@pytest.mark.skipif(not HAS_PYVRP, reason="PyVRP is optional")
def test_split_team_day_with_pyvrp_beside_accounts_for_every_visit():
    """A team day split by territory while PyVRP plans it whole: one consistent plan."""
    problem = crowded_day(60)
    problem = Problem((*problem.reps, rep("carl", breaks=LUNCH)), problem.visits)
    plan = solve(problem, time_limit=3.0,
                 params=SolveParams(decompose_above=20, group_visits=20, helper_min_seconds=0.5))
    assert len(plan.served) + len(plan.unassigned) == 60
    assert len({u.visit_id for u in plan.unassigned} | plan.served) == 60
    by_id = {v.id: v for v in problem.visits}
    for route in plan.routes:
        assert _lunch_fits(route)
        for s in route.stops:
            assert any(w.start <= s.start and s.departure <= w.end
                       for w in by_id[s.visit_id].windows)


def test_plan_cost_counts_distance_and_prizes():
    """Plans from different models compare by distance plus the prize of what is left out."""
    from routing.decompose import plan_cost

    problem = crowded_day(6)
    plan = solve(problem, time_limit=0.5, params=FAST)
    left = [v for v in problem.visits if v.id not in plan.served]
    assert plan_cost(plan, problem.visits) == (sum(r.distance_m for r in plan.routes)
                                               + sum(daymodel.penalty(v) for v in left))


@pytest.mark.skipif(not HAS_PYVRP, reason="PyVRP is not installed")
def test_helper_child_is_kept_between_days_and_replaced_when_it_fails():
    """The helper child imports PyVRP once and serves the next day too; a second helper at
    the same time gets a child of its own (ended after); a kept child that has died, or did
    not answer in time, is replaced by a new one."""
    import time

    from routing import search

    model = DayModel(crowded_day(12), GreatCircle())
    model.close(1.0, FAST)
    day = model.engine_day()
    assert day is not None and search.warm_helper()
    kept = search._warm[0]
    first = search.Helper(day, time.time() + 0.5)
    other = search.Helper(day, time.time() + 0.5, seed=1)  # the kept child is busy
    assert first.process is kept and other.process is not kept
    assert first.result() and other.result()
    assert other.process.poll() is not None and kept.poll() is None
    again = search.Helper(day, time.time() + 0.5)
    assert again.process is kept and again.result()
    kept.kill()
    kept.wait()
    fresh = search.Helper(day, time.time() + 0.5)
    assert fresh.process is not kept and fresh.result()
    slow = search.Helper(day, time.time() + 5)
    assert slow.result(grace=-4.5) is None and slow.error == "no answer in time"
    assert not search._warm and slow.process.poll() is not None


def test_engine_perturbation_size_follows_the_day() -> None:
    """Days that may leave visits out get a gentler ILS kick (measured on the field day);
    all-required days keep PyVRP's default; large days grow back to it."""
    from routing.search import perturbations

    assert perturbations(100, optional=False) is None
    assert perturbations(152, optional=True) == 10
    assert perturbations(300, optional=True) == 20
    assert perturbations(2000, optional=True) == 25
