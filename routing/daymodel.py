"""The day model: the one place that builds and reads OR-Tools routing models.

Always the same order (as in the OR-Tools samples): data, index manager, routing model,
transit matrices registered once (no per-arc Python callbacks), dimensions, disjunctions,
search parameters with a time limit, solve, plain results. Every visit has a disjunction,
so the solver always returns a plan; what it leaves out comes back with a reason.

Shared by ``solver`` (entry points), ``decompose`` (large team days), ``weekly`` and
``replan``; it imports none of them, so imports inside the library point one way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.checks import number
from routing.errors import ModelError
from routing.matrix import Matrices, TravelProvider
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
from routing.search import (
    EngineDay,
    Helper,
    configure_ils,
    history,
    perturbations,
    planar,
    pyvrp_installed,
    solve_engine_day,
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
    decompose_above: int = 250  # more visits than this (and several reps): split by territory
    group_visits: int = 100  # target visits per sub-problem when split
    rounds: int = 2  # when split: solve rounds, each cutting the team along other borders
    # Also build a first solution this way (each descended to a local optimum within
    # ``start_share`` of the time limit) and search on from the best: on field days,
    # PATH_CHEAPEST_ARC (safe here: every visit has a disjunction) often starts far better.
    also_try: tuple[str, ...] = ("PATH_CHEAPEST_ARC",)
    start_share: float = 0.15
    # OR-Tools' iterated local search with ruin-and-recreate instead of the metaheuristic
    # above (routing/search.py); ignored with GREEDY_DESCENT, which means "just descend".
    ils: bool = True
    # Processes: 2 also runs PyVRP (when installed and the day is expressible) on the second
    # core and keeps its plan only if OR-Tools' model accepts it and it is better.
    workers: int = 2
    # Below this a second process costs more than it gives: on the field day at 1 s, one
    # process served 88 visits (76 km) in 1.0 s, two served 85-86 (101-119 km) in 1.3-1.5 s
    # (the child takes 0.3-0.5 s to start; measured at load ~10).
    helper_min_seconds: float = 1.5
    # Below this PyVRP is not run in this process either (OR-Tools alone: short limits and
    # tests that pin a solution_limit stay deterministic).
    engine_min_seconds: float = 1.0
    # With main_engine='pyvrp' and a helper: the share of the time limit in which this
    # process stops its PyVRP run and lets OR-Tools finish that plan (see ``portfolio``).
    finish_share: float = 0.15
    # What this process runs on days PyVRP can express (and PyVRP is installed): "pyvrp"
    # (a second PyVRP seed, its plan checked and finalised by OR-Tools like the helper's)
    # or "ortools" (the ILS above). Measured (Solomon RC107/R105/RC105, 10 s): "pyvrp"
    # 1.0004x PyVRP alone, "ortools" 1.0024x, the ILS alone 1.026x; all 56 Solomon
    # instances with "pyvrp": 0.9992x (56/56 served). Days PyVRP cannot express (pins,
    # skills), oversubscribed days (the pool) and machines without it run OR-Tools' ILS.
    main_engine: str = "pyvrp"
    # Far more candidates than the team can visit (a 2,000-stop list for one rep's 30-visit
    # day): OR-Tools plans the most promising ``pool`` × capacity of them (at least
    # ``pool_min``), nearest to the reps' homes and most important first; PyVRP still sees
    # them all. 0 turns pooling off.
    pool: int = 8
    pool_min: int = 300

    def __post_init__(self) -> None:
        for name in (self.first_solution, *self.also_try):
            if name not in routing_enums_pb2.FirstSolutionStrategy.Value.keys():
                raise ModelError("SolveParams", "first_solution",
                                 f"{name!r} is not an OR-Tools first-solution strategy")
        if self.metaheuristic not in routing_enums_pb2.LocalSearchMetaheuristic.Value.keys():
            raise ModelError("SolveParams", "metaheuristic",
                             f"{self.metaheuristic!r} is not an OR-Tools metaheuristic")
        if self.solution_limit is not None:
            number("SolveParams", "solution_limit", self.solution_limit, minimum=1)
        number("SolveParams", "decompose_above", self.decompose_above, minimum=0)
        number("SolveParams", "group_visits", self.group_visits, minimum=1)
        number("SolveParams", "rounds", self.rounds, minimum=1)
        number("SolveParams", "start_share", self.start_share, positive=True, maximum=1)
        number("SolveParams", "workers", self.workers, minimum=1, maximum=2)
        number("SolveParams", "helper_min_seconds", self.helper_min_seconds, minimum=0)
        number("SolveParams", "engine_min_seconds", self.engine_min_seconds, minimum=0)
        number("SolveParams", "finish_share", self.finish_share, minimum=0, maximum=0.9)
        number("SolveParams", "pool", self.pool, minimum=0)
        number("SolveParams", "pool_min", self.pool_min, minimum=1)
        if self.main_engine not in ("ortools", "pyvrp"):
            raise ModelError("SolveParams", "main_engine", "is 'ortools' or 'pyvrp'")

    def uses_helper(self, time_limit: float) -> bool:
        """Whether a second process runs PyVRP beside this one.

        Never with a ``solution_limit``: PyVRP stops on time, not on a count, so its plan
        would depend on the machine's speed and the pinned limit would no longer pin."""
        return (self.solution_limit is None and self.workers > 1
                and time_limit >= self.helper_min_seconds)

    def uses_engine(self, time_limit: float) -> bool:
        """Whether PyVRP may run at all (here or in the helper); never with a
        ``solution_limit``, for the reason given in ``uses_helper``."""
        return self.solution_limit is None and time_limit >= min(
            self.engine_min_seconds, self.helper_min_seconds)

    @property
    def iterated(self) -> bool:
        """Whether the search is OR-Tools' ruin-and-recreate ILS."""
        return self.ils and self.metaheuristic != "GREEDY_DESCENT"


