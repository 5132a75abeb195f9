"""Mid-day re-plans keep the rep's order unless the gain is large, and say what changed."""

from __future__ import annotations

from routing import (
    Break,
    ChangeKind,
    KeepOrder,
    Location,
    Rep,
    TimeWindow,
    Visit,
    replan,
    rest_of_day,
)
from tests.routing.helpers import HOME, H, at, fast

FAST = fast(solution_limit=100)
OFFICE = Location(60.23, 24.94)  # the day ends north of the line: one best order
REP = Rep("anna", HOME, TimeWindow(8 * H, 17 * H), end=OFFICE,
          breaks=(Break(11 * H + 1800, 13 * H, 1800),))


# Five visits on a line going north: the natural order is v1..v5.
LINE = [Visit(f"v{i}", at(0.01 * i), 1800) for i in range(1, 6)]


def run(order, **kw):
    kw.setdefault("now", 10 * H)
    kw.setdefault("position", at(0.01))
    return replan(REP, kw.pop("visits", LINE), current_order=order, params=FAST,
                  time_limit=2, **kw)


def test_good_order_is_kept_and_nothing_reported():
    """The rep's natural order after the first visit: kept, no changes."""
    r = run(["v2", "v3", "v4", "v5"], completed=["v1"])
    assert r.kept_order
    assert [s.visit_id for s in r.plan.routes[0].stops] == ["v2", "v3", "v4", "v5"]
    assert r.changes == ()
    assert r.summary[1].startswith("Kept your order")


def test_zigzag_order_is_replaced_with_moves_listed():
    """A zig-zag wastes far more than 10 %: the new order is taken and the moves are named."""
    r = run(["v5", "v2", "v4", "v3"], completed=["v1"])
    assert not r.kept_order
    assert [s.visit_id for s in r.plan.routes[0].stops] == ["v2", "v3", "v4", "v5"]
    assert r.best_travel_s < 0.9 * r.kept_travel_s
    assert {c.kind for c in r.changes} == {ChangeKind.MOVED}
    assert any("v5 moved from 1st to 4th" in c.text for c in r.changes)
    assert r.summary[1].startswith("New order: saves")


def test_threshold_is_configurable():
    """With a gain threshold nobody can meet, even the zig-zag is kept (and the gain said)."""
    r = run(["v5", "v2", "v4", "v3"], completed=["v1"],
            keep=KeepOrder(min_gain_ratio=1.0, min_gain_s=10 * H))
    assert r.kept_order and r.changes == ()
    assert "would save only" in r.summary[1]


def test_completed_visits_leave_and_count_against_max_visits():
    """Two visits done, a maximum of four: only two more are planned, the rest dropped."""
    rep = Rep("anna", HOME, TimeWindow(8 * H, 17 * H), max_visits=4)
    r = replan(rep, LINE, now=10 * H, position=at(0.02), current_order=["v3", "v4", "v5"],
               completed=["v1", "v2"], params=FAST, time_limit=2)
    served = [s.visit_id for s in r.plan.routes[0].stops]
    assert len(served) == 2 and "v1" not in served and "v2" not in served
    dropped = [c for c in r.changes if c.kind == ChangeKind.DROPPED]
    assert len(dropped) == 1 and "maximum number of visits" in dropped[0].text


def test_appointment_is_pinned_and_a_clash_is_dropped_with_reason():
    """An appointment at 15:30 for v5 stays; what no longer fits before 17:00 is dropped."""
    r = run(["v2", "v3", "v4", "v5"], now=15 * H, completed=["v1"],
            appointments={"v5": TimeWindow(15 * H + 1800, 16 * H + 600)})
    stops = {s.visit_id: s for s in r.plan.routes[0].stops}
    assert stops["v5"].start >= 15 * H + 1800 and stops["v5"].departure <= 16 * H + 600
    dropped = {c.visit_id for c in r.changes if c.kind == ChangeKind.DROPPED}
    assert dropped and "v5" not in dropped
    assert dropped | set(stops) == {"v2", "v3", "v4", "v5"}
    assert all("dropped:" in c.text for c in r.changes if c.kind == ChangeKind.DROPPED)


def test_time_shifts_and_new_visits_are_reported():
    """Planned for 10:00 but it is now 11:00: the start shift is said; a new visit is added."""
    visits = [*LINE[:3], Visit("new", at(0.035), 900)]
    r = run(["v2", "v3"], visits=visits, now=11 * H, completed=["v1"],
            planned_starts={"v2": 10 * H, "v3": 11 * H})
    kinds = {c.kind: c for c in r.changes}
    assert ChangeKind.ADDED in kinds and kinds[ChangeKind.ADDED].visit_id == "new"
    shifted = [c for c in r.changes if c.kind == ChangeKind.SHIFTED]
    assert any(c.visit_id == "v2" and "min later" in c.text for c in shifted)


def test_rest_of_day_drops_past_breaks_and_starts_here_and_now():
    """At 13:30 the lunch window (latest 13:00) has passed; at 12:00 it starts no earlier."""
    late = rest_of_day(REP, now=13 * H + 1800, position=at(0.05))
    assert late.breaks == () and late.start == at(0.05) and late.end == OFFICE
    assert late.shift == TimeWindow(13 * H + 1800, 17 * H)
    noon = rest_of_day(REP, now=12 * H, position=at(0.05))
    assert noon.breaks == (Break(12 * H, 13 * H, 1800),)
    taken = rest_of_day(REP, now=12 * H, position=at(0.05), breaks_taken=1)
    assert taken.breaks == ()
