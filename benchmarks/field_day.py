"""An oversubscribed real field day: GeoCRM's planner beside PyVRP on the same matrices.

    python benchmarks/field_day.py [--sites 152] [--reps 5] [--limits 1,2,5,10] [--workers 2]

The sites are the real SNAP-authorised stores nearest to downtown Pittsburgh
(``/work/shared/data/geo/pittsburgh_snap_stores``; skipped cleanly when absent). The data
has no opening hours, so they follow the store's kind: chains and pharmacies 08:00–21:00,
fuel stations all day, other stores (seeded) 10:00–18:00, 09:00–12:00 + 13:00–17:00 (closed
for lunch) or 11:00–19:00. Five reps (homes seeded around the centre), 08:30–16:30 with a
30-minute lunch starting 11:30–13:00, visits of 20–30 minutes, more work than fits.

PyVRP gets the comparable day its model can express, as the issue prescribes: no break
object, the shift shortened by the break's length, one window per visit (the longest), the
same great-circle × 1.3 matrices and the same prizes. Prints CSV
``solver,time_limit_s,served,travel_km,seconds,load_1min`` per limit, GeoCRM first, then
the curve of the best plan against seconds beside PyVRP's (met when GeoCRM serves more
visits >= and travel <= PyVRP's). ``--workers 1`` keeps GeoCRM to one process; ``--main-engine
pyvrp`` runs a second PyVRP seed in GeoCRM's own process instead of OR-Tools' ILS (both
checked by OR-Tools' model).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing import (  # noqa: E402
    Break,
    GreatCircle,
    Location,
    Problem,
    Rep,
    SolveParams,
    TimeWindow,
    Visit,
    solve,
)
from routing.daymodel import penalty  # noqa: E402

H = 3600
DATA = Path("/work/shared/data/geo/pittsburgh_snap_stores/SNAP_Store_Locations.csv")
CENTRE = (40.4406, -79.9959)
CHAINS = ("family dollar", "dollar general", "rite aid", "cvs", "walgreens", "giant eagle",
          "aldi", "save a lot", "shop n save", "target", "walmart", "kmart")
FUEL = ("sunoco", "getgo", "sheetz", "7-eleven", "speedway", "bp", "exxon", "citgo", "gulf",
        "marathon", "shell")


def sites(n: int) -> list[tuple[str, float, float]]:
    """The ``n`` stores nearest to the centre: (name, lat, lon), deduplicated by position."""
    rows = []
    seen = set()
    with DATA.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            lat, lon = float(row["Latitude"]), float(row["Longitude"])
            if (lat, lon) in seen:
                continue
            seen.add((lat, lon))
            rows.append((row["Store_Name"].strip(), lat, lon))
    rows.sort(key=lambda r: (r[1] - CENTRE[0]) ** 2 + ((r[2] - CENTRE[1]) * 0.76) ** 2)
    return rows[:n]


def hours(name: str, rng: np.random.Generator) -> tuple[TimeWindow, ...]:
    low = name.lower()
    if any(c in low for c in FUEL):
        return (TimeWindow(0, 24 * H),)
    if any(c in low for c in CHAINS):
        return (TimeWindow(8 * H, 21 * H),)
    pick = rng.integers(3)
    if pick == 0:
        return (TimeWindow(10 * H, 18 * H),)
    if pick == 1:
        return (TimeWindow(9 * H, 12 * H), TimeWindow(13 * H, 17 * H))
    return (TimeWindow(11 * H, 19 * H),)


def day(n_sites: int, n_reps: int, seed: int = 5) -> Problem:
    """The seeded field day (see the module docstring)."""
    rng = np.random.default_rng(seed)
    visits = tuple(Visit(f"s{j:03d}", Location(lat, lon), int(rng.choice([1200, 1500, 1800])),
                         hours(name, rng))
                   for j, (name, lat, lon) in enumerate(sites(n_sites)))
    reps = []
    for i in range(n_reps):
        dy, dx = rng.uniform(-0.03, 0.03, size=2)
        reps.append(Rep(f"rep{i}", Location(CENTRE[0] + dy, CENTRE[1] + dx / 0.76),
                        TimeWindow(8 * H + 1800, 16 * H + 1800),
                        breaks=(Break(11 * H + 1800, 13 * H, 1800),)))
    return Problem(tuple(reps), visits)


def run_pyvrp(problem: Problem, limit: float) -> tuple[int, float]:
    """PyVRP on the comparable day: (served, travel km)."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    reps, visits = problem.reps, problem.visits
    k = len(reps)
    locs = [r.start for r in reps] + [r.home_end for r in reps] + [v.location for v in visits]
    m = GreatCircle(problem.circuity).matrices(locs, reps[0].speed_kmh)
    pts = [pyvrp.Location(x=(p.lon - CENTRE[1]) * 84_000, y=(p.lat - CENTRE[0]) * 111_000)
           for p in locs]
    depots = [pyvrp.Depot(location=i) for i in range(2 * k)]
    clients = []
    for j, v in enumerate(visits):
        lo, hi = max(((w.start, w.end - v.duration) for w in v.windows),
                     key=lambda x: x[1] - x[0])
        clients.append(pyvrp.Client(location=2 * k + j, delivery=[1],
                                    service_duration=v.duration, tw_early=lo, tw_late=hi,
                                    prize=penalty(v), required=False))
    types = [pyvrp.VehicleType(num_available=1, capacity=[len(visits)], start_depot=i,
                               end_depot=k + i, tw_early=r.shift.start,
                               tw_late=r.shift.end - sum(b.duration for b in r.breaks))
             for i, r in enumerate(reps)]
    data = pyvrp.ProblemData(pts, clients, depots, types, [m.distance_m], [m.travel_s])
    best = pyvrp.solve(data, stop=MaxRuntime(limit), seed=0, display=False).best
    served = sum(r.num_clients() for r in best.routes())
    return served, best.distance() / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=152)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--limits", default="1,2,5,10")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--main-engine", default="pyvrp", choices=("ortools", "pyvrp"))
    parser.add_argument("--no-pyvrp", action="store_true")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each limit this many times (results vary with the load)")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"no data at {DATA}", file=sys.stderr)
        return 2
    problem = day(args.sites, args.reps)
    params = SolveParams(workers=args.workers, main_engine=args.main_engine)
    out = csv.writer(sys.stdout)
    out.writerow(["solver", "time_limit_s", "served", "travel_km", "seconds", "load_1min"])
    curve: list[tuple[float, int, float, int | None, float | None]] = []
    limits = [float(x) for x in args.limits.split(",")]
    for limit in [x for x in limits for _ in range(max(1, args.repeats))]:
        started = time.perf_counter()
        plan = solve(problem, time_limit=limit, params=params)
        took = time.perf_counter() - started
        km = sum(r.distance_m for r in plan.routes) / 1000
        out.writerow([f"geocrm-w{args.workers}-{args.main_engine}", limit, len(plan.served),
                      f"{km:.2f}", f"{took:.2f}", f"{os.getloadavg()[0]:.2f}"])
        sys.stdout.flush()
        reasons = sorted({u.reason.value for u in plan.unassigned})
        print(f"  geocrm {limit}s: left out {len(plan.unassigned)} ({', '.join(reasons)}); "
              f"{'; '.join(n for n in plan.notes if 'PyVRP' in n)}", file=sys.stderr)
        theirs: tuple[int | None, float | None] = (None, None)
        if not args.no_pyvrp:
            started = time.perf_counter()
            served, their_km = run_pyvrp(replace(problem), limit)
            out.writerow(["pyvrp", limit, served, f"{their_km:.2f}",
                          f"{time.perf_counter() - started:.2f}", f"{os.getloadavg()[0]:.2f}"])
            sys.stdout.flush()
            theirs = (served, their_km)
        curve.append((limit, len(plan.served), km, *theirs))
    # The curve: GeoCRM's best plan against seconds, beside PyVRP's at the same limit.
    print("\ncurve (best plan vs seconds): limit | geocrm visits, km | pyvrp visits, km | "
          "visits >= and travel <=")
    for limit, served, km, p_served, p_km in curve:
        if p_served is None or p_km is None:
            print(f"  {limit:>5g} s | {served:3d}, {km:7.2f} |")
            continue
        ok = served >= p_served and km <= p_km
        print(f"  {limit:>5g} s | {served:3d}, {km:7.2f} | {p_served:3d}, {p_km:7.2f} | "
              f"{'yes' if ok else 'no'} (travel {km / p_km:.3f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
