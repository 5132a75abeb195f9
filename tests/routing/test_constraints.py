"""More constraints pinned with hand-computed numbers, and large days split by territory."""

from __future__ import annotations

from routing import (
    Break,
    GreatCircle,
    Location,
    Problem,
    Reason,
    Rep,
    SolveParams,
    TimeWindow,
    Visit,
    solve,
)
from routing.decompose import assign_to_reps, group_reps
from tests.routing.helpers import HOME, H, at, gc_metres, run


def test_single_window_hand_computed_times():
    """One visit open 10–11: the rep leaves just in time and arrives at 10:00 sharp.

    1.3 × the great-circle distance at 30 km/h: the leg and the day's start are exact.
    """
    target = at(0.05)
    d = round(gc_metres(HOME, target) * 1.3)
    t = round(gc_metres(HOME, target) * 1.3 / (30 / 3.6))
    plan = run([Rep("r", HOME, TimeWindow(8 * H, 17 * H))],
               [Visit("v", target, 1200, (TimeWindow(10 * H, 11 * H),))])
    route = plan.route("r")
    (stop,) = route.stops
    assert stop.leg_distance_m == d and stop.leg_travel_s == t
    assert stop.start == 10 * H and stop.arrival == 10 * H and stop.wait == 0
    assert route.start == 10 * H - t
    assert route.end == 10 * H + 1200 + t and route.distance_m == 2 * d


def test_visit_never_starts_before_its_window_but_waits():
    """A window opening at 14:00 next to home: the rep arrives and starts inside it."""
    plan = run([Rep("r", HOME, TimeWindow(8 * H, 17 * H))],
               [Visit("early", at(0.001), 600), Visit("late", at(0.002), 600,
                                                     (TimeWindow(14 * H, 15 * H),))])
    late = next(s for s in plan.route("r").stops if s.visit_id == "late")
    assert 14 * H <= late.start <= 15 * H - 600 and late.arrival + late.wait == late.start


def test_shift_start_and_different_end_location():
    """No stop before the shift starts; the day ends at the rep's end location, not home."""
    office = at(0.03)
    rep = Rep("r", HOME, TimeWindow(9 * H, 17 * H), end=office)
    plan = run([rep], [Visit("v", at(0.01), 600)])
    route = plan.route("r")
    assert route.start >= 9 * H and route.stops[0].arrival >= 9 * H
    expected_back = round(gc_metres(at(0.01), office) * 1.3)
    assert route.return_distance_m == expected_back


def test_break_never_overlaps_a_visit_and_day_fits_shift():
    """Three 2h visits and a 1h lunch within 11–13 in an 8-hour shift: all fit, lunch is a gap."""
    rep = Rep("r", HOME, TimeWindow(8 * H, 16 * H), breaks=(Break(11 * H, 13 * H, H),))
    plan = run([rep], [Visit(f"v{i}", at(0.0005 * i), 2 * H) for i in range(1, 4)])
    stops = plan.route("r").stops
    assert len(stops) == 3 and plan.route("r").end <= 16 * H
    gaps = [(a.departure, b.start) for a, b in zip(stops, stops[1:], strict=False)]
    # Some gap of at least an hour lies inside [11:00, 14:00] (a break start in 11–13).
    assert any(b - a >= H and a <= 13 * H and b >= 11 * H + H for a, b in gaps)


def test_must_visit_appointment_kept_and_others_dropped_with_reasons():
    """A tight day: the must-visit appointment stays, lower priorities go first, with reasons."""
    rep = Rep("r", HOME, TimeWindow(8 * H, 12 * H))
    # The window holds the whole visit: an hour's appointment at 10:00 is the window 10–11.
    visits = [Visit("appt", at(0.01), H, (TimeWindow(10 * H, 11 * H),), priority=5,
                    must_visit=True),
              Visit("p1", at(0.011), 2 * H, priority=1),
              Visit("p4", at(0.012), 2 * H, priority=4)]
    plan = run([rep], visits)
    appt = next(s for s in plan.route("r").stops if s.visit_id == "appt")
    assert appt.start == 10 * H
    assert plan.served == {"appt", "p1"} or plan.served == {"appt"}
    assert "p4" in {u.visit_id for u in plan.unassigned}
    assert all(u.reason == Reason.DROPPED_FOR_PRIORITY and u.text for u in plan.unassigned)


def test_each_rep_uses_its_own_speed():
    """A cyclist (15 km/h) takes twice a driver's (30 km/h) time over the same leg."""
    visits = [Visit("a", at(0.02), 600, pinned_rep="bike"), Visit("b", at(0.02, 0.0001), 600,
                                                                    pinned_rep="car")]
    reps = [Rep("bike", HOME, TimeWindow(8 * H, 17 * H), speed_kmh=15),
            Rep("car", HOME, TimeWindow(8 * H, 17 * H), speed_kmh=30)]
    plan = run(reps, visits)
    bike, car = plan.route("bike").stops[0], plan.route("car").stops[0]
    assert abs(bike.leg_travel_s - 2 * car.leg_travel_s) <= 10


