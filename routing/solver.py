"""The one module that talks to OR-Tools.

Always the same order (as in the OR-Tools samples): data, index manager, routing model,
transit matrices registered once (no per-arc Python callbacks), dimensions, disjunctions,
search parameters with a time limit, solve, plain results. Every visit has a disjunction,
so the solver always returns a plan; what it leaves out comes back with a reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.matrix import GreatCircle, Matrices, TravelProvider
from routing.model import (
    DAY,
    REASON_TEXT,
    Location,
    Plan,
    Problem,
    Reason,
    Rep,
    RepRoute,
    Stop,
    Unassigned,
    Visit,
)

MUST_PENALTY = 10**12
# Metres of detour a visit is worth: priority 5 → 2,000 km, priority 1 → 50,000 km. Far above
# any day's driving, so visits are dropped only when they cannot fit, lowest priority first.
PRIORITY_BASE = 2_000_000


@dataclass(frozen=True)
class SolveParams:
    """Search settings; the defaults were chosen by measurement (see ROUTING-NOTES)."""

    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    solution_limit: int | None = None  # with it, results do not depend on machine speed


def _search(time_limit: float, params: SolveParams) -> Any:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution)
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic)
    search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    if params.solution_limit:
        search.solution_limit = params.solution_limit
    return search


def _penalty(v: Visit) -> int:
    if v.must_visit:
        return MUST_PENALTY
    return PRIORITY_BASE * (6 - v.priority) ** 2


def _eligible(v: Visit, reps: Sequence[Rep]) -> list[int]:
    out = []
    for i, r in enumerate(reps):
        if v.pinned_rep is not None and r.id != v.pinned_rep:
            continue
        if not v.skills <= r.skills:
            continue
        out.append(i)
    return out


def _precheck(v: Visit, reps: Sequence[Rep], eligible: list[int], m: Matrices,
              start_node: list[int], end_node: list[int], node: int) -> Reason | None:
    """Reasons a visit cannot be in any route, whatever the others do."""
    if v.pinned_rep is not None and v.pinned_rep not in {r.id for r in reps}:
        return Reason.PINNED_REP_ABSENT
    if not eligible:
        return Reason.SKILL_MISSING
    overlaps = False
    for i in eligible:
        shift = reps[i].shift
        for w in v.windows:
            lo, hi = max(w.start, shift.start), min(w.end, shift.end)
            if hi - lo >= v.duration:
                overlaps = True
                earliest = max(w.start, shift.start + int(m.travel_s[start_node[i], node]))
                if earliest + v.duration <= w.end and (
                        earliest + v.duration + int(m.travel_s[node, end_node[i]]) <= shift.end):
                    return None
    return Reason.SHIFT_TOO_SHORT if overlaps else Reason.OUTSIDE_WINDOWS


def solve(
    problem: Problem,
    *,
    time_limit: float = 5.0,
    seed: int = 0,
    params: SolveParams | None = None,
    provider: TravelProvider | None = None,
) -> Plan:
    """Plan the day: a route per rep and every left-out visit with its reason.

    ``seed`` is accepted for API stability; OR-Tools' routing search is deterministic for a
    given model, so a ``solution_limit`` in ``params`` makes results fully reproducible.
    """
    del seed
    started = time.perf_counter()
    params = params or SolveParams()
    provider = provider or GreatCircle(problem.circuity)
    reps, visits = problem.reps, problem.visits
    k, n = len(reps), len(visits)
    locations: list[Location] = [r.start for r in reps] + [r.home_end for r in reps]
    locations += [v.location for v in visits]
    speeds = sorted({r.speed_kmh for r in reps})
    mats = {s: provider.matrices(locations, s) for s in speeds}
    base = mats[speeds[0]]
    warnings = [w for m in mats.values() for w in m.warnings]
    start_node = list(range(k))
    end_node = list(range(k, 2 * k))
    visit_node = list(range(2 * k, 2 * k + n))

    eligible = [_eligible(v, reps) for v in visits]
    unassigned: list[Unassigned] = []
    active = []
    for j, v in enumerate(visits):
        # Judge reachability at the fastest eligible rep's speed: if they cannot, nobody can.
        fastest = max((reps[i].speed_kmh for i in eligible[j]), default=speeds[0])
        reason = _precheck(v, reps, eligible[j], mats[fastest], start_node, end_node,
                           visit_node[j])
        if reason is None:
            active.append(j)
        else:
            unassigned.append(Unassigned(v.id, reason, REASON_TEXT[reason]))

    nodes = start_node + end_node + [visit_node[j] for j in active]
    local = {node: i for i, node in enumerate(nodes)}
    size = len(nodes)
    manager = pywrapcp.RoutingIndexManager(size, k, [local[s] for s in start_node],
                                           [local[e] for e in end_node])
    routing = pywrapcp.RoutingModel(manager)
    sub = np.ix_(nodes, nodes)
    dist = base.distance_m[sub]
    service = np.zeros(size, dtype=np.int64)
    for j in active:
        service[local[visit_node[j]]] = visits[j].duration
    dist_cb = routing.RegisterTransitMatrix(dist.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cbs = {}
    for s in speeds:
        t = mats[s].travel_s[sub] + service[:, None]
        np.fill_diagonal(t, 0)
        time_cbs[s] = routing.RegisterTransitMatrix(t.tolist())
    routing.AddDimensionWithVehicleTransits(
        [time_cbs[r.speed_kmh] for r in reps], DAY, 2 * DAY, False, "Time")
    tdim = routing.GetDimensionOrDie("Time")
    for v_i, r in enumerate(reps):
        tdim.CumulVar(routing.Start(v_i)).SetRange(r.shift.start, r.shift.end)
        tdim.CumulVar(routing.End(v_i)).SetRange(r.shift.start, r.shift.end)
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v_i)))
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v_i)))
    solver = routing.solver()
    for j in active:
        v = visits[j]
        index = manager.NodeToIndex(local[visit_node[j]])
        cumul = tdim.CumulVar(index)
        starts = [(w.start, w.end - v.duration) for w in v.windows if w.end - v.duration >= w.start]
        cumul.SetRange(starts[0][0], starts[-1][1])
        for (_, a_end), (b_start, _) in zip(starts, starts[1:], strict=False):
            if b_start - a_end > 1:
                cumul.RemoveInterval(a_end + 1, b_start - 1)
        routing.AddDisjunction([index], _penalty(v))
        if len(eligible[j]) < k:
            routing.VehicleVar(index).SetValues([-1, *eligible[j]])
    visit_transits = [int(service[manager.IndexToNode(i)]) for i in range(routing.Size())]
    for v_i, r in enumerate(reps):
        intervals = [solver.FixedDurationIntervalVar(b.earliest, b.latest, b.duration, False,
                                                     f"break {r.id} {bi}")
                     for bi, b in enumerate(r.breaks)]
        if intervals:
            tdim.SetBreakIntervalsOfVehicle(intervals, v_i, visit_transits)
    if any(r.max_visits is not None for r in reps):
        ones = [1 if i >= 2 * k else 0 for i in range(size)]
        count_cb = routing.RegisterUnaryTransitVector(ones)
        caps = [r.max_visits if r.max_visits is not None else size for r in reps]
        routing.AddDimensionWithVehicleCapacity(count_cb, 0, caps, True, "Visits")

    solution = routing.SolveWithParameters(_search(time_limit, params))
    notes = list(warnings)
    if solution is None:  # cannot happen with disjunctions, but never return nothing
        notes.append("the solver found no solution in time; every visit is unassigned")
        for j in active:
            unassigned.append(Unassigned(visits[j].id, Reason.SHIFT_TOO_SHORT,
                                         REASON_TEXT[Reason.SHIFT_TOO_SHORT]))
        empty = tuple(RepRoute(r.id, (), r.shift.start, r.shift.start, 0, 0, 0, 0) for r in reps)
        return Plan(empty, tuple(unassigned), 0, time.perf_counter() - started, tuple(notes))

    routes = []
    counts = []
    for v_i, r in enumerate(reps):
        travel = mats[r.speed_kmh].travel_s[sub]
        index = routing.Start(v_i)
        stops: list[Stop] = []
        prev_node = manager.IndexToNode(index)
        depart = solution.Value(tdim.CumulVar(index))
        day_start = depart
        total_d = total_t = total_w = total_s = 0
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            leg_d, leg_t = int(dist[prev_node, node]), int(travel[prev_node, node])
            arrival = depart + leg_t
            start = solution.Value(tdim.CumulVar(index))
            j = active[node - 2 * k]
            stops.append(Stop(visits[j].id, arrival, start - arrival, start,
                              start + visits[j].duration, leg_d, leg_t))
            total_d += leg_d
            total_t += leg_t
            total_w += start - arrival
            total_s += visits[j].duration
            depart = start + visits[j].duration
            prev_node = node
            index = solution.Value(routing.NextVar(index))
        end_node_local = manager.IndexToNode(index)
        back_d = int(dist[prev_node, end_node_local])
        back_t = int(travel[prev_node, end_node_local])
        end = max(solution.Value(tdim.CumulVar(index)), depart + back_t) if stops else day_start
        counts.append(len(stops))
        routes.append(RepRoute(r.id, tuple(stops), day_start, end, total_d + back_d,
                               total_t + back_t, total_s, total_w, back_d, back_t))
    for j in active:
        if solution.Value(routing.NextVar(manager.NodeToIndex(local[visit_node[j]]))) == \
                manager.NodeToIndex(local[visit_node[j]]):
            limits = [reps[i].max_visits for i in eligible[j]]
            full = all(lim is not None and counts[i] >= lim
                       for i, lim in zip(eligible[j], limits, strict=True))
            reason = Reason.CAPACITY if full else Reason.DROPPED_FOR_PRIORITY
            unassigned.append(Unassigned(visits[j].id, reason, REASON_TEXT[reason]))
    order = {v.id: i for i, v in enumerate(visits)}
    unassigned.sort(key=lambda u: order[u.visit_id])
    return Plan(tuple(routes), tuple(unassigned), int(solution.ObjectiveValue()),
                time.perf_counter() - started, tuple(notes))


@dataclass(frozen=True)
class VrptwResult:
    """Routes as lists of customer indices (1-based, depot 0 omitted)."""

    routes: list[list[int]]
    seconds: float


def solve_vrptw(
    coords: np.ndarray,
    demand: np.ndarray,
    capacity: int,
    windows: np.ndarray,
    service: np.ndarray,
    vehicles: int,
    *,
    time_limit: float = 10.0,
    params: SolveParams | None = None,
    scale: int = 1000,
) -> VrptwResult:
    """Capacitated VRP with time windows on Euclidean distances (the Solomon setting).

    Node 0 is the depot. Distances and times are the Euclidean distance times ``scale``,
    rounded, so that the integer model stays within 0.1 % of the unrounded objective.
    """
    started = time.perf_counter()
    params = params or SolveParams()
    n = len(coords)
    diff = coords[:, None, :] - coords[None, :, :]
    d = np.rint(np.sqrt((diff**2).sum(-1)) * scale).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(d.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    t = d + (np.asarray(service, dtype=np.int64) * scale)[:, None]
    np.fill_diagonal(t, 0)
    time_cb = routing.RegisterTransitMatrix(t.tolist())
    horizon = int(windows[0][1] * scale)
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    tdim = routing.GetDimensionOrDie("Time")
    for node in range(1, n):
        idx = manager.NodeToIndex(node)
        tdim.CumulVar(idx).SetRange(int(windows[node][0] * scale), int(windows[node][1] * scale))
        routing.AddDisjunction([idx], MUST_PENALTY)
    for v in range(vehicles):
        tdim.CumulVar(routing.Start(v)).SetRange(int(windows[0][0] * scale), horizon)
        tdim.CumulVar(routing.End(v)).SetRange(int(windows[0][0] * scale), horizon)
    dem_cb = routing.RegisterUnaryTransitVector([int(x) for x in demand])
    routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [int(capacity)] * vehicles, True, "Load")
    solution = routing.SolveWithParameters(_search(time_limit, params))
    routes: list[list[int]] = []
    if solution is not None:
        for v in range(vehicles):
            index = solution.Value(routing.NextVar(routing.Start(v)))
            route = []
            while not routing.IsEnd(index):
                route.append(manager.IndexToNode(index))
                index = solution.Value(routing.NextVar(index))
            if route:
                routes.append(route)
    return VrptwResult(routes, time.perf_counter() - started)
