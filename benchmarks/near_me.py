"""Near-me API latency under load, and one big outbox sync.

1. Seeds ``--accounts`` (default 100,000) accounts over a 45 x 45 km region, all in one
   territory worked by one rep, so every query goes through the rep's scoping.
2. Serves the app with gunicorn as the README's production set-up does
   (``docs/deploy/gunicorn.conf.py``, ``gthread`` workers) on 127.0.0.1, then runs
   ``--clients`` (default 20) concurrent keep-alive clients for ``--seconds`` (default 30),
   each asking ``POST /api/v1/accounts/near`` (the position in the body) at a random point
   (radius 2 km, 100 nearest)
   with a bearer token. Prints p50/p95/p99 latency and throughput. Goal: p95 <= 50 ms.
3. Sends 1,000 queued interactions in one ``POST /api/v1/sync`` and then the same batch
   again. Goal: <= 10 s, exactly 1,000 rows after both.

Runs on SQLite (a temp file) and, when ``GEOCRM_TEST_POSTGRES_URL`` is set, on PostgreSQL +
PostGIS in a separate ``<db>_bench`` database (created and dropped here). The clients run
in this process and share the machine with the server: the latency includes them.

    .venv/bin/python benchmarks/near_me.py [--accounts 100000 --clients 20 --seconds 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # geocrm ahead of benchmarks/

from _common import (  # noqa: E402
    BOX,
    PASSWORD,
    account_rows,
    analyze,
    bench_app,
    drop_pg,
    insert_accounts,
    percentiles,
    pg_bench_url,
    serve,
)


def seed(url: str, n: int) -> tuple[str, list[int]]:
    """Create the schema and the accounts; return a bearer token of the rep and some ids."""
    import shapely

    from geocrm.api.tokens import create_token
    from geocrm.auth.services import create_user
    from geocrm.extensions import db
    from geocrm.models import Account, Role, Territory

    app = bench_app(url)
    with app.app_context():
        rep = create_user("rep@bench.example.com", "Bench Rep", PASSWORD, Role.REP)
        territory = Territory(name="Everything", color="#123456")
        territory.set_geometry(shapely.box(*BOX))
        db.session.add(territory)
        db.session.flush()
        territory.reps.append(rep)
        db.session.flush()

        def place(i: int, rng: random.Random) -> tuple[float, float, int, str]:
            lat, lon = rng.uniform(BOX[1], BOX[3]), rng.uniform(BOX[0], BOX[2])
            return lat, lon, territory.id, "prospect" if i % 3 else "customer"

        insert_accounts(account_rows(n, place))
        _, token = create_token(rep, "bench")
        db.session.commit()  # create_token only flushes: the token must be there to be used
        ids = [a for (a,) in db.session.execute(db.select(Account.id).limit(50))]
        analyze()
        db.session.remove()
        db.engine.dispose()
    return token, ids


def load(
    port: int, token: str, clients: int, seconds: float, think_s: float = 0.0
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    counts: list[int] = []
    stop_at = [0.0]
    warm_until = [0.0]

    def client(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            now = time.perf_counter()
            if now >= stop_at[0]:
                break
            lat = rng.uniform(BOX[1] + 0.02, BOX[3] - 0.02)
            lon = rng.uniform(BOX[0] + 0.04, BOX[2] - 0.04)
            body_out = json.dumps({"lat": round(lat, 6), "lon": round(lon, 6), "radius": 2000,
                                   "limit": 100})
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/accounts/near", body=body_out,
                             headers={**headers, "Content-Type": "application/json"})
                res = conn.getresponse()
                body = res.read()
                ok = res.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
                body = b""
            t1 = time.perf_counter()
            if think_s:
                time.sleep(rng.uniform(0.5, 1.5) * think_s)
            if t0 < warm_until[0]:
                continue
            if ok:
                latencies[k].append(t1 - t0)
                if k == 0 and len(counts) < 200:
                    counts.append(len(json.loads(body)["items"]))
            else:
                errors[k] += 1
        conn.close()

    start = time.perf_counter()
    warm_until[0] = start + 3
    stop_at[0] = start + 3 + seconds
    pool = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    flat = [x for per in latencies for x in per]
    q = percentiles(flat)
    return {
        "requests": len(flat),
        "errors": sum(errors),
        "rps": len(flat) / seconds,
        "p50_ms": q["p50"],
        "p95_ms": q["p95"],
        "p99_ms": q["p99"],
        "max_ms": q["max"],
        "mean_items": statistics.mean(counts) if counts else 0,
    }


def sync_1000(port: int, token: str, account_ids: list[int], url: str) -> dict[str, Any]:
    ops = [
        {
            "id": str(uuid.uuid4()),
            "op": "interaction",
            "data": {
                "uuid": str(uuid.uuid4()),
                "account_id": account_ids[i % len(account_ids)],
                "kind": "visit",
                "outcome": "interested",
                "notes": f"queued offline #{i}",
                "lat": 60.2,
                "lon": 25.0,
                "accuracy": 12,
            },
        }
        for i in range(1000)
    ]
    body = json.dumps({"ops": ops})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timings = []
    answers = []
    for _ in range(2):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/sync", body=body, headers=headers)
        res = conn.getresponse()
        answer = json.loads(res.read())
        timings.append(time.perf_counter() - t0)
        if res.status != 200:
            raise RuntimeError(f"sync answered {res.status}: {str(answer)[:300]}")
        answers.append(answer)
        conn.close()
    from sqlalchemy import create_engine, text

    from geocrm.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM interactions")).scalar_one()
    engine.dispose()
    return {
        "first_s": timings[0],
        "first_applied": answers[0]["applied"],
        "replay_s": timings[1],
        "replay_replayed": answers[1]["replayed"],
        "rows": rows,
    }


def near_report(engine: str, r: dict[str, Any], args: argparse.Namespace, think: float) -> None:
    verdict = "OK" if r["p95_ms"] <= 50 else "over the 50 ms goal"
    mode = f"think {think * 1000:.0f} ms (+-50 %)" if think else "closed loop, no think time"
    print(
        f"[{engine}] near me: {args.clients} clients, {mode}, {args.seconds:.0f} s: "
        f"{r['requests']:,} requests ({r['rps']:.0f}/s), errors {r['errors']}, "
        f"~{r['mean_items']:.0f} accounts per answer; latency p50 {r['p50_ms']:.1f} ms, "
        f"p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms "
        f"-> {verdict}",
        flush=True,
    )


def run(engine: str, url: str, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    token, ids = seed(url, args.accounts)
    print(
        f"[{engine}] seeded {args.accounts:,} accounts in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    proc, port = serve(url, args.workers, args.threads)
    try:
        for think in sorted({0.0, args.think_ms / 1000}):
            near_report(engine, load(port, token, args.clients, args.seconds, think), args, think)
        s = sync_1000(port, token, ids, url)
        verdict = "OK" if s["first_s"] <= 10 and s["rows"] == 1000 else "goal missed"
        print(
            f"[{engine}] sync: 1,000 queued interactions in one batch {s['first_s']:.2f} s "
            f"(applied {s['first_applied']}); same batch again {s['replay_s']:.2f} s "
            f"(replayed {s['replay_replayed']}); interactions on the server: {s['rows']} "
            f"-> {verdict}",
            flush=True,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=1000,
        help="also run with each client pausing ~this long between requests (a phone, not a "
        "load generator); 0 runs only the closed loop",
    )
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    print(
        f"near_me: {os.cpu_count()} CPUs, gunicorn {args.workers} x {args.threads} threads",
        flush=True,
    )
    if args.engine in ("sqlite", "all"):
        tmp = Path(tempfile.mkdtemp(prefix="geocrm-near-"))
        try:
            run("sqlite", f"sqlite:///{tmp / 'bench.sqlite'}", args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    pg = os.environ.get("GEOCRM_TEST_POSTGRES_URL")
    if args.engine in ("postgres", "all"):
        if not pg:
            print("[postgres] skipped: set GEOCRM_TEST_POSTGRES_URL to run it")
        else:
            url = pg_bench_url(pg)
            try:
                run("postgres", url, args)
            finally:
                drop_pg(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