def search_parameters(time_limit: float, params: SolveParams) -> Any:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution)
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic)
    search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    if params.solution_limit:
        search.solution_limit = params.solution_limit
    return search


def ils_search(routing: Any, time_limit: float, params: SolveParams, visits: int) -> Any:
    """OR-Tools' iterated local search (ruin and recreate) for ``time_limit`` seconds.

    Each perturbed plan is descended (GREEDY_DESCENT inside the ILS); None when not even a
    first solution was found, so the caller can fall back to the classic search.
    """
    search = search_parameters(time_limit, replace(params, metaheuristic="GREEDY_DESCENT"))
    configure_ils(search, visits)
    return routing.SolveWithIteratedLocalSearch(search)


def better(a: Any | None, b: Any | None) -> Any | None:
    """The assignment with the lower objective (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return b if b.ObjectiveValue() < a.ObjectiveValue() else a


def penalty(v: Visit) -> int:
    if v.must_visit:
        return MUST_PENALTY
    return PRIORITY_BASE * (6 - v.priority) ** 2


def rank(v: Visit) -> int:
    """How much a visit matters, smaller first: 0 for a must-visit, else its priority."""
    return 0 if v.must_visit else v.priority


def left_out_reason(v: Visit, reps: Sequence[Rep], counts: Sequence[int],
                    top: Sequence[int]) -> Reason:
    """Why a visit that could be in a route is not, given its eligible reps' days.

    ``counts`` are the visits each of those reps has; ``top`` the rank of the most important
    visit each one serves. Every rep at their maximum: capacity. Otherwise the visit lost
    out to more important visits only if some eligible rep serves one; when everything
    those reps do matters as much or less, the honest answer is that the days are full.
    """
    if reps and all(r.max_visits is not None and c >= r.max_visits
                    for r, c in zip(reps, counts, strict=True)):
        return Reason.CAPACITY
    if any(t < rank(v) for t in top):
        return Reason.DROPPED_FOR_PRIORITY
    return Reason.NO_ROOM


def eligible_reps(v: Visit, reps: Sequence[Rep]) -> list[int]:
    out = []
    for i, r in enumerate(reps):
        if v.pinned_rep is not None and r.id != v.pinned_rep:
            continue
        if not v.skills <= r.skills:
            continue
        if r.route_locked and v.pinned_rep != r.id:
            continue
        out.append(i)
    return out


def precheck(v: Visit, reps: Sequence[Rep], eligible: list[int], m: Matrices,
              start_node: list[int], end_node: list[int], node: int) -> Reason | None:
    """Reasons a visit cannot be in any route, whatever the others do."""
    if v.pinned_rep is not None and v.pinned_rep not in {r.id for r in reps}:
        return Reason.PINNED_REP_ABSENT
    if not eligible:
        return Reason.SKILL_MISSING
    if all(w.end - w.start < v.duration for w in v.windows):
        return Reason.WINDOW_TOO_SHORT
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


def travel_matrices(provider: TravelProvider, locations: Sequence[Location],
                    speeds: Sequence[float]) -> dict[float, Matrices]:
    """The provider's matrices per speed, checked: a NaN, negative or missing cell from a
    custom provider would otherwise turn into garbage integers inside OR-Tools."""
    n = len(locations)
    out = {}
    for speed in speeds:
        m = provider.matrices(locations, speed)
        for field, arr in (("distance_m", m.distance_m), ("travel_s", m.travel_s)):
            a = np.asarray(arr)
            if a.shape != (n, n):
                raise ModelError("TravelProvider", field,
                                 f"has shape {a.shape} for {n} locations")
            if not np.isfinite(a).all() or (a < 0).any():
                raise ModelError("TravelProvider", field,
                                 "has cells that are not finite, non-negative numbers")
        out[speed] = m
    return out


class FixedMatrices:
    """Matrices computed once for a whole problem, served to its sub-problems by location."""

    def __init__(self, locations: Sequence[Location], mats: dict[float, Matrices]) -> None:
        self.index = {loc: i for i, loc in enumerate(locations)}
        self.mats = mats

    def matrices(self, locations: Sequence[Location], speed_kmh: float) -> Matrices:
        rows = [self.index[p] for p in locations]
        m = self.mats[speed_kmh]
        sub = np.ix_(rows, rows)
        return Matrices(m.distance_m[sub], m.travel_s[sub])


class DayModel:
    """One day's OR-Tools model: built once, then solved, restored from routes or read back.

    The steps follow the OR-Tools samples. Visits that cannot be in any route whatever the
    others do (skills, windows, reach) are decided before the model and never enter it.
    """

    def __init__(self, problem: Problem, provider: TravelProvider, *,
                 pool: int | None = None, only: Collection[str] | None = None) -> None:
        """``pool``: plan at most this many candidates (the most promising; see
        ``SolveParams.pool``); ``only``: plan just these visit ids. Either way the others
        are still checked, offered to PyVRP (``engine_day``) and reported when left out."""
        self.started = time.perf_counter()
        self.problem = problem
        reps, visits = problem.reps, problem.visits
        k, n = len(reps), len(visits)
        locations: list[Location] = [r.start for r in reps] + [r.home_end for r in reps]
        locations += [v.location for v in visits]
        speeds = sorted({r.speed_kmh for r in reps})
        self.mats = mats = travel_matrices(provider, locations, speeds)
        base = mats[speeds[0]]
        self.warnings = list(dict.fromkeys(w for m in mats.values() for w in m.warnings))
        start_node = list(range(k))
        end_node = list(range(k, 2 * k))
        visit_node = list(range(2 * k, 2 * k + n))
        self.eligible = eligible = [eligible_reps(v, reps) for v in visits]
        self.unassigned: list[Unassigned] = []
        self.active: list[int] = []
        active = self.active
        for j, v in enumerate(visits):
            # Judge reachability at the fastest eligible rep's speed: if they cannot, nobody can.
            fastest = max((reps[i].speed_kmh for i in eligible[j]), default=speeds[0])
            reason = precheck(v, reps, eligible[j], mats[fastest], start_node, end_node,
                               visit_node[j])
            if reason is None:
                active.append(j)
            else:
                self.unassigned.append(Unassigned(v.id, reason, REASON_TEXT[reason]))
        self.locations = locations
        self.reachable = list(active)  # every visit some route could hold
        self.full_nodes = start_node + end_node + [visit_node[j] for j in active]
        if only is not None:
            wanted = set(only)
            active[:] = [j for j in active if visits[j].id in wanted]
        elif pool is not None and len(active) > pool:
            active[:] = self._pool(pool, base.travel_s, start_node, end_node, visit_node)
        kept = set(active)
        self.pooled_out = [j for j in self.reachable if j not in kept]

        nodes = start_node + end_node + [visit_node[j] for j in active]
        self.local = local = {node: i for i, node in enumerate(nodes)}
        self.node_locations = [locations[node] for node in nodes]
        self.speeds = speeds
        size = len(nodes)
        self.manager = manager = pywrapcp.RoutingIndexManager(
            size, k, [local[s] for s in start_node], [local[e] for e in end_node])
        self.routing = routing = pywrapcp.RoutingModel(manager)
        self.sub = sub = np.ix_(nodes, nodes)
        self.dist = dist = base.distance_m[sub]
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
        self.tdim = tdim = routing.GetDimensionOrDie("Time")
        for v_i, r in enumerate(reps):
            tdim.CumulVar(routing.Start(v_i)).SetRange(r.shift.start, r.shift.end)
            tdim.CumulVar(routing.End(v_i)).SetRange(r.shift.start, r.shift.end)
            routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v_i)))
            routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v_i)))
        solver = routing.solver()
        self.index_of: dict[str, int] = {}
        for j in active:
            v = visits[j]
            index = manager.NodeToIndex(local[visit_node[j]])
            self.index_of[v.id] = index
            cumul = tdim.CumulVar(index)
            starts = [(w.start, w.end - v.duration) for w in v.windows
                      if w.end - v.duration >= w.start]
            cumul.SetRange(starts[0][0], starts[-1][1])
            for (_, a_end), (b_start, _) in zip(starts, starts[1:], strict=False):
                if b_start - a_end > 1:
                    cumul.RemoveInterval(a_end + 1, b_start - 1)
            routing.AddDisjunction([index], penalty(v))
            if len(eligible[j]) < k:
                routing.VehicleVar(index).SetValues([-1, *eligible[j]])
        visit_transits = [int(service[manager.IndexToNode(i)]) for i in range(routing.Size())]
        for v_i, r in enumerate(reps):
            intervals = [solver.FixedDurationIntervalVar(b.earliest, b.latest, b.duration, False,
                                                         f"break {r.id} {bi}")
                         for bi, b in enumerate(r.breaks)]
            if intervals:
                tdim.SetBreakIntervalsOfVehicle(intervals, v_i, visit_transits)
        self._lock_positions(visits, active, visit_node)
        if any(r.max_visits is not None for r in reps):
            ones = [1 if i >= 2 * k else 0 for i in range(size)]
            count_cb = routing.RegisterUnaryTransitVector(ones)
            caps = [r.max_visits if r.max_visits is not None else size for r in reps]
            routing.AddDimensionWithVehicleCapacity(count_cb, 0, caps, True, "Visits")
        self._search: Any = None
        self.service = service

    def _lock_positions(self, visits: Sequence[Visit], active: Sequence[int],
                        visit_node: Sequence[int]) -> None:
        """Locked stops keep their place: a "Rank" dimension counts the stops along each
        route (the start is 0, the first stop 1), and a locked visit's rank is fixed to its
        position. Its rep is fixed by the pin (``eligible_reps``); a locked route also
        ends right after its last locked stop. Added only when a planner locked something,
        so unlocked days keep the plain model."""
        locked = [j for j in active if visits[j].position is not None]
        reps = self.problem.reps
        if not locked and not any(r.route_locked for r in reps):
            return
        routing, manager = self.routing, self.manager
        ones = routing.RegisterUnaryTransitVector([1] * manager.GetNumberOfNodes())
        size = manager.GetNumberOfNodes()
        routing.AddDimension(ones, 0, size + 1, True, "Rank")
        rank = routing.GetDimensionOrDie("Rank")
        for j in locked:
            index = manager.NodeToIndex(self.local[visit_node[j]])
            rank.CumulVar(index).SetValue(int(visits[j].position or 0))
        for v_i, r in enumerate(reps):
            if r.route_locked:
                held = sum(1 for v in visits if v.pinned_rep == r.id and v.position is not None)
                rank.CumulVar(routing.End(v_i)).SetMax(held + 1)

    def _pool(self, size: int, travel: np.ndarray, start_node: list[int],
              end_node: list[int], visit_node: list[int]) -> list[int]:
        """The ``size`` most promising reachable visits: must-visits, then by the way from
        and back to the nearest eligible rep's home, shortened by importance (a priority-1
        visit is worth coming five times as far as a priority-5 one)."""
        visits = self.problem.visits

        def cost(j: int) -> float:
            v = visits[j]
            if v.must_visit or v.position is not None:
                return -1.0
            way = min(int(travel[start_node[i], visit_node[j]])
                      + int(travel[visit_node[j], end_node[i]]) for i in self.eligible[j])
            return way / (6 - v.priority)

        ranked = sorted(self.active, key=lambda j: (cost(j), j))
        return sorted(ranked[:size])

    def engine_day(self) -> EngineDay | None:
        """This day for PyVRP, or None when its model cannot express it.

        Not expressible: visits some reps may not take (pins, skills). Restricted so that
        its plans stay feasible here: one window per visit (the longest), breaks taken out
        of the end of the shift. Whatever it returns is checked by this model before use.
        """
        reps, visits = self.problem.reps, self.problem.visits
        k = len(reps)
        every = self.reachable
        if not every or self.problem.has_locks or any(len(self.eligible[j]) < k for j in every):
            return None
        windows = []
        for j in every:
            v = visits[j]
            lo, hi = max(((w.start, w.end - v.duration) for w in v.windows
                          if w.end - v.duration >= w.start), key=lambda x: x[1] - x[0])
            windows.append((int(lo), int(hi)))
        full = np.ix_(self.full_nodes, self.full_nodes)
        durations = tuple(np.ascontiguousarray(self.mats[s].travel_s[full], dtype=np.int64)
                          for s in self.speeds)
        n = len(every)
        optional = not all(visits[j].must_visit for j in every)
        where = [self.locations[node] for node in self.full_nodes]
        return EngineDay(
            distance=np.ascontiguousarray(self.mats[self.speeds[0]].distance_m[full],
                                          dtype=np.int64),
            durations=durations,
            xy=planar([p.lat for p in where], [p.lon for p in where]),
            starts=tuple(range(k)), ends=tuple(range(k, 2 * k)),
            shifts=tuple((r.shift.start, r.shift.end - sum(b.duration for b in r.breaks))
                         for r in reps),
            profiles=tuple(self.speeds.index(r.speed_kmh) for r in reps),
            capacities=tuple(r.max_visits if r.max_visits is not None else n for r in reps),
            service=tuple(visits[j].duration for j in every), windows=tuple(windows),
            prizes=tuple(0 if visits[j].must_visit else penalty(visits[j]) for j in every),
            required=tuple(visits[j].must_visit for j in every),
            perturbations=perturbations(n, optional), history=history(n, optional))

    def engine_ids(self, positions: Sequence[Sequence[int]]) -> list[list[str]]:
        """An engine's routes (positions among the reachable visits) as visit ids."""
        visits = self.problem.visits
        return [[visits[self.reachable[p]].id for p in route] for route in positions]

    def accept_routes(self, positions: Sequence[Sequence[int]]) -> Any | None:
        """An engine's routes (visit positions among the active visits) in this model.

        Rebuilt with ``ReadAssignmentFromRoutes`` so that every constraint — breaks
        included — is checked by OR-Tools' own propagation. A route that does not pass is
        shortened from its end until it does (an emptied route is always feasible).
        """
        return self.accept_orders(self.engine_ids(positions))

    def accept_orders(self, routes: Sequence[Sequence[str]]) -> Any | None:
        """Visit orders (ids, one list per rep) in this model, shortened until they pass;
        None when they name a visit this model does not plan."""
        if any(v not in self.index_of for route in routes for v in route):
            return None
        whole = self.from_routes(routes)
        if whole is not None:
            return whole
        fixed: list[list[str]] = [[] for _ in routes]

        def passes(v_i: int, route: Sequence[str]) -> bool:
            trial = [list(r) if i != v_i else list(route) for i, r in enumerate(fixed)]
            return self.from_routes(trial) is not None

        for v_i, route in enumerate(routes):
            if passes(v_i, route):
                fixed[v_i] = list(route)
                continue
            # Usually one visit breaks it (the lunch break pushes a later visit past its
            # window): leave out that one rather than the route's whole tail.
            one = next((cut for cut in range(len(route) - 1, -1, -1)
                        if passes(v_i, [*route[:cut], *route[cut + 1:]])), None)
            if one is not None:
                fixed[v_i] = [*route[:one], *route[one + 1:]]
                continue
            for cut in range(len(route) - 1, -1, -1):
                if passes(v_i, route[:cut]):
                    fixed[v_i] = list(route[:cut])
                    break
        return self.from_routes(fixed)


    def close(self, time_limit: float, params: SolveParams) -> None:
        """Fix the search settings; must happen before routes are read or a search runs."""
        if self._search is None:
            self._search = search_parameters(time_limit, params)
            self.routing.CloseModelWithParameters(self._search)

    def from_routes(self, routes: Sequence[Sequence[str]]) -> Any | None:
        """The assignment for these visit orders (one list per rep), or None if infeasible.

        Times, waits and breaks are set by OR-Tools' own propagation, so a restored order is
        judged by exactly the rules the search uses.
        """
        indices = [[self.index_of[v] for v in route] for route in routes]
        if any(len(set(r)) != len(r) for r in indices):
            return None
        return self.routing.ReadAssignmentFromRoutes(indices, True)

    def search(self, initial: Any | None = None) -> Any | None:
        """Run the search (from ``initial`` when given) within the time limit set by close()."""
        if initial is not None:
            return self.routing.SolveFromAssignmentWithParameters(initial, self._search)
        return self.routing.SolveWithParameters(self._search)

    def orders(self, solution: Any) -> list[list[str]]:
        """Visit ids per rep, in route order."""
        out = []
        visits = self.problem.visits
        k = len(self.problem.reps)
        for v_i in range(k):
            route = []
            index = solution.Value(self.routing.NextVar(self.routing.Start(v_i)))
            while not self.routing.IsEnd(index):
                route.append(visits[self.active[self.manager.IndexToNode(index) - 2 * k]].id)
                index = solution.Value(self.routing.NextVar(index))
            out.append(route)
        return out

    def plan(self, solution: Any | None, notes: Sequence[str] = ()) -> Plan:
        """Read the assignment back into plain routes and reasons."""
        reps, visits = self.problem.reps, self.problem.visits
        k = len(reps)
        routing, manager, tdim, dist = self.routing, self.manager, self.tdim, self.dist
        unassigned = list(self.unassigned)
        all_notes = list(self.warnings) + list(notes)
        if solution is None:  # cannot happen with disjunctions, but never return nothing
            all_notes.append("the solver found no solution in time; every visit is unassigned")
            for j in self.reachable:
                unassigned.append(Unassigned(visits[j].id, Reason.SHIFT_TOO_SHORT,
                                             REASON_TEXT[Reason.SHIFT_TOO_SHORT]))
            empty = tuple(RepRoute(r.id, (), r.shift.start, r.shift.start, 0, 0, 0, 0)
                          for r in reps)
            return Plan(empty, tuple(sort_unassigned(unassigned, visits)), 0,
                        time.perf_counter() - self.started, tuple(all_notes))
        routes = []
        counts = []
        for v_i, r in enumerate(reps):
            travel = self.mats[r.speed_kmh].travel_s[self.sub]
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
                j = self.active[node - 2 * k]
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
            end = (max(solution.Value(tdim.CumulVar(index)), depart + back_t) if stops
                   else day_start)
            counts.append(len(stops))
            routes.append(RepRoute(r.id, tuple(stops), day_start, end, total_d + back_d,
                                   total_t + back_t, total_s, total_w, back_d, back_t))
        # The most important visit each rep serves (0: a must-visit, else the priority).
        by_id = {v.id: v for v in visits}
        top = [min((rank(by_id[s.visit_id]) for s in route.stops), default=9)
               for route in routes]
        planned = set(self.active)
        for j in self.reachable:
            if j in planned:
                index = self.index_of[visits[j].id]
                if solution.Value(routing.NextVar(index)) != index:
                    continue
            # Left out by the search, or not among the candidates planned (pooling).
            reason = left_out_reason(visits[j], [reps[i] for i in self.eligible[j]],
                                     [counts[i] for i in self.eligible[j]],
                                     [top[i] for i in self.eligible[j]])
            unassigned.append(Unassigned(visits[j].id, reason, REASON_TEXT[reason]))
        return Plan(tuple(routes), tuple(sort_unassigned(unassigned, visits)),
                    int(solution.ObjectiveValue()), time.perf_counter() - self.started,
                    tuple(all_notes))


