"""Solomon VRPTW benchmark: our OR-Tools planner beside PyVRP and VROOM, same time limit.

    python benchmarks/solomon.py [--dir DIR] [--instances C101,R101,...] [--time-limit SECONDS]

Prints CSV, one row per instance and solver:
``instance,solver,time_limit_s,distance,routes,served,seconds,ratio_to_pyvrp``. The
distance is the sum of Euclidean legs, unrounded, recomputed here from each solver's routes
(never taken from a solver's own objective); ``served`` counts customers visited. PyVRP
and VROOM are yardsticks only: the app never calls them. A summary goes to stderr.

    python benchmarks/solomon.py --scaling [--sizes 200x10,500x20,1000x40] [--time-limit 60]

prints the scaling table instead: synthetic field days (``benchmarks/routing_scale.py``'s
instance, made comparable: one window per visit, no lunch break, at most 30 visits a rep,
every visit optional with the same prize in both solvers, the same great-circle × 1.3
matrices): seconds to our first feasible plan, then our plan and PyVRP's at the time limit.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing import SolveParams, solve_vrptw  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/vrp/VRPTW/Solomon"
SCALE = 1000  # integer models use distances × 1000


def load(path: Path) -> dict[str, object]:
    import vrplib

    inst = vrplib.read_instance(str(path))
    n = int(inst["dimension"])
    service = np.full(n, float(inst["service_time"])) if np.isscalar(inst["service_time"]) \
        else np.asarray(inst["service_time"], float)
    service[0] = 0.0
    return {"coords": np.asarray(inst["node_coord"], float), "demand": np.asarray(inst["demand"]),
            "capacity": int(inst["capacity"]), "windows": np.asarray(inst["time_window"], float),
            "service": service, "vehicles": int(inst["vehicles"])}


def distance(coords: np.ndarray, routes: list[list[int]]) -> float:
    total = 0.0
    for route in routes:
        path = [0, *route, 0]
        for a, b in zip(path, path[1:], strict=False):
            total += float(np.hypot(*(coords[a] - coords[b])))
    return total


def run_geocrm(inst: dict[str, object], limit: float,
               params: SolveParams | None = None) -> list[list[int]]:
    result = solve_vrptw(inst["coords"], inst["demand"], inst["capacity"],  # type: ignore[arg-type]
                         inst["windows"], inst["service"], inst["vehicles"],  # type: ignore[arg-type]
                         time_limit=limit, scale=SCALE, params=params)
    return result.routes


def run_pyvrp(path: Path, limit: float) -> list[list[int]]:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    data = pyvrp.read(path, round_func="exact")
    result = pyvrp.solve(data, stop=MaxRuntime(limit), seed=0, display=False)
    # Iterating a route yields its activities; a client activity's idx counts clients only.
    return [[a.idx + data.num_depots for a in r if a.is_client()] for r in result.best.routes()]


def run_vroom(inst: dict[str, object], limit: float) -> list[list[int]]:
    import vroom

    coords: np.ndarray = inst["coords"]  # type: ignore[assignment]
    windows: np.ndarray = inst["windows"]  # type: ignore[assignment]
    service: np.ndarray = inst["service"]  # type: ignore[assignment]
    demand: np.ndarray = inst["demand"]  # type: ignore[assignment]
    diff = coords[:, None, :] - coords[None, :, :]
    matrix = np.rint(np.sqrt((diff**2).sum(-1)) * 100).astype(np.uint32)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=matrix)
    depot_tw = vroom.TimeWindow(int(windows[0][0] * 100), int(windows[0][1] * 100))
    for v in range(int(inst["vehicles"])):  # type: ignore[call-overload]
        problem.add_vehicle(vroom.Vehicle(v, start=0, end=0,
                                          capacity=[int(inst["capacity"])],  # type: ignore[call-overload]
                                          time_window=depot_tw))
    for j in range(1, len(coords)):
        problem.add_job(vroom.Job(j, location=j, default_service=int(service[j] * 100),
                                  delivery=[int(demand[j])],
                                  time_windows=[vroom.TimeWindow(int(windows[j][0] * 100),
                                                                 int(windows[j][1] * 100))]))
    solution = problem.solve(exploration_level=5, nb_threads=1,
                             timeout=timedelta(seconds=limit))
    routes: dict[int, list[int]] = {}
    for row in solution.routes.itertuples():
        if row.type == "job":
            routes.setdefault(int(row.vehicle_id), []).append(int(row.id))
    return list(routes.values())


def field_day(visits: int, reps: int) -> object:
    """The scaling instance, made comparable between our planner and PyVRP."""
    from dataclasses import replace

    from routing_scale import instance

    from routing import TimeWindow

    day = instance(visits, reps)
    team = tuple(replace(r, breaks=()) for r in day.reps)
    items = tuple(replace(v, windows=(TimeWindow(v.windows[0].start, v.windows[-1].end),))
                  for v in day.visits)
    return replace(day, reps=team, visits=items)


def run_scaling(sizes: list[tuple[int, int]], limit: float) -> int:
    """Seconds to the first feasible plan, then distance and served against PyVRP."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    from routing import GreatCircle, Problem, SolveParams, solve
    from routing.daymodel import penalty

    out = csv.writer(sys.stdout)
    out.writerow(["instance", "visits", "reps", "time_limit_s", "first_feasible_s",
                  "first_served", "geocrm_km", "geocrm_served", "pyvrp_km", "pyvrp_served",
                  "ratio_to_pyvrp"])
    for n, k in sizes:
        problem: Problem = field_day(n, k)  # type: ignore[assignment]
        started = time.perf_counter()
        first = solve(problem, time_limit=limit,
                      params=SolveParams(solution_limit=1, workers=1, main_engine="ortools"))
        first_s = time.perf_counter() - started
        ours = solve(problem, time_limit=limit)
        ours_km = sum(r.distance_m for r in ours.routes) / 1000
        locs = [r.start for r in problem.reps] + [v.location for v in problem.visits]
        m = GreatCircle(problem.circuity).matrices(locs, 30.0)
        lat0 = problem.reps[0].start.lat
        pts = [pyvrp.Location(x=(p.lon - 24.94) * 111_200 * np.cos(np.radians(lat0)),
                              y=(p.lat - lat0) * 111_200) for p in locs]
        depots = [pyvrp.Depot(location=i) for i in range(k)]
        clients = [pyvrp.Client(location=k + j, delivery=[1], service_duration=v.duration,
                                tw_early=v.windows[0].start, tw_late=v.windows[0].end - v.duration,
                                prize=penalty(v), required=False)
                   for j, v in enumerate(problem.visits)]
        types = [pyvrp.VehicleType(num_available=1, capacity=[r.max_visits or n], start_depot=i,
                                   end_depot=i, tw_early=r.shift.start, tw_late=r.shift.end)
                 for i, r in enumerate(problem.reps)]
        data = pyvrp.ProblemData(pts, clients, depots, types, [m.distance_m], [m.travel_s])
        res = pyvrp.solve(data, stop=MaxRuntime(limit), seed=0, display=False)
        best = res.best
        pv_km = best.distance() / 1000
        pv_served = sum(r.num_clients() for r in best.routes())
        out.writerow([f"field-{n}x{k}", n, k, limit, f"{first_s:.2f}", len(first.served),
                      f"{ours_km:.1f}", len(ours.served), f"{pv_km:.1f}", pv_served,
                      f"{ours_km / pv_km:.4f}" if pv_km else "nan"])
        sys.stdout.flush()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--instances", default="")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--scaling", action="store_true",
                        help="the field-day scaling table instead of Solomon")
    parser.add_argument("--sizes", default="200x10,500x20,1000x40")
    parser.add_argument("--workers", type=int, default=2,
                        help="GeoCRM's processes (1: OR-Tools only, no helper)")
    parser.add_argument("--main-engine", default="pyvrp", choices=("ortools", "pyvrp"),
                        help="what GeoCRM's own process runs on days PyVRP can express")
    parser.add_argument("--no-vroom", action="store_true")
    args = parser.parse_args()
    params = SolveParams(workers=args.workers, main_engine=args.main_engine)
    if args.scaling:
        sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
        return run_scaling(sizes, args.time_limit)  # type: ignore[arg-type]
    if not args.dir.exists():
        print(f"no instances at {args.dir}", file=sys.stderr)
        return 2
    names = ([n.strip() for n in args.instances.split(",") if n.strip()] or
             sorted(p.stem for p in args.dir.glob("*.vrp")))
    out = csv.writer(sys.stdout)
    out.writerow(["instance", "solver", "time_limit_s", "distance", "routes", "served",
                  "seconds", "ratio_to_pyvrp"])
    ratios, feasible, vroom_ratios = [], 0, []
    for name in names:
        path = args.dir / f"{name}.vrp"
        inst = load(path)
        coords: np.ndarray = inst["coords"]  # type: ignore[assignment]
        n_customers = len(coords) - 1
        rows = {}
        solvers = ("pyvrp", "geocrm") if args.no_vroom else ("pyvrp", "geocrm", "vroom")
        for solver in solvers:
            start = time.perf_counter()
            if solver == "pyvrp":
                routes = run_pyvrp(path, args.time_limit)
            elif solver == "geocrm":
                routes = run_geocrm(inst, args.time_limit, params)
            else:
                routes = run_vroom(inst, args.time_limit)
            took = time.perf_counter() - start
            served = len({c for r in routes for c in r})
            rows[solver] = (distance(coords, routes), len(routes), served, took)
        base = rows["pyvrp"][0]
        for solver in solvers[1::-1] + solvers[2:]:
            d, k, served, took = rows[solver]
            ratio = d / base if base else float("nan")
            out.writerow([name, solver, args.time_limit, f"{d:.4f}", k, served, f"{took:.2f}",
                          f"{ratio:.4f}"])
        sys.stdout.flush()
        if rows["geocrm"][2] == n_customers:
            feasible += 1
        ratios.append(rows["geocrm"][0] / base)
        if "vroom" in rows:
            vroom_ratios.append(rows["vroom"][0] / base)
    print(f"geocrm: {feasible}/{len(names)} instances with every customer served; mean "
          f"distance ratio to PyVRP {np.mean(ratios):.4f}; "
          f"VROOM {np.mean(vroom_ratios) if vroom_ratios else float('nan'):.4f} "
          f"(time limit {args.time_limit} s, workers {args.workers}, "
          f"main engine {args.main_engine})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
