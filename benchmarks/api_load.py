"""A team's day on one server: 50 clients, 100,000 accounts, 10 % of them opening the map.

1. Seeds ``--accounts`` (default 100,000) accounts over eight territories (two managers with
   four each, a rep per territory with an API token) plus 2 % unassigned, on SQLite (a temp
   file) and, when ``GEOCRM_TEST_POSTGRES_URL`` is set, on PostgreSQL + PostGIS in a
   ``<db>_bench`` database made and dropped here.
2. Serves the app as the README's production set-up does: gunicorn with
   ``docs/deploy/gunicorn.conf.py`` (only ``--bind`` and ``--workers``/``--threads`` given
   on the command line; 2 x 8 by default, for 2 cores), on 127.0.0.1 without the proxy.
3. Runs ``--clients`` (default 50) keep-alive clients in a closed loop for ``--seconds``
   (after 3 s of warm-up) with this mix per request:

   * 10 % territory map data (``/maps/territories/points.json``, plain, ``?stage=customer`` or
     ``?colour=territory``) signed in as a manager, the admin or the planner, keeping each
     URL's ETag and sending it back in ``If-None-Match`` as a browser does;
   * 45 % near me (``POST /api/v1/accounts/near``), 20 % account list
     (``GET /api/v1/accounts?limit=50``), 20 % one account (``GET /api/v1/accounts/<id>``),
     5 % field edits (``PATCH /api/v1/accounts/<id>``, a phone number), as the reps' tokens;

   and one more client that moves an account's stage every ``--stage-edit-every`` seconds
   (default 60), which the map shows, so the map's data really changes under the load.
   Before the clock starts each client signs in and opens the plain map once (a browser
   that has the map open): those first loads, which build the payloads, are reported apart
   ("first map") and not in the figures.
4. Does it twice, as ``benchmarks/near_me.py`` does: a closed loop (each client asks again as
   soon as it has its answer: the server's saturation throughput, where latency is just
   clients / throughput) and with ``--think-ms`` (default 1000, +-50 %) between a client's
   requests, like people using the app.
5. Prints p50/p95/max and errors overall and per kind, how many map answers were 304, and the
   load average before and after. Goal (issue 18): 0 errors and p95 <= 500 ms on both.

The API rate limit is lifted for the run (``GEOCRM_API_RATE_LIMIT``): this measures the
server, not the limiter. Clients share the machine with the server, so latencies include them.

    nice -n 10 .venv/bin/python benchmarks/api_load.py [--accounts 100000 --clients 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
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
    load_average,
    percentiles,
    pg_bench_url,
)
from _common import serve as serve_gunicorn  # noqa: E402

WEB_USERS = ("manager1@bench.example.com", "manager2@bench.example.com",
             "admin@bench.example.com", "planner@bench.example.com")
MAP_URLS = ("/maps/territories/points.json", "/maps/territories/points.json?stage=customer",
            "/maps/territories/points.json?colour=territory")
MIX = (("map", 0.10), ("near", 0.45), ("list", 0.20), ("account", 0.20), ("edit", 0.05))
STAGES = ("lead", "prospect", "customer")


@dataclass
class World:
    tokens: list[str]  # one rep per territory
    account_ids: list[list[int]]  # per territory, a sample of its accounts


def seed(url: str, n: int) -> World:
    """Schema, users, eight territories in a 4 x 2 grid, ``n`` accounts bulk-inserted."""
    import shapely
    from sqlalchemy import select

    from geocrm.api.tokens import create_token
    from geocrm.auth.services import create_user
    from geocrm.extensions import db
    from geocrm.models import Account, Role, Territory

    app = bench_app(url)
    with app.app_context():
        managers = [create_user(e, e.split("@")[0], PASSWORD, Role.MANAGER)
                    for e in WEB_USERS[:2]]
        create_user(WEB_USERS[2], "Admin", PASSWORD, Role.ADMIN)
        create_user(WEB_USERS[3], "Planner", PASSWORD, Role.PLANNER)
        db.session.flush()
        west, south, east, north = BOX
        width, height = (east - west) / 4, (north - south) / 2
        territories, tokens = [], []
        for k in range(8):
            r, c = divmod(k, 4)
            box = (west + c * width, south + r * height, west + (c + 1) * width,
                   south + (r + 1) * height)
            t = Territory(name=f"Territory {k + 1}", color="#1f77b4",
                          manager_id=managers[k // 4].id)
            t.set_geometry(shapely.box(*box))
            rep = create_user(f"rep{k + 1}@bench.example.com", f"Rep {k + 1}", PASSWORD, Role.REP)
            db.session.add(t)
            db.session.flush()
            t.reps.append(rep)
            territories.append((t.id, box))
            tokens.append(create_token(rep, "bench")[1])
        db.session.flush()

        def place(i: int, rng: random.Random) -> tuple[float, float, int | None, str]:
            territory_id, (w, s, e, nn) = territories[i % 8]
            lat, lon = rng.uniform(s, nn), rng.uniform(w, e)
            return lat, lon, None if i % 50 == 49 else territory_id, STAGES[i % 3]

        insert_accounts(account_rows(n, place))
        db.session.commit()
        samples = []
        for territory_id, _box in territories:
            samples.append(list(db.session.scalars(
                select(Account.id).where(Account.territory_id == territory_id).limit(200))))
        analyze()
        db.session.remove()
        db.engine.dispose()
    return World(tokens, samples)


def serve(url: str, workers: int, threads: int) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn with the production config file, the API rate limit lifted."""
    return serve_gunicorn(url, workers, threads, {"GEOCRM_API_RATE_LIMIT": "1000000/minute"})


