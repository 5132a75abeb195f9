"""The day planner pins every constraint and always answers with reasons."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from routing import (
    Break,
    Location,
    ModelError,
    OsrmTable,
    Problem,
    Reason,
    Rep,
    SolveParams,
    TimeWindow,
    Visit,
)
from tests.routing.helpers import HOME, H, at, rep, run, visit


def test_ok_small_all_visits_planned_in_time_order():
    """Four visits, one rep, a roomy day: everything is planned, times are consistent."""
    plan = run([rep()], [visit(f"v{i}", 0.005 * i, 0.003 * i) for i in range(1, 5)])
    route = plan.route("r1")
    assert not plan.unassigned and len(route.stops) == 4
    for s in route.stops:
        assert s.arrival + s.wait == s.start and s.departure == s.start + 1800
    for a, b in zip(route.stops, route.stops[1:], strict=False):
        assert b.arrival == a.departure + b.leg_travel_s
    assert route.distance_m == sum(s.leg_distance_m for s in route.stops) + route.return_distance_m


def test_two_windows_with_lunch_closure_are_respected():
    """A shop open 9–12 and 13–17: a 90-minute visit never straddles the lunch closure."""
    v = visit("shop", windows=(TimeWindow(9 * H, 12 * H), TimeWindow(13 * H, 17 * H)),
              duration=5400)
    early = visit("early", 0.002, windows=(TimeWindow(8 * H, 11 * H),), duration=9000)
    plan = run([rep()], [early, v])
    stop = next(s for s in plan.route("r1").stops if s.visit_id == "shop")
    assert (9 * H <= stop.start and stop.departure <= 12 * H) or (
        13 * H <= stop.start and stop.departure <= 17 * H)
    assert not plan.unassigned


def test_break_is_taken_inside_its_window():
    """A 45-minute lunch between 11:30 and 13:00 leaves a gap of at least 45 minutes."""
    visits = [visit(f"v{i}", 0.001 * i, duration=2 * H) for i in range(1, 5)]
    plan = run([rep(breaks=(Break(11 * H + 1800, 13 * H, 2700),))], visits)
    stops = plan.route("r1").stops
    assert len(stops) == 4
    gaps = [b.start - a.departure for a, b in zip(stops, stops[1:], strict=False)]
    assert max(gaps) >= 2700


def test_shift_end_drops_what_does_not_fit_with_a_reason():
    """Six 2-hour visits cannot fit a 9-hour shift: some are left out, each with a reason."""
    plan = run([rep()], [visit(f"v{i}", 0.001 * i, duration=2 * H) for i in range(6)])
    route = plan.route("r1")
    assert route.end <= 17 * H and len(route.stops) == 4
    # Every visit has the same priority: nothing was dropped "for priority"; the day is full.
    assert {u.reason for u in plan.unassigned} == {Reason.NO_ROOM}
    assert len(plan.unassigned) == 2


def test_dropped_for_priority_only_when_a_more_important_visit_took_the_room():
    """A priority-4 visit loses to a priority-1 one: 'priority'; an equal one: 'no room'."""
    visits = [visit("p1", 0.001, duration=4 * H, priority=1),
              visit("p4", 0.002, duration=4 * H, priority=4),
              visit("p4b", 0.003, duration=4 * H, priority=4),
              visit("p4c", 0.004, duration=4 * H, priority=4)]
    plan = run([rep()], visits)
    assert "p1" in plan.served and len(plan.served) == 2
    assert {u.reason for u in plan.unassigned} == {Reason.DROPPED_FOR_PRIORITY}


def test_no_room_when_the_more_important_visit_is_on_a_rep_who_could_not_go():
    """Bert's priority-1 visit did not take Anna's room: her left-out visit has 'no room'."""
    reps = [rep("anna", shift=TimeWindow(8 * H, 12 * H)), rep("bert")]
    visits = [visit("a1", 0.001, duration=3 * H, pinned_rep="anna", priority=3),
              visit("a2", 0.002, duration=3 * H, pinned_rep="anna", priority=3),
              visit("b1", 0.003, duration=H, pinned_rep="bert", priority=1)]
    plan = run(reps, visits)
    assert len(plan.unassigned) == 1
    assert plan.unassigned[0].reason == Reason.NO_ROOM
    assert "no room" in plan.unassigned[0].text


def test_lower_priority_is_dropped_first_and_must_visit_kept():
    """When not all fit, the priority-5 visits go first; a must-visit always stays."""
    visits = [visit("low-a", 0.001, duration=3 * H, priority=5),
              visit("low-b", 0.002, duration=3 * H, priority=5),
              visit("high", 0.05, duration=3 * H, priority=1),
              visit("must", 0.06, duration=3 * H, priority=5, must_visit=True)]
    plan = run([rep()], visits)
    assert {"high", "must"} <= plan.served
    assert {u.visit_id for u in plan.unassigned} <= {"low-a", "low-b"}


def test_max_visits_gives_capacity_reason():
    """A rep limited to two visits leaves the third with the capacity reason."""
    plan = run([rep(max_visits=2)], [visit(f"v{i}", 0.001 * i) for i in range(3)])
    assert len(plan.route("r1").stops) == 2
    assert [u.reason for u in plan.unassigned] == [Reason.CAPACITY]


def test_pinned_rep_and_skills():
    """A pinned visit goes to its rep; a visit needing a skill goes to the rep who has it."""
    reps = [rep("anna"), rep("bert", skills=frozenset({"forklift"}))]
    visits = [visit("pinned", 0.001, pinned_rep="anna"),
              visit("skilled", 0.002, skills=frozenset({"forklift"})),
              visit("nobody", 0.003, skills=frozenset({"crane"})),
              visit("ghost", 0.004, pinned_rep="carl")]
    plan = run(reps, visits)
    assert [s.visit_id for s in plan.route("anna").stops] == ["pinned"]
    assert "skilled" in {s.visit_id for s in plan.route("bert").stops}
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    assert reasons == {"nobody": Reason.SKILL_MISSING, "ghost": Reason.PINNED_REP_ABSENT}


def test_infeasible_visits_still_get_a_plan_with_reasons():
    """Outside every window, or too far to do within the shift: a plan, not an error."""
    night = visit("night", windows=(TimeWindow(20 * H, 22 * H),))
    far = Visit("far", Location(61.5, 27.0), 1800)  # ~250 km away: 8+ hours each way
    plan = run([rep()], [night, far, visit("ok")])
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    assert reasons == {"night": Reason.OUTSIDE_WINDOWS, "far": Reason.SHIFT_TOO_SHORT}
    assert plan.served == {"ok"} and all(u.text for u in plan.unassigned)


def test_same_input_same_plan():
    """With a solution limit the plan does not depend on the machine's speed."""
    visits = [visit(f"v{i}", 0.003 * (i % 4), 0.004 * (i // 4)) for i in range(12)]
    params = SolveParams(solution_limit=200)
    a = run([rep(), rep("r2")], visits, params=params, time_limit=10)
    b = run([rep(), rep("r2")], visits, params=params, time_limit=10)
    assert a.routes == b.routes


def test_a_solution_limit_keeps_pyvrp_out():
    """PyVRP stops on time, not on a count: with a pinned solution limit neither this process
    nor a helper runs it, whatever the time limit (so the pinned plan does not depend on the
    machine), and without one both do from their thresholds."""
    pinned, free = SolveParams(solution_limit=200), SolveParams()
    assert not pinned.uses_engine(60) and not pinned.uses_helper(60)
    assert free.uses_engine(free.engine_min_seconds) and not free.uses_helper(1.0)
    assert free.uses_helper(free.helper_min_seconds)
    assert not SolveParams(workers=1).uses_helper(60)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Location(95, 24), "lat"),
        (lambda: TimeWindow(10, 5), "end"),
        (lambda: Visit("v", HOME, -1), "duration"),
        (lambda: Visit("v", HOME, 60, priority=9), "priority"),
        (lambda: Visit("v", HOME, 60, windows=(TimeWindow(0, 100), TimeWindow(50, 200))),
         "windows"),
        (lambda: Rep("r", HOME, TimeWindow(0, 10), speed_kmh=0), "speed_kmh"),
        (lambda: Problem((), ()), "reps"),
        (lambda: Problem((rep(), rep()), ()), "reps"),
    ],
)
def test_validation_names_the_field(build, field):
    """Bad models are refused at construction, naming the field."""
    with pytest.raises(ModelError) as err:
        build()
    assert err.value.field == field


