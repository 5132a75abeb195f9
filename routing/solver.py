"""Entry points that plan: ``solve`` (a day, split by territory when large) and
``solve_vrptw`` (the Solomon setting, for benchmarks).

The OR-Tools model itself lives in :mod:`routing.daymodel`; large days go through
:mod:`routing.decompose`. Imports point one way: solver → decompose → daymodel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp

from routing import checks
from routing.daymodel import (
    MUST_PENALTY,
    PRIORITY_BASE,
    SolveParams,
    multi_start,
    portfolio,
    search_parameters,
    solve_direct,
)
from routing.decompose import solve_decomposed, transport
from routing.errors import ModelError
from routing.matrix import GreatCircle, TravelProvider
from routing.model import Plan, Problem
from routing.search import EngineDay, warm_helper

__all__ = ["MUST_PENALTY", "PRIORITY_BASE", "SolveParams", "VrptwResult", "solve",
           "solve_direct", "solve_vrptw", "transport"]


def solve(
    problem: Problem,
    *,
    time_limit: float = 5.0,
    seed: int = 0,
    params: SolveParams | None = None,
    provider: TravelProvider | None = None,
) -> Plan:
    """Plan the day: a route per rep and every left-out visit with its reason.

    Large team problems (more than ``params.decompose_above`` visits and several reps) are
    split by territory: visits go to reps by home proximity and capacity, neighbouring reps
    are solved together in sub-problems, then one repair pass offers left-out visits to
    neighbouring reps. The plan's notes say when that happened.

    ``seed`` is accepted for API stability; OR-Tools' routing search is deterministic for a
    given model, so a ``solution_limit`` in ``params`` makes results fully reproducible.
    """
    del seed
    if not isinstance(problem, Problem):
        raise ModelError("solve", "problem", f"expected a Problem, got {type(problem).__name__}")
    time_limit = checks.time_limit(time_limit)
    params = params or SolveParams()
    if params.uses_helper(time_limit):
        warm_helper()  # PyVRP's helper imports while the model is built
    provider = provider or GreatCircle(problem.circuity)
    if len(problem.visits) > params.decompose_above and len(problem.reps) > 1:
        return solve_decomposed(problem, time_limit=time_limit, params=params,
                                provider=provider)
    return solve_direct(problem, time_limit=time_limit, params=params, provider=provider)


def _check_vrptw(coords: object, demand: object, capacity: object, windows: object,
                 service: object, vehicles: object, time_limit: object, scale: object
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every solve_vrptw input checked before OR-Tools sees it (it aborts on some)."""
    where = "solve_vrptw"
    xy = checks.array(where, "coords", coords, shape=(None, 2))
    n = len(xy)
    if n < 1:
        raise ModelError(where, "coords", "needs the depot (row 0)")
    dem = checks.array(where, "demand", demand, shape=(n,), minimum=0)
    tw = checks.array(where, "windows", windows, shape=(n, 2), minimum=0)
    bad = np.flatnonzero(tw[:, 0] > tw[:, 1])
    if len(bad):
        raise ModelError(where, "windows", f"row {int(bad[0])} closes before it opens")
    svc = checks.array(where, "service", service, shape=(n,), minimum=0)
    checks.number(where, "capacity", capacity, positive=True)
    if checks.number(where, "vehicles", vehicles, minimum=1) != int(vehicles):  # type: ignore[call-overload]
        raise ModelError(where, "vehicles", f"{vehicles!r} is not a whole number")
    checks.time_limit(time_limit)
    checks.number(where, "scale", scale, positive=True)
    return xy, dem, tw, svc


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
    coords, demand, windows, service = _check_vrptw(coords, demand, capacity, windows, service,
                                                    vehicles, time_limit, scale)
    if params.uses_helper(time_limit):
        warm_helper()
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
    search = search_parameters(time_limit, params)
    routing.CloseModelWithParameters(search)

    def engine_day() -> EngineDay:
        tw = np.rint(windows * scale).astype(np.int64)
        return EngineDay(
            distance=d, durations=(d,), xy=coords, starts=(0,) * vehicles, ends=(0,) * vehicles,
            shifts=((int(tw[0, 0]), horizon),) * vehicles, profiles=(0,) * vehicles,
            capacities=(int(capacity),) * vehicles,
            service=tuple(int(x) for x in np.rint(service[1:] * scale)),
            windows=tuple((int(a), int(b)) for a, b in tw[1:]), prizes=(0,) * (n - 1),
            required=(True,) * (n - 1), demand=tuple(int(x) for x in demand[1:]))

    def accept(routes: list[list[int]]) -> Any | None:
        indices = [[manager.NodeToIndex(c + 1) for c in r] for r in routes]
        return routing.ReadAssignmentFromRoutes(indices, True)

    if params.iterated:
        solution, _ = portfolio(routing, time_limit, params, started, n - 1, engine_day, accept)
    elif params.also_try:
        solution = multi_start(routing, time_limit, params, started)
    else:
        solution = routing.SolveWithParameters(search)
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
