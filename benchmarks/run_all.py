"""Run every benchmark in this folder, one after the other, and keep their output.

``make bench`` calls this. Each benchmark is a standalone script that prints its own
figures; results also land in ``benchmarks/out/<name>.txt``. ``--only NAME[,NAME]`` picks
some; ``--quick`` passes each script its small-size options where it has them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["map_load", "import", "import_sources", "duplicates", "territories", "near_me",
         "lighthouse_today", "plan_page", "reports", "road_matrix", "solomon", "routing_scale",
         "weekly_balance", "geocode", "geocode_job", "basemap", "prospects", "team_day",
         "api_load"]
QUICK = {
    "map_load": ["--accounts", "20000"],
    "import": ["--rows", "20000"],
    "import_sources": ["--rows", "20000"],
    "duplicates": ["--accounts", "20000"],
    "solomon": ["--instances", "C101,R101,RC101,R205", "--time-limit", "5"],
    "reports": ["--quick"],
    "road_matrix": ["--points", "300", "--old-points", "100"],
    "plan_page": ["--runs", "1"],
    "routing_scale": ["--quick"],
    "weekly_balance": ["--accounts", "150", "--limit", "0.5"],
    "basemap": ["--grid", "20", "--runs", "1"],
    "geocode_job": ["--copies", "2"],
    "prospects": ["--places", "50000", "--accounts", "2000", "--runs", "3"],
    "team_day": ["--reps", "20", "--runs", "2"],
    "api_load": ["--accounts", "20000", "--clients", "20", "--seconds", "10"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = [n for n in ORDER if (HERE / f"{n}.py").exists()]
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted]
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for name in names:
        extra = QUICK.get(name, []) if args.quick else []
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        took = time.perf_counter() - start
        (out_dir / f"{name}.txt").write_text(proc.stdout + proc.stderr)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr[-4000:])
        print(f"== {name}: exit {proc.returncode} in {took:.1f} s\n", flush=True)
        if proc.returncode:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
