"""A week for five reps: visits per rep and travel, nearest-rep spread beside the balanced one.

    python benchmarks/weekly_balance.py [--accounts 300] [--limit 1.0] [--pinned 0.1]

The accounts are the real SNAP-authorised stores nearest to downtown Pittsburgh
(``/work/shared/data/geo/pittsburgh_snap_stores``; skipped cleanly when absent) with the
opening hours ``field_day.py`` gives them (Monday–Saturday; fuel stations every day).
Cadences are seeded: 55 % weekly, 30 % fortnightly, 15 % monthly, last visits spread over
the past month, visits of 20–30 minutes. Five reps live unevenly: three near the centre,
one 9 km east, one 12 km north; 08:30–16:30 with a 30-minute lunch, Monday–Friday.
``--pinned`` is the share of accounts that are a rep's own territory (their nearest rep).

The week (Monday 2025-03-03 to Friday) is planned twice with ``routing.plan_week``:
``objective="least_driving"`` (each account to the nearest rep with room: the old
behaviour) and the default ``objective="balanced"`` (``max_spread=1.2``). Prints visits
per rep, max/min, visits left out, total travel (km, including the way home) and seconds,
as CSV ``objective,<rep ids>,max_min,placed,unplaced,travel_km,seconds``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from field_day import CENTRE, DATA, hours, sites  # noqa: E402

from routing import (  # noqa: E402
    Account,
    Break,
    Cadence,
    Location,
    Rep,
    RepWeek,
    SolveParams,
    TimeWindow,
    WeekProblem,
    haversine_matrix,
    plan_week,
)

H = 3600
MON = date(2025, 3, 3)
HOMES = [(0.004, 0.006), (-0.012, -0.010), (0.010, -0.018),  # three near the centre
         (0.0, 0.107),  # 9 km east (0.107° of longitude at 40.4°N)
         (0.108, 0.0)]  # 12 km north


def problem(n: int, pinned: float, seed: int = 7) -> WeekProblem:
    """The seeded week (see the module docstring)."""
    rng = np.random.default_rng(seed)
    reps = []
    for i, (dy, dx) in enumerate(HOMES):
        reps.append(RepWeek(Rep(f"rep{i}", Location(CENTRE[0] + dy, CENTRE[1] + dx),
                                TimeWindow(8 * H + 1800, 16 * H + 1800),
                                breaks=(Break(11 * H + 1800, 13 * H, 1800),))))
    stores = sites(n)
    homes = [r.rep.start for r in reps]
    near = haversine_matrix(homes + [Location(lat, lon) for _, lat, lon in stores])[
        len(homes):, :len(homes)].argmin(axis=1)
    accounts = []
    for j, (name, lat, lon) in enumerate(stores):
        open_ = hours(name, rng)
        week_hours = tuple(open_ if (d < 6 or open_[0].end - open_[0].start == 24 * H) else ()
                           for d in range(7))
        cadence = rng.choice(3, p=[0.55, 0.30, 0.15])
        cad = [Cadence.weekly(), Cadence.fortnightly(), Cadence.monthly()][int(cadence)]
        last = MON - timedelta(days=int(rng.integers(1, 31)))
        own = f"rep{near[j]}" if rng.random() < pinned else None
        accounts.append(Account(f"s{j:03d}", Location(lat, lon),
                                int(rng.choice([1200, 1500, 1800])), cad, last_visit=last,
                                hours=week_hours, rep_id=own))
    return WeekProblem(tuple(reps), tuple(accounts), MON, MON + timedelta(days=4))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--limit", type=float, default=1.0, help="seconds per day")
    parser.add_argument("--pinned", type=float, default=0.1)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"no data at {DATA}: skipped", file=sys.stderr)
        return 0
    week = problem(args.accounts, args.pinned)
    ids = [r.rep.id for r in week.reps]
    out = csv.writer(sys.stdout)
    out.writerow(["objective", *ids, "max_min", "placed", "unplaced", "travel_km", "seconds"])
    params = SolveParams(workers=1)
    for objective in ("least_driving", "balanced"):
        plan = plan_week(week, time_limit_per_day=args.limit, params=params,
                         objective=objective)
        counts = dict.fromkeys(ids, 0)
        for p in plan.placements:
            counts[p.rep_id] += 1
        low, high = min(counts.values()), max(counts.values())
        travel = sum(r.distance_m  # includes the way home
                     for d in plan.days for r in d.plan.routes)
        out.writerow([objective, *counts.values(),
                      f"{high / low:.2f}" if low else "inf", len(plan.placements),
                      len(plan.unplaced), f"{travel / 1000:.1f}", f"{plan.seconds:.1f}"])
        for note in plan.notes:
            if "per rep" in note or "not possible" in note:
                print(f"# {objective}: {note}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