def sort_unassigned(unassigned: list[Unassigned], visits: Sequence[Visit]) -> list[Unassigned]:
    order = {v.id: i for i, v in enumerate(visits)}
    return sorted(unassigned, key=lambda u: order[u.visit_id])



def solve_direct(problem: Problem, *, time_limit: float, params: SolveParams,
                 provider: TravelProvider, initial: Sequence[Sequence[str]] | None = None,
                 notes: Sequence[str] = ()) -> Plan:
    """One OR-Tools model for the whole problem, optionally started from given visit orders.

    Orders in ``initial`` that are no longer feasible are ignored (the search starts from
    scratch), so a stale hint never costs a plan.
    """
    started = time.perf_counter()
    pool = pool_size(problem, params) if initial is None and params.iterated else None
    model = DayModel(problem, provider, pool=pool)
    if model.pooled_out:
        return _solve_pooled(model, time_limit, params, started, notes)
    model.close(time_limit, params)
    start = None
    if initial is not None:
        known = [[v for v in route if v in model.index_of] for route in initial]
        start = model.from_routes(known)
    if start is not None or not model.active:
        return model.plan(model.search(start), notes)
    if not params.iterated:
        if not params.also_try:
            return model.plan(model.search(None), notes)
        return model.plan(multi_start(model.routing, time_limit, params, started), notes)
    found, helped = portfolio(model.routing, time_limit, params, started, len(model.active),
                              model.engine_day, model.accept_routes)
    extra = list(notes)
    if helped:
        extra.append("PyVRP's plan, checked and finalised by OR-Tools' model, was the better "
                     "and is used")
    return model.plan(found, extra)