class Client:
    """One keep-alive connection with a cookie (web user) and a bearer token (rep)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.cookies: dict[str, str] = {}
        self.etags: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            res = self.conn.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        for cookie in res.msg.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return res.status, data, res

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def sign_in(self, email: str) -> None:
        status, page, _ = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert status == 200 and token, "no sign-in form"
        form = (f"csrf_token={token.group(1).decode()}&email={email}&password={PASSWORD}")
        status, _, _ = self.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})
        assert status == 302, f"sign-in as {email}: {status}"

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        return self.request(method, path, body, headers)

    def map_data(self, path: str) -> int:
        headers = {"Accept": "application/json", "Cookie": self.cookie}
        if path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        status, _, res = self.request("GET", path, headers=headers)
        if res.getheader("ETag"):
            self.etags[path] = res.getheader("ETag")
        return status


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    not_modified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None, not_modified: bool) -> None:
        with self.lock:
            if error:
                self.errors.setdefault(kind, []).append(error)
            else:
                self.latencies.setdefault(kind, []).append(seconds)
                self.not_modified += not_modified


def one_request(client: Client, kind: str, rng: random.Random, world: World,
                territory: int) -> tuple[bool, bool]:
    """Do one request of ``kind``; (ok, answered 304)."""
    ids = world.account_ids[territory]
    if kind == "map":
        status = client.map_data(rng.choice(MAP_URLS))
        return status in (200, 304), status == 304
    if kind == "near":
        lat, lon = rng.uniform(BOX[1] + 0.02, BOX[3] - 0.02), rng.uniform(BOX[0] + 0.04,
                                                                        BOX[2] - 0.04)
        status, _, _ = client.api("POST", "/api/v1/accounts/near",
                                  {"lat": round(lat, 6), "lon": round(lon, 6), "radius": 2000,
                                   "limit": 100})
    elif kind == "list":
        status, _, _ = client.api("GET", "/api/v1/accounts?limit=50")
    elif kind == "account":
        status, _, _ = client.api("GET", f"/api/v1/accounts/{rng.choice(ids)}")
    else:
        status, _, _ = client.api("PATCH", f"/api/v1/accounts/{rng.choice(ids)}",
                                  {"phone": f"+358 40 {rng.randrange(10**7):07d}"})
    return status == 200, False


def load(port: int, world: World, clients: int, seconds: float, edit_every: float,
         think_s: float = 0.0) -> Tally:
    tally = Tally()
    clock = {"warm_until": 0.0, "stop_at": 0.0}  # set once every client has signed in
    go = threading.Event()
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    ready = threading.Barrier(clients + 2)  # the clients, the stage editor, this thread

    def run(k: int) -> None:
        rng = random.Random(k)
        territory = k % 8
        client = Client(port, world.tokens[territory])
        try:
            client.sign_in(WEB_USERS[k % len(WEB_USERS)])
            t0 = time.perf_counter()  # a browser that opened the map once already
            status = client.map_data(MAP_URLS[0])
            tally.add("first map", time.perf_counter() - t0,
                      None if status == 200 else f"status {status}", False)
        except (AssertionError, OSError, http.client.HTTPException) as exc:
            tally.add("sign-in", 0.0, repr(exc), False)
        ready.wait()
        go.wait()
        while (t0 := time.perf_counter()) < clock["stop_at"]:
            kind = rng.choices(kinds, weights)[0]
            try:
                ok, not_modified = one_request(client, kind, rng, world, territory)
                error = None if ok else "status"
            except (OSError, http.client.HTTPException) as exc:
                ok, not_modified, error = False, False, type(exc).__name__
            if t0 >= clock["warm_until"]:
                tally.add(kind, time.perf_counter() - t0, error, not_modified)
            if think_s:
                time.sleep(rng.uniform(0.5, 1.5) * think_s)

    def stage_editor() -> None:
        rng = random.Random(-1)
        client = Client(port, world.tokens[0])
        ready.wait()
        go.wait()
        n = 0
        while time.perf_counter() < clock["stop_at"]:
            time.sleep(edit_every)
            t0 = time.perf_counter()
            account_id = rng.choice(world.account_ids[0])
            status, _, _ = client.api("PATCH", f"/api/v1/accounts/{account_id}",
                                      {"stage": STAGES[n % 3]})
            n += 1
            tally.add("stage edit", time.perf_counter() - t0,
                      None if status == 200 else f"status {status}", False)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    pool.append(threading.Thread(target=stage_editor))
    for t in pool:
        t.start()
    ready.wait()
    clock["warm_until"] = time.perf_counter() + 3
    clock["stop_at"] = clock["warm_until"] + seconds
    go.set()
    for t in pool:
        t.join()
    return tally


def quantiles(values: list[float]) -> tuple[float, float, float]:
    q = percentiles(values)
    return q["p50"], q["p95"], q["max"]


def report(engine: str, tally: Tally, seconds: float, think_s: float) -> bool:
    every = [x for kind, values in tally.latencies.items() if kind != "first map"
             for x in values]
    errors = sum(len(e) for e in tally.errors.values())
    p50, p95, worst = quantiles(every)
    maps = len(tally.latencies.get("map", []))
    ok = errors == 0 and p95 <= 500
    mode = f"think {think_s * 1000:.0f} ms (+-50 %)" if think_s else "closed loop"
    rate = len(every) / seconds
    print(f"[{engine}] {mode}: {len(every):,} requests in {seconds:.0f} s ({rate:.0f}/s), "
          f"errors {errors}; p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms; "
          f"map answers 304: {tally.not_modified} of {maps} -> "
          f"{'OK' if ok else 'goal missed'} (0 errors, p95 <= 500 ms)", flush=True)
    print(f"  {'kind':<11} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for kind in [k for k, _ in MIX] + ["stage edit", "first map"]:
        values = tally.latencies.get(kind, [])
        p50, p95, worst = quantiles(values)
        print(f"  {kind:<11} {len(values):>8} {len(tally.errors.get(kind, [])):>6} "
              f"{p50:>7.0f} {p95:>7.0f} {worst:>7.0f}")
    for kind, problems in tally.errors.items():
        print(f"  errors {kind}: {sorted(set(problems))[:5]}")
    return ok


def run(engine: str, url: str, args: argparse.Namespace) -> bool:
    t0 = time.perf_counter()
    world = seed(url, args.accounts)
    print(f"[{engine}] seeded {args.accounts:,} accounts in {time.perf_counter() - t0:.1f} s",
          flush=True)
    proc, port = serve(url, args.workers, args.threads)
    try:
        ok = True
        for think in sorted({0.0, args.think_ms / 1000}):
            print(f"[{engine}] load average before: {os.getloadavg()[0]:.2f}", flush=True)
            tally = load(port, world, args.clients, args.seconds, args.stage_edit_every, think)
            print(f"[{engine}] load average after: {os.getloadavg()[0]:.2f}", flush=True)
            ok &= report(engine, tally, args.seconds, think)
        return ok
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn process")
    parser.add_argument("--stage-edit-every", type=float, default=60.0,
                        help="seconds between the stage edits the map shows")
    parser.add_argument("--think-ms", type=float, default=1000,
                        help="also run with each client pausing ~this long between requests "
                        "(people, not a load generator); 0 runs only the closed loop")
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    print(f"api_load: {os.cpu_count()} CPUs, gunicorn {args.workers} x {args.threads} threads "
          f"(docs/deploy/gunicorn.conf.py), {args.clients} clients, mix "
          + ", ".join(f"{k} {w:.0%}" for k, w in MIX)
          + f"; Redis (GEOCRM_REDIS_URL: rate limits, shared map cache): "
          f"{'on' if os.environ.get('GEOCRM_REDIS_URL') else 'off'}; load {load_average()}",
          flush=True)
    ok = True
    if args.engine in ("sqlite", "all"):
        tmp = Path(tempfile.mkdtemp(prefix="geocrm-load-"))
        try:
            ok &= run("sqlite", f"sqlite:///{tmp / 'bench.sqlite'}", args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    pg = os.environ.get("GEOCRM_TEST_POSTGRES_URL")
    if args.engine in ("postgres", "all"):
        if not pg:
            print("[postgres] skipped: set GEOCRM_TEST_POSTGRES_URL to run it")
        else:
            url = pg_bench_url(pg)
            try:
                ok &= run("postgres", url, args)
            finally:
                drop_pg(url)
    print("goal (0 errors, p95 <= 500 ms on every engine run): " + ("met" if ok else "NOT met"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
