"""A large team day: 1,000 visits for 40 reps, planned within a time limit.

    python benchmarks/routing_scale.py [--visits 1000] [--reps 40] [--time-limit 30] [--quick]

Synthetic but field-like: reps live spread over a 40 × 30 km city, visits come in
neighbourhood clusters, 15 minutes each, a third with opening hours closed for lunch, shift
08:00–17:00 with a 30-minute lunch, at most 30 visits a rep. Prints CSV
``visits,reps,time_limit_s,seconds,served,unassigned,distance_km,decomposed`` and the plan's
notes on stderr. ``--quick`` plans 200 visits for 10 reps; ``--no-decompose`` solves one
model for the whole team, for comparison. ``--weekly`` plans two weeks of cadence visits
(weekly, fortnightly, monthly, twice a month) for the same kind of team with ``plan_week``.
Seeded: the same instance every run.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing import (  # noqa: E402
    Account,
    Break,
    Cadence,
    Location,
    Problem,
    Rep,
    RepWeek,
    SolveParams,
    TimeWindow,
    Visit,
    WeekProblem,
    plan_week,
    solve,
)

H = 3600


def instance(visits: int, reps: int, seed: int = 7) -> Problem:
    """A seeded city day: clustered visits, reps spread over the area."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = 60.17, 24.94
    km_lat, km_lon = 1 / 111.2, 1 / (111.2 * np.cos(np.radians(lat0)))

    def point(x_km: float, y_km: float) -> Location:
        return Location(float(lat0 + y_km * km_lat), float(lon0 + x_km * km_lon))

    centres = rng.uniform([-20, -15], [20, 15], size=(max(4, visits // 25), 2))
    team = []
    for i in range(reps):
        x, y = rng.uniform([-18, -13], [18, 13])
        team.append(Rep(f"rep{i:02d}", point(x, y), TimeWindow(8 * H, 17 * H),
                        breaks=(Break(11 * H + 1800, 13 * H, 1800),), max_visits=30,
                        speed_kmh=30.0))
    items = []
    for j in range(visits):
        cx, cy = centres[rng.integers(len(centres))]
        x, y = rng.normal([cx, cy], 1.5)
        windows: tuple[TimeWindow, ...] = (TimeWindow(0, 24 * H),)
        if rng.random() < 0.33:
            windows = (TimeWindow(9 * H, 12 * H), TimeWindow(13 * H, 17 * H))
        items.append(Visit(f"v{j:04d}", point(float(x), float(y)), 900, windows,
                           priority=int(rng.integers(1, 6))))
    return Problem(tuple(team), tuple(items))


def week_instance(accounts: int, reps: int, seed: int = 11) -> WeekProblem:
    """Two weeks of cadence visits: a mix of weekly, fortnightly, monthly and twice a month."""
    day = instance(accounts, reps, seed)
    rng = np.random.default_rng(seed)
    start = date(2025, 3, 3)
    cadences = [Cadence.weekly(), Cadence.fortnightly(), Cadence.monthly(), Cadence.per_month(2)]
    team = tuple(RepWeek(r, days_off=frozenset({start + timedelta(days=int(rng.integers(0, 12)))}))
                 for r in day.reps)
    mix = [.15, .3, .4, .15]
    items = tuple(Account(v.id, v.location, 1800, cadences[int(rng.choice(4, p=mix))],
                          last_visit=start - timedelta(days=int(rng.integers(1, 30))),
                          priority=v.priority) for v in day.visits)
    return WeekProblem(team, items, start, start + timedelta(days=11),
                       holidays=frozenset({start + timedelta(days=4)}))


def run_week(args: argparse.Namespace) -> int:
    problem = week_instance(args.visits, args.reps)
    started = time.perf_counter()
    plan = plan_week(problem, time_limit_per_day=args.time_limit)
    took = time.perf_counter() - started
    out = csv.writer(sys.stdout)
    out.writerow(["accounts", "reps", "days", "time_limit_per_day_s", "seconds", "placed",
                  "unplaced", "distance_km", "day_minutes_min", "day_minutes_max"])
    busy = [v for v in plan.loads.values() if v]
    out.writerow([args.visits, args.reps, len(problem.days), args.time_limit, f"{took:.2f}",
                  len(plan.placements), len(plan.unplaced),
                  f"{sum(r.distance_m for d in plan.days for r in d.plan.routes) / 1000:.1f}",
                  min(busy, default=0) // 60, max(busy, default=0) // 60])
    reasons: dict[str, int] = {}
    for u in plan.unplaced:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    print(f"notes: {plan.notes[0]}", file=sys.stderr)
    print(f"unplaced by reason: {reasons}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="200 visits, 10 reps, 10 s")
    parser.add_argument("--no-decompose", action="store_true",
                        help="one OR-Tools model for the whole team (for comparison)")
    parser.add_argument("--weekly", action="store_true",
                        help="plan_week over two weeks instead (--visits counts accounts, "
                        "--time-limit is per day)")
    args = parser.parse_args()
    if args.weekly:
        if args.quick:
            args.visits, args.reps = 200, 10
        if args.time_limit == 30.0:
            args.time_limit = 2.0
        return run_week(args)
    if args.quick:
        args.visits, args.reps, args.time_limit = 200, 10, 10.0
    problem = instance(args.visits, args.reps)
    started = time.perf_counter()
    params = SolveParams(decompose_above=10**9) if args.no_decompose else SolveParams()
    plan = solve(problem, time_limit=args.time_limit, params=params)
    took = time.perf_counter() - started
    out = csv.writer(sys.stdout)
    out.writerow(["visits", "reps", "time_limit_s", "seconds", "served", "unassigned",
                  "distance_km", "decomposed"])
    decomposed = any("split by territory" in n for n in plan.notes)
    out.writerow([args.visits, args.reps, args.time_limit, f"{took:.2f}", len(plan.served),
                  len(plan.unassigned), f"{sum(r.distance_m for r in plan.routes) / 1000:.1f}",
                  int(decomposed)])
    reasons: dict[str, int] = {}
    for u in plan.unassigned:
        reasons[u.reason.value] = reasons.get(u.reason.value, 0) + 1
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"unassigned by reason: {reasons}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