def pool_size(problem: Problem, params: SolveParams) -> int | None:
    """How many candidates OR-Tools plans on an oversubscribed day (None: all).

    ``params.pool`` times what the team can visit (each rep's maximum, or working time
    over a typical visit plus five minutes' driving), at least ``params.pool_min``.
    """
    if not params.pool or not problem.visits:
        return None
    typical = float(np.median([v.duration for v in problem.visits])) + 300
    capacity = 0.0
    for r in problem.reps:
        work = r.shift.end - r.shift.start - sum(b.duration for b in r.breaks)
        fit = work / typical
        capacity += fit if r.max_visits is None else min(fit, r.max_visits)
    size = max(params.pool_min, int(params.pool * capacity))
    return size if size < len(problem.visits) else None


def _solve_pooled(model: DayModel, time_limit: float, params: SolveParams, started: float,
                  notes: Sequence[str]) -> Plan:
    """An oversubscribed day: OR-Tools' ILS on the candidate pool, PyVRP on every candidate.

    Both plans are then read into one final model (the pool plus whatever PyVRP chose)
    with every constraint, PyVRP's descended there, and the better one is returned.
    """
    reserve = min(1.0, 0.1 * time_limit)  # final model, checks and a descent
    day = (model.engine_day() if pyvrp_installed() and params.uses_engine(time_limit)
           and time_limit >= params.helper_min_seconds else None)
    deadline = time.time() + time_limit - (time.perf_counter() - started) - reserve
    helper = None
    if day is not None and params.workers > 1:
        try:
            helper = Helper(day, deadline)
        except OSError:
            helper = None
    model.close(time_limit, params)
    # This process always runs OR-Tools' ILS on the pool here, whatever ``main_engine``
    # says: on 2,000 candidates for one rep it planned 28 stops, all priority 1, where
    # PyVRP on every candidate planned 27 (priorities summing 133 of 140) in 10 s.
    candidates: list[tuple[list[list[str]], bool]] = []
    remaining = max(0.05, time_limit - (time.perf_counter() - started) - reserve)
    found = ils_search(model.routing, remaining, params, len(model.active))
    if found is None:
        found = multi_start(model.routing, remaining, params, time.perf_counter())
    if found is not None:
        candidates.append((model.orders(found), False))
    answered = False
    if helper is not None:
        routes = helper.result()
        if routes is not None:
            answered = True
            candidates.append((model.engine_ids(routes), True))
    visits = model.problem.visits
    keep = {visits[j].id for j in model.active} | {v for orders, _ in candidates
                                                   for route in orders for v in route}
    final = DayModel(model.problem, FixedMatrices(model.locations, model.mats), only=keep)
    final.close(time_limit, params)
    best, helped = None, False
    for orders, engine in candidates:
        found = final.accept_orders(orders)
        if found is not None and engine:
            left = max(0.05, (time_limit - (time.perf_counter() - started)) / 2)
            found = final.routing.SolveFromAssignmentWithParameters(
                found, search_parameters(left, SolveParams(metaheuristic="GREEDY_DESCENT")))
        if found is not None and (best is None or found.ObjectiveValue() < best.ObjectiveValue()):
            best, helped = found, engine
    if best is None:  # nothing passed: a plain descent on the final model
        left = max(0.5, time_limit - (time.perf_counter() - started))
        best = final.routing.SolveWithParameters(
            search_parameters(left, SolveParams(metaheuristic="GREEDY_DESCENT")))
    extra = list(notes) + [
        f"{len(model.reachable)} candidates, far more than the day holds: OR-Tools planned "
        f"the {len(model.active)} most promising (nearest the reps' homes, most important "
        f"first)"
        + ("; PyVRP planned from all of them" if answered else "")]
    if helped:
        extra.append("PyVRP's plan, checked and finalised by OR-Tools' model, was the better "
                     "and is used")
    return final.plan(best, extra)


