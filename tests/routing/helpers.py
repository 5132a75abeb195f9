"""Shared builders for the routing tests: one home, one clock, one fast search."""

from __future__ import annotations

import math
from typing import Any

from routing import Location, Plan, Problem, Rep, SolveParams, TimeWindow, Visit, solve
from routing.matrix import EARTH_M

H = 3600
HOME = Location(60.1700, 24.9400)
# A plain descent: small test days reach their optimum, and the tests stay quick.
FAST = SolveParams(metaheuristic="GREEDY_DESCENT")


def fast(solution_limit: int | None = None) -> SolveParams:
    """FAST, optionally capped at ``solution_limit`` solutions (machine-speed independent)."""
    return SolveParams(metaheuristic="GREEDY_DESCENT", solution_limit=solution_limit)


def at(dlat: float, dlon: float = 0.0) -> Location:
    """A point offset from HOME by degrees."""
    return Location(HOME.lat + dlat, HOME.lon + dlon)


def gc_metres(a: Location, b: Location) -> float:
    """Great-circle metres, computed independently of the library's matrix code."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(h))


def rep(rep_id: str = "r1", **kw: Any) -> Rep:
    """A rep living at HOME, 08:00–17:00 unless told otherwise."""
    kw.setdefault("shift", TimeWindow(8 * H, 17 * H))
    return Rep(rep_id, HOME, **kw)


def visit(vid: str, dlat: float = 0.01, dlon: float = 0.0, **kw: Any) -> Visit:
    """A 30-minute visit near HOME unless told otherwise."""
    kw.setdefault("duration", 1800)
    return Visit(vid, at(dlat, dlon), **kw)


def run(reps: Any, visits: Any, **kw: Any) -> Plan:
    """Solve a day with FAST and a 1-second limit unless told otherwise."""
    return solve(Problem(tuple(reps), tuple(visits)), time_limit=kw.pop("time_limit", 1.0),
                 params=kw.pop("params", FAST), **kw)
