"""Locks a planner can trust: a locked stop keeps its place, a locked route keeps every
stop and takes no other, the rest is re-optimised; a manual order is checked at once."""

from __future__ import annotations

import pytest

from routing import Break, GreatCircle, ModelError, Problem, SolveParams, TimeWindow
from routing.daymodel import DayModel
from routing.manual import ViolationKind, check_order
from tests.routing.helpers import HOME, H, rep, run, visit

# Five visits in a line north of home: the natural order is a1..a5 and back.
LINE = [visit(f"a{i}", 0.01 * i) for i in range(1, 6)]


def order(plan, rep_id="r1"):
    return [s.visit_id for s in plan.route(rep_id).stops]


def test_unlocked_day_goes_out_along_the_line():
    """The control: without a lock, the farthest visit is not first."""
    got = order(run([rep()], LINE))
    assert got[0] != "a5" and sorted(got) == [f"a{i}" for i in range(1, 6)]


def test_locked_position_is_kept_and_the_rest_reoptimised():
    """a5 (the farthest) locked as the 1st stop: it is first, every other visit is still
    planned, and the rest of the route is re-ordered around it (a4 comes next, not a1)."""
    visits = [v if v.id != "a5" else visit("a5", 0.05, pinned_rep="r1", position=1,
                                           must_visit=True) for v in LINE]
    got = order(run([rep()], visits))
    assert got[0] == "a5"
    assert sorted(got) == [f"a{i}" for i in range(1, 6)]
    assert got[1] == "a4"


def test_locked_middle_position():
    visits = [v if v.id != "a1" else visit("a1", 0.01, pinned_rep="r1", position=3,
                                           must_visit=True) for v in LINE]
    got = order(run([rep()], visits))
    assert got.index("a1") == 2 and len(got) == 5


def test_locked_route_keeps_its_order_and_takes_nothing_else():
    """r1's route is locked as [a3, a1]: exactly that, in that order, even though a2 lies
    on the way and r1 has all day; every other visit goes to r2."""
    locked = [visit("a3", 0.03, pinned_rep="r1", position=1, must_visit=True),
              visit("a1", 0.01, pinned_rep="r1", position=2, must_visit=True)]
    rest = [visit("a2", 0.02), visit("a4", 0.04), visit("a5", 0.05)]
    plan = run([rep("r1", route_locked=True), rep("r2")], locked + rest)
    assert order(plan, "r1") == ["a3", "a1"]
    assert sorted(order(plan, "r2")) == ["a2", "a4", "a5"]


def test_locks_keep_pyvrp_out():
    """PyVRP cannot express a lock, so the day is never handed to it."""
    visits = [visit("a1", 0.01, pinned_rep="r1", position=1), visit("a2", 0.02)]
    model = DayModel(Problem((rep(),), tuple(visits)), GreatCircle())
    assert model.engine_day() is None
    unlocked = DayModel(Problem((rep(),), (visit("a1"), visit("a2", 0.02))), GreatCircle())
    assert unlocked.engine_day() is not None


@pytest.mark.parametrize("kw", [
    {"position": 1},  # no pinned rep
    {"pinned_rep": "r1", "position": 0},
    {"pinned_rep": "r1", "position": 1.5},
])
def test_bad_position_is_named(kw):
    with pytest.raises(ModelError) as err:
        visit("a", **kw)
    assert err.value.field == "position"


@pytest.mark.parametrize("visits, reps, field", [
    ([("a", 1), ("b", 1)], [rep()], "position"),  # two visits locked at the same stop
    ([("a", 2)], [rep(route_locked=True)], "route_locked"),  # a gap before stop 2
    ([("a", 1), ("b", None)], [rep(route_locked=True)], "route_locked"),  # no position
])
def test_bad_locks_are_named(visits, reps, field):
    items = tuple(visit(vid, pinned_rep="r1", position=pos) for vid, pos in visits)
    with pytest.raises(ModelError) as err:
        Problem(tuple(reps), items)
    assert err.value.field == field


def test_position_lock_survives_the_full_search():
    """With the default search (ILS; no PyVRP since the day is locked) the lock holds."""
    visits = [v if v.id != "a5" else visit("a5", 0.05, pinned_rep="r1", position=1,
                                           must_visit=True) for v in LINE]
    plan = run([rep()], visits, params=SolveParams(solution_limit=200), time_limit=2.0)
    assert order(plan)[0] == "a5"


# -- a manual order, checked ------------------------------------------------------------------

def test_check_order_fine_day_has_no_violations():
    got = check_order(rep(), [visit("a1"), visit("a2", 0.02)])
    assert got.ok and [s.visit_id for s in got.stops] == ["a1", "a2"]
    assert got.stops[0].start == got.stops[0].arrival > 8 * H