def portfolio(routing: Any, time_limit: float, params: SolveParams, started: float,
              visits: int, engine_day: Callable[[], EngineDay | None],
              accept: Callable[[list[list[int]]], Any | None]) -> tuple[Any | None, bool]:
    """OR-Tools' ILS here and, when allowed, PyVRP on the second core; the better plan.

    ``engine_day`` describes the problem for PyVRP (None: it cannot express it);
    ``accept`` rebuilds PyVRP's routes in the OR-Tools model (None: rejected). An accepted
    plan is descended by OR-Tools before the objectives are compared, so whichever wins
    is an OR-Tools assignment. Returns (assignment, whether PyVRP's plan won).

    With ``main_engine='pyvrp'`` the two cores are used in two phases: both run PyVRP
    (two seeds) until ``finish_share`` of the time is left; then this process reads its
    plan into OR-Tools' model and lets OR-Tools finish it (a descent, then guided local
    search on what time remains) while the helper goes on nearly to the limit. OR-Tools'
    model is richer than PyVRP's (every opening window, the break placed in waiting time),
    so its finishing phase inserts visits PyVRP's restricted day could not hold and
    shortens the driving (measured on the field day: 3-6 % less travel than PyVRP's own
    plan at the same visits, where a 0.1 s descent had left it ~3 % longer).
    """
    reserve = min(0.25, 0.025 * time_limit)  # to check and finalise the helper's plans
    helper = None
    day = engine_day() if pyvrp_installed() and params.uses_engine(time_limit) else None
    deadline = time.time() + time_limit - (time.perf_counter() - started) - reserve
    if day is not None and params.uses_helper(time_limit):
        try:
            helper = Helper(day, deadline)
        except OSError:  # no process could be started (limits): carry on alone
            helper = None

    def finish(found: Any, seconds: float, metaheuristic: str) -> Any:
        """OR-Tools' search from ``found`` for ``seconds``; never worse than ``found``."""
        search = search_parameters(max(0.05, seconds), SolveParams(metaheuristic=metaheuristic))
        out = routing.SolveFromAssignmentWithParameters(found, search)
        return better(found, out)

    found = None
    helped = False
    if day is not None and params.main_engine == "pyvrp":
        own_end = deadline - (params.finish_share * time_limit if helper is not None else 0.0)
        # Alone, the reserve is this plan's too: no helper's plan waits to be finalised.
        until = deadline if helper is not None else (
            time.time() + time_limit - (time.perf_counter() - started))
        mine = solve_engine_day(day, own_end - time.time(), seed=1)
        found = accept(mine)
        if found is not None:
            helped = True
            found = finish(found, until - time.time(), "GREEDY_DESCENT")
            if time.time() < until - 0.05:
                found = finish(found, until - time.time(), params.metaheuristic)
    else:
        remaining = time_limit - (time.perf_counter() - started) - (reserve if day else 0)
        found = ils_search(routing, max(0.05, remaining), params, visits)
        if found is None:
            found = multi_start(routing, max(0.05, remaining), params, time.perf_counter())
    routes = helper.result() if helper is not None else None
    theirs = accept(routes) if routes is not None else None
    if theirs is not None:
        left = time_limit - (time.perf_counter() - started)
        theirs = finish(theirs, left, "GREEDY_DESCENT")
        if found is None or theirs.ObjectiveValue() < found.ObjectiveValue():
            found, helped = theirs, True
    if found is None:  # PyVRP's plans were rejected and no search ran: search now
        left = max(0.05, time_limit - (time.perf_counter() - started))
        found = ils_search(routing, left, params, visits)
    return found, helped


def multi_start(routing: Any, time_limit: float, params: SolveParams, started: float) -> Any:
    """Several first solutions, each descended to a local optimum; search on from the best."""
    best = None
    strategies = list(dict.fromkeys((params.first_solution, *params.also_try)))
    for strategy in strategies:
        descent = replace(params, first_solution=strategy, metaheuristic="GREEDY_DESCENT")
        found = routing.SolveWithParameters(
            search_parameters(time_limit * params.start_share, descent))
        if found is not None and (best is None or found.ObjectiveValue() < best.ObjectiveValue()):
            best = found
    remaining = time_limit - (time.perf_counter() - started)
    if best is None:
        return routing.SolveWithParameters(search_parameters(max(0.01, remaining), params))
    if params.metaheuristic == "GREEDY_DESCENT" or remaining <= 0.01:
        return best
    improved = routing.SolveFromAssignmentWithParameters(
        best, search_parameters(remaining, params))
    if improved is None or improved.ObjectiveValue() > best.ObjectiveValue():
        return best
    return improved