class _Osrm(BaseHTTPRequestHandler):
    calls: list[str] = []
    fail = False

    def do_GET(self):  # noqa: N802
        type(self).calls.append(self.path)
        if type(self).fail:
            self.send_response(500)
            self.end_headers()
            return
        coords, query = self.path.split("/driving/")[1].split("?")
        params = dict(p.split("=") for p in query.split("&"))
        src = [int(x) for x in params["sources"].split(";")]
        dst = [int(x) for x in params["destinations"].split(";")]
        body = {"code": "Ok", "durations": [[60.0 * abs(a - b) for b in dst] for a in src],
                "distances": [[1000.0 * abs(a - b) for b in dst] for a in src]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)
        del coords

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm():
    server = HTTPServer(("127.0.0.1", 0), _Osrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Osrm.calls.clear()
    _Osrm.fail = False
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_osrm_table_in_blocks(osrm):
    """Five points in blocks of two: nine requests, assembled into one full matrix."""
    points = [at(0.001 * i, 0) for i in range(5)]
    m = OsrmTable(osrm, block=2).matrices(points, 30)
    assert len(_Osrm.calls) == 9 and not m.warnings
    assert m.travel_s.shape == (5, 5) and m.distance_m[0, 4] > 0


def test_osrm_failure_falls_back_with_a_warning(osrm):
    """A failing service gives great-circle times and a warning carried into the plan."""
    _Osrm.fail = True
    plan = run([rep()], [visit("a"), visit("b", 0.02)], provider=OsrmTable(osrm, timeout_s=1))
    assert plan.served == {"a", "b"}
    assert any("unavailable" in n for n in plan.notes)
