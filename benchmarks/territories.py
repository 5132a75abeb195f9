"""Territories benchmark: assignment at scale, and balancing by workload.

1. Assign 1,000,000 points to 500 polygons with ``territories.assign``, beside a plain
   ``geopandas.sjoin`` on the same data in the same run (goal ≤ 2 s).
2. Balance 5,000 accounts into 8 territories (goal ≤ 30 s, max/min workload ≤ 1.10,
   every territory contiguous).

    python benchmarks/territories.py [--points N] [--polygons M] [--accounts A] [--reps K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import territories  # noqa: E402

EXTENT = (0.0, 0.0, 100_000.0, 100_000.0)  # a 100 km square, metres (ETRS-TM35FIN)


def polygons(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    box = shapely.box(*EXTENT)
    seeds = rng.uniform(EXTENT[:2], EXTENT[2:], size=(n, 2))
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=box)
    return gpd.GeoDataFrame(geometry=[c.intersection(box) for c in cells.geoms], crs="EPSG:3067")


def bench_assign(n_points: int, n_polygons: int) -> None:
    rng = np.random.default_rng(42)
    polys = polygons(n_polygons, rng)
    xy = rng.uniform(EXTENT[:2], EXTENT[2:], size=(n_points, 2))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:3067")
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        result = territories.assign(pts, polys)
        runs.append(time.perf_counter() - start)
    start = time.perf_counter()
    joined = gpd.sjoin(pts, polys, how="left", predicate="intersects")
    sjoin_s = time.perf_counter() - start
    print(f"assign   {n_points:>9,} points -> {n_polygons} polygons: "
          f"territories.assign best {min(runs):.2f} s (runs {', '.join(f'{r:.2f}' for r in runs)}),"
          f" geopandas.sjoin {sjoin_s:.2f} s; assigned {int(result.notna().sum()):,}, "
          f"sjoin rows {len(joined):,}")


def bench_balance(n_accounts: int, k: int) -> None:
    rng = np.random.default_rng(7)
    # A city: dense centre, suburbs, a few clusters; 30 x 20 km.
    centre = rng.normal([15_000, 10_000], [3_000, 2_500], size=(n_accounts // 2, 2))
    spread = rng.uniform([0, 0], [30_000, 20_000], size=(n_accounts - n_accounts // 2, 2))
    xy = np.clip(np.vstack([centre, spread]), [0, 0], [30_000, 20_000])
    accounts = gpd.GeoDataFrame(
        {"cadence_days": rng.choice([7, 14, 28, 56], size=n_accounts),
         "visit_minutes": rng.choice([15, 30, 45, 60], size=n_accounts)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:3067",
    )
    homes = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(2_000, 28_000, k),
                                             rng.uniform(2_000, 18_000, k)), crs="EPSG:3067")
    start = time.perf_counter()
    result = territories.balance(shapely.box(0, 0, 30_000, 20_000), accounts, homes, target=1.05)
    took = time.perf_counter() - start
    loads = result.territories["workload_hours"]
    print(f"balance  {n_accounts:,} accounts -> {k} territories: {took:.2f} s, "
          f"max/min workload {result.max_min:.3f}, contiguous {result.contiguous}, "
          f"units {len(result.units)}, workload h/period min {loads.min():.1f} "
          f"max {loads.max():.1f}, "
          f"Polsby-Popper mean {result.territories['compactness'].mean():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--polygons", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=8)
    args = parser.parse_args()
    bench_assign(args.points, args.polygons)
    bench_balance(args.accounts, args.reps)


if __name__ == "__main__":
    main()
