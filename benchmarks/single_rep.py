"""One rep, 2,000 candidate stops, a lunch break: how many stops fit in the time limit.

    python benchmarks/single_rep.py [--candidates 2000] [--time-limit 10] [--workers 1,2]

The day is ``routing_scale.instance(candidates, 1)`` (seeded clustered city, 15-minute
visits, a third closed 12–13, 08:00–17:00 with a 30-minute lunch starting 11:30–13:00, at
most 30 visits). Before pooling, OR-Tools planned 12 stops in 10 s here with the Break
object (28 without it). Prints CSV ``solver,time_limit_s,stops,priority_sum,km,seconds``;
PyVRP gets the comparable day (no break object, the shift shortened by the break, the
longest window per visit, the same matrices and prizes).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing_scale import instance  # noqa: E402

from routing import GreatCircle, SolveParams, solve  # noqa: E402
from routing.daymodel import penalty  # noqa: E402


def run_pyvrp(problem, limit: float) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    import numpy as np
    import pyvrp
    from pyvrp.stop import MaxRuntime

    (r,) = problem.reps
    locs = [r.start, r.home_end] + [v.location for v in problem.visits]
    m = GreatCircle(problem.circuity).matrices(locs, r.speed_kmh)
    lat0 = r.start.lat
    pts = [pyvrp.Location(x=(p.lon - r.start.lon) * 111_200 * np.cos(np.radians(lat0)),
                          y=(p.lat - lat0) * 111_200) for p in locs]
    clients = []
    for j, v in enumerate(problem.visits):
        lo, hi = max(((w.start, w.end - v.duration) for w in v.windows),
                     key=lambda x: x[1] - x[0])
        clients.append(pyvrp.Client(location=2 + j, delivery=[1], service_duration=v.duration,
                                    tw_early=lo, tw_late=hi, prize=penalty(v), required=False))
    vt = pyvrp.VehicleType(num_available=1, capacity=[r.max_visits or len(clients)],
                           start_depot=0, end_depot=1, tw_early=r.shift.start,
                           tw_late=r.shift.end - sum(b.duration for b in r.breaks))
    data = pyvrp.ProblemData(pts, clients, [pyvrp.Depot(location=0), pyvrp.Depot(location=1)],
                             [vt], [m.distance_m], [m.travel_s])
    best = pyvrp.solve(data, stop=MaxRuntime(limit), seed=0, display=False).best
    return sum(rt.num_clients() for rt in best.routes()), best.distance() / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--no-pyvrp", action="store_true")
    args = parser.parse_args()
    problem = instance(args.candidates, 1)
    prio = {v.id: v.priority for v in problem.visits}
    out = csv.writer(sys.stdout)
    out.writerow(["solver", "time_limit_s", "stops", "priority_sum", "km", "seconds"])
    for workers in [int(w) for w in args.workers.split(",")]:
        started = time.perf_counter()
        plan = solve(problem, time_limit=args.time_limit, params=SolveParams(workers=workers))
        took = time.perf_counter() - started
        out.writerow([f"geocrm-w{workers}", args.time_limit, len(plan.served),
                      sum(6 - prio[v] for v in plan.served),
                      f"{plan.routes[0].distance_m / 1000:.1f}", f"{took:.2f}"])
        sys.stdout.flush()
        print("  " + " | ".join(plan.notes), file=sys.stderr)
    if not args.no_pyvrp:
        started = time.perf_counter()
        stops, km = run_pyvrp(problem, args.time_limit)
        out.writerow(["pyvrp", args.time_limit, stops, "", f"{km:.1f}",
                      f"{time.perf_counter() - started:.2f}"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
