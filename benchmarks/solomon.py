"""Solomon VRPTW benchmark: our OR-Tools planner beside PyVRP and VROOM, same time limit.

    python benchmarks/solomon.py [--dir DIR] [--instances C101,R101,...] [--time-limit SECONDS]

Prints CSV, one row per instance and solver:
``instance,solver,time_limit_s,distance,routes,served,seconds,ratio_to_pyvrp``. The
distance is the sum of Euclidean legs, unrounded, recomputed here from each solver's routes
(never taken from a solver's own objective); ``served`` counts customers visited. PyVRP
and VROOM are yardsticks only: the app never calls them. A summary goes to stderr.
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

from routing import solve_vrptw  # noqa: E402

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


def run_geocrm(inst: dict[str, object], limit: float) -> list[list[int]]:
    result = solve_vrptw(inst["coords"], inst["demand"], inst["capacity"],  # type: ignore[arg-type]
                         inst["windows"], inst["service"], inst["vehicles"],  # type: ignore[arg-type]
                         time_limit=limit, scale=SCALE)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--instances", default="")
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args()
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
        for solver in ("pyvrp", "geocrm", "vroom"):
            start = time.perf_counter()
            if solver == "pyvrp":
                routes = run_pyvrp(path, args.time_limit)
            elif solver == "geocrm":
                routes = run_geocrm(inst, args.time_limit)
            else:
                routes = run_vroom(inst, args.time_limit)
            took = time.perf_counter() - start
            served = len({c for r in routes for c in r})
            rows[solver] = (distance(coords, routes), len(routes), served, took)
        base = rows["pyvrp"][0]
        for solver in ("geocrm", "pyvrp", "vroom"):
            d, k, served, took = rows[solver]
            ratio = d / base if base else float("nan")
            out.writerow([name, solver, args.time_limit, f"{d:.4f}", k, served, f"{took:.2f}",
                          f"{ratio:.4f}"])
        sys.stdout.flush()
        if rows["geocrm"][2] == n_customers:
            feasible += 1
        ratios.append(rows["geocrm"][0] / base)
        vroom_ratios.append(rows["vroom"][0] / base)
    print(f"geocrm: {feasible}/{len(names)} instances with every customer served; mean "
          f"distance ratio to PyVRP {np.mean(ratios):.4f}; VROOM {np.mean(vroom_ratios):.4f} "
          f"(time limit {args.time_limit} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