def _team(n_reps: int, per_rep: int) -> Problem:
    reps, visits = [], []
    for i in range(n_reps):
        home = at(0.1 * (i % 3), 0.2 * (i // 3))
        reps.append(Rep(f"r{i}", home, TimeWindow(8 * H, 17 * H), max_visits=per_rep + 2))
        for j in range(per_rep):
            visits.append(Visit(f"v{i}-{j}", Location(home.lat + 0.004 * (j % 3) - 0.004,
                                                      home.lon + 0.006 * (j // 3) - 0.006),
                                900))
    return Problem(tuple(reps), tuple(visits))


def test_assign_to_reps_by_home_proximity_and_capacity():
    """Visits go to the nearest rep; once that rep is full they spill to the next nearest."""
    reps = (Rep("west", HOME, TimeWindow(8 * H, 10 * H)),
            Rep("east", at(0, 0.5), TimeWindow(8 * H, 17 * H)))
    near_west = [Visit(f"w{i}", at(0.001 * i), 1800) for i in range(1, 7)]
    problem = Problem(reps, tuple(near_west) + (Visit("e", at(0, 0.49), 600),))
    locs = [r.start for r in reps] + [r.home_end for r in reps] + [v.location for v in
                                                                   problem.visits]
    owner, reasons = assign_to_reps(problem, GreatCircle().matrices(locs, 30))
    assert not reasons
    # West has 2 h × 0.85 = 6,120 s: three 30-minute visits (plus local travel) fit.
    assert owner[:6].count(0) == 3 and owner[:6].count(1) == 3 and owner[6] == 1


def test_large_day_is_split_by_territory_and_says_so():
    """Above the threshold, the plan is decomposed, every visit is served once or has a reason."""
    problem = _team(6, 8)
    params = SolveParams(metaheuristic="GREEDY_DESCENT", decompose_above=20, group_visits=16)
    plan = solve(problem, time_limit=10, params=params)  # stops early: local optima
    assert any("split by territory" in n for n in plan.notes)
    served = [s.visit_id for r in plan.routes for s in r.stops]
    assert len(served) == len(set(served))
    assert set(served) | {u.visit_id for u in plan.unassigned} == {v.id for v in problem.visits}
    assert len(served) == 48  # roomy days: everything fits
    assert [r.rep_id for r in plan.routes] == [r.id for r in problem.reps]
    # Compact territories: each rep's visits are their own neighbourhood's.
    for r in plan.routes:
        assert all(s.visit_id.startswith(f"v{r.rep_id[1:]}-") for s in r.stops)


def test_decomposed_day_keeps_pins_skills_and_reasons():
    """Pinned and skilled visits reach the right rep after decomposition; impossible ones
    keep their reason."""
    base = _team(4, 6)
    extra = (Visit("pinned", at(0.0001), 600, pinned_rep="r3"),
             Visit("skilled", at(0.0002), 600, skills=frozenset({"crane"})),
             Visit("nobody", at(0.0003), 600, skills=frozenset({"rocket"})))
    reps = base.reps[:2] + (Rep("r2", base.reps[2].start, TimeWindow(8 * H, 17 * H),
                                skills=frozenset({"crane"})),) + base.reps[3:]
    problem = Problem(reps, base.visits + extra)
    params = SolveParams(metaheuristic="GREEDY_DESCENT", decompose_above=10, group_visits=8)
    plan = solve(problem, time_limit=10, params=params)  # stops early: local optima
    assert any("split by territory" in n for n in plan.notes)
    assert "pinned" in {s.visit_id for s in plan.route("r3").stops}
    assert "skilled" in {s.visit_id for s in plan.route("r2").stops}
    assert {u.visit_id: u.reason for u in plan.unassigned} == {"nobody": Reason.SKILL_MISSING}


def test_group_reps_keeps_neighbours_together():
    """Six reps in two far-apart towns of three: groups of about 3 reps' visits are the towns."""
    reps, owner = [], []
    for i in range(6):
        town = at(0, 0) if i < 3 else at(1.0, 1.0)
        reps.append(Rep(f"r{i}", Location(town.lat + 0.01 * i, town.lon), TimeWindow(0, 10)))
        owner += [i] * 10
    problem = Problem(tuple(reps), tuple(Visit(f"v{j}", HOME, 60) for j in range(60)))
    groups = group_reps(problem, owner, 30)
    assert sorted(groups) == [[0, 1, 2], [3, 4, 5]]


def test_reps_sharing_one_base_get_compact_sectors():
    """Four reps leave from one depot; visits sit in four far-apart clusters round it: each
    rep gets exactly one whole cluster (sweep seeds, then capacity-aware k-means)."""
    reps = tuple(Rep(f"r{i}", HOME, TimeWindow(8 * H, 17 * H)) for i in range(4))
    corners = [(0.1, 0.2), (0.1, -0.2), (-0.1, 0.2), (-0.1, -0.2)]
    visits = tuple(Visit(f"c{c}-{j}", at(dy + 0.002 * (j % 3), dx + 0.003 * (j // 3)), 600)
                   for c, (dy, dx) in enumerate(corners) for j in range(6))
    problem = Problem(reps, visits)
    locs = [r.start for r in reps] + [r.home_end for r in reps] + [v.location for v in visits]
    owner, _ = assign_to_reps(problem, GreatCircle().matrices(locs, 30))
    clusters = [{owner[c * 6 + j] for j in range(6)} for c in range(4)]
    assert all(len(c) == 1 for c in clusters)
    assert len({next(iter(c)) for c in clusters}) == 4