def test_check_order_late_arrival_names_the_visit_and_the_closing_time():
    """A shop open 08:00–09:00 put after a 2-hour visit: the rep gets there after it shut."""
    long = visit("long", 0.01, duration=2 * H)
    early = visit("early", 0.02, windows=(TimeWindow(8 * H, 9 * H),))
    got = check_order(rep(), [long, early])
    assert [(v.kind, v.visit_id, v.limit) for v in got.violations] == [
        (ViolationKind.LATE, "early", 9 * H)]
    assert check_order(rep(), [early, long]).ok  # the other way round is fine


def test_check_order_overtime_and_too_many():
    day = [visit(f"v{i}", 0.01 * i, duration=2 * H) for i in range(1, 6)]
    got = check_order(rep(max_visits=4), day)
    kinds = {v.kind for v in got.violations}
    assert kinds == {ViolationKind.OVERTIME, ViolationKind.TOO_MANY}
    over = next(v for v in got.violations if v.kind == ViolationKind.OVERTIME)
    assert over.limit == 17 * H and over.at > 17 * H


def test_check_order_break_that_no_longer_fits():
    """Lunch must start 12:00–12:30; a 3-hour visit from 10:00 spans it: a BREAK violation.
    Split into two short visits, the same day leaves room for lunch."""
    lunch = (Break(12 * H, 12 * H + 1800, 1800),)
    blocker = visit("block", 0.001, duration=3 * H, windows=(TimeWindow(10 * H, 14 * H),))
    got = check_order(rep(breaks=lunch), [blocker])
    assert [v.kind for v in got.violations] == [ViolationKind.BREAK]
    short = [visit("s1", 0.001, duration=H, windows=(TimeWindow(10 * H, 14 * H),)),
             visit("s2", 0.002, duration=H)]
    fine = check_order(rep(breaks=lunch), short)
    assert fine.ok and fine.break_start is not None
    assert 12 * H <= fine.break_start <= 12 * H + 1800


def test_check_order_starts_now_from_where_the_rep_is():
    got = check_order(rep(), [visit("a1", 0.01)], start_at=15 * H, origin=HOME)
    assert got.stops[0].arrival > 15 * H


def test_check_order_rejects_bad_input():
    with pytest.raises(ModelError):
        check_order(rep(), [visit("a"), visit("a")])
    with pytest.raises(ModelError):
        check_order(rep(), [visit("a")], start_at=float("nan"))


# -- locks on the weekly (cadence) plan ----------------------------------------------------
def _week(locks, accounts=None, **kw):
    from datetime import date, timedelta

    from routing import Account, Cadence, Location, Rep, RepWeek, WeekProblem, plan_week

    mon = date(2025, 3, 3)
    reps = tuple(RepWeek(Rep(r, HOME, TimeWindow(8 * H, 16 * H))) for r in ("anna", "ben"))
    accounts = accounts or tuple(
        Account(f"a{i}", Location(HOME.lat + 0.01 * i, HOME.lon), 1800, Cadence.weekly(),
                last_visit=mon - timedelta(days=5), rep_id="anna") for i in range(1, 6))
    problem = WeekProblem(reps, tuple(accounts), mon, mon + timedelta(days=4), locks=locks,
                          **kw)
    return mon, plan_week(problem, time_limit_per_day=0.5, params=SolveParams(
        solution_limit=50))


def test_week_keeps_a_locked_stop_on_its_rep_day_and_place():
    """a5 (anna's farthest) locked as Ben's first stop on Wednesday: the week puts it there
    and nowhere else, first; the other accounts are still placed."""
    from datetime import timedelta

    from routing import WeekLock

    wed = _week(())[0] + timedelta(days=2)
    mon, plan = _week((WeekLock("ben", wed, (("a5", 1),)),))
    a5 = [p for p in plan.placements if p.account_id == "a5"]
    assert [(p.day, p.rep_id) for p in a5] == [(wed, "ben")]
    assert plan.day(wed).plan.route("ben").stops[0].visit_id == "a5"
    assert {p.account_id for p in plan.placements} == {f"a{i}" for i in range(1, 6)}


def test_week_keeps_a_locked_route_exactly_and_places_the_rest_elsewhere():
    """Anna's Tuesday locked as a3 then a1 (a locked account not due that week leaves no
    gap): exactly those two, in that order; what the week would have put there goes on
    another day; a lock naming an unknown rep or account is refused."""
    from datetime import timedelta

    from routing import WeekLock

    mon = _week(())[0]
    tue = mon + timedelta(days=1)
    _, plan = _week((WeekLock("anna", tue, (("a3", 2), ("a1", 1)), route=True),))
    assert [s.visit_id for s in plan.day(tue).plan.route("anna").stops] == ["a1", "a3"]
    others = {p.account_id: p.day for p in plan.placements if p.account_id not in ("a1", "a3")}
    assert set(others) == {"a2", "a4", "a5"} and tue not in others.values()
    empty = _week((WeekLock("anna", tue, (), route=True),))[1]
    assert not empty.day(tue).plan.route("anna").stops
    assert len(empty.placements) == 5
    with pytest.raises(ModelError, match="rep_id"):
        _week((WeekLock("zoe", tue),))
    with pytest.raises(ModelError, match="positions"):
        _week((WeekLock("anna", tue, (("nope", 1),)),))
