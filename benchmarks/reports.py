"""CRM reports at scale: each report over 100,000 accounts and 1,000,000 interactions.

Builds a throwaway database (SQLite file; and PostgreSQL when ``GEOCRM_TEST_POSTGRES_URL``
or ``--postgres URL`` is given, in a ``<db>_bench_reports`` database dropped afterwards)
with 8 territories tiling Helsinki, 2 reps each and a manager, N accounts (cadences,
values, last visits), M interactions over two years (80 % visits with check-in positions),
4 weeks of published plans with stops, and 20,000 opportunities. Loading goes through
``geocrm.bulk.bulk_insert``.

Then times every report as the admin (the whole company), a manager (four territories)
and a rep (one territory): visits per rep per day over 28 days, coverage per territory,
overdue by cadence, falling frequency (90 + 90 days), planned vs done over 28 days and
pipeline by territory. Figures: the median of ``--runs`` warm runs, in seconds, and the
first (cold) run. Goal (issue 6): ≤ 1 s on PostgreSQL, ≤ 3 s on SQLite.

    python benchmarks/reports.py [--accounts 100000] [--interactions 1000000] [--runs 3]
    python benchmarks/reports.py --quick          # 20,000 accounts, 200,000 interactions
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import shapely  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from geocrm import create_app  # noqa: E402
from geocrm.bulk import bulk_insert  # noqa: E402
from geocrm.config import normalise_database_url  # noqa: E402
from geocrm.crm import reports  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.models import (  # noqa: E402
    Account,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    PlanStatus,
    Role,
    RoutePlan,
    RouteStop,
    Stage,
    Territory,
    User,
    territory_reps,
    utcnow,
)

BOX = (24.80, 60.12, 25.20, 60.28)  # west, south, east, north
AS_OF = date(2026, 6, 30)
BATCH = 50_000


def seed(n_accounts: int, n_interactions: int, rng: random.Random) -> dict[str, int]:
    """Fill the empty schema; returns the ids of the users the reports run as."""
    now = utcnow()
    session = db.session
    users = [{"id": 1, "email": "admin@bench", "name": "Admin", "role": Role.ADMIN}]
    users.append({"id": 2, "email": "manager@bench", "name": "Manager", "role": Role.MANAGER})
    rep_ids = list(range(10, 26))
    for i, rid in enumerate(rep_ids):
        users.append({"id": rid, "email": f"rep{i}@bench", "name": f"Rep {i:02d}",
                      "role": Role.REP})
    bulk_insert(session, User.__table__, [
        {**u, "password_hash": "x", "active": True, "home_lat": 60.2, "home_lon": 24.95,
         "work_start_min": 480, "work_end_min": 1020, "lunch_start_min": 720,
         "lunch_minutes": 30, "work_days": "1,2,3,4,5", "created_at": now}
        for u in users
    ])
    w, s, e, n = BOX
    cols, rows_ = 4, 2
    territories = []
    for r in range(rows_):
        for c in range(cols):
            tid = 1 + r * cols + c
            geom = shapely.box(w + (e - w) * c / cols, s + (n - s) * r / rows_,
                               w + (e - w) * (c + 1) / cols, s + (n - s) * (r + 1) / rows_)
            t = Territory(id=tid, name=f"T{tid}", color="#3388ff",
                          manager_id=2 if tid <= 4 else None)
            t.set_geometry(geom)
            territories.append(t)
    session.add_all(territories)
    session.flush()
    bulk_insert(session, territory_reps, [
        {"territory_id": 1 + i // 2, "user_id": rid} for i, rid in enumerate(rep_ids)
    ])
    reps_of = {1 + i // 2: [] for i in range(len(rep_ids))}
    for i, rid in enumerate(rep_ids):
        reps_of[1 + i // 2].append(rid)

    start = datetime.combine(AS_OF - timedelta(days=730), datetime.min.time())
    accounts = []
    for aid in range(1, n_accounts + 1):
        lon, lat = rng.uniform(w, e), rng.uniform(s, n)
        tid = 1 + min(int((lat - s) / (n - s) * rows_), rows_ - 1) * cols + min(
            int((lon - w) / (e - w) * cols), cols - 1)
        accounts.append({
            "id": aid, "name": f"Account {aid}", "name_key": f"account {aid}", "lat": lat,
            "lon": lon, "stage": rng.choice(list(Stage)), "territory_id": tid,
            "visit_minutes": 30, "cadence_days": rng.choice([None, 14, 28, 56, 91]),
            "priority": 3, "value": Decimal(rng.randint(0, 50_000)), "source": "bench",
            "custom_fields": {}, "archived": False, "version": 1, "created_at": now,
            "updated_at": now, "last_visit_at": None,
        })
    account_territory = [a["territory_id"] for a in accounts]
    kinds = [InteractionKind.VISIT] * 8 + [InteractionKind.CALL, InteractionKind.EMAIL]
    span = 730 * 86400
    # Draw the history first: the accounts' last visit must be known before they go in.
    drawn = []
    last_visit: dict[int, datetime] = {}
    for _ in range(n_interactions):
        aid = rng.randint(1, n_accounts)
        at = start + timedelta(seconds=rng.randint(0, span))
        kind = rng.choice(kinds)
        drawn.append((aid, at, kind, rng.choice(reps_of[account_territory[aid - 1]])))
        if kind == InteractionKind.VISIT and (aid not in last_visit or last_visit[aid] < at):
            last_visit[aid] = at
    for a in accounts:
        a["last_visit_at"] = last_visit.get(a["id"])
    for i in range(0, len(accounts), BATCH):
        bulk_insert(session, Account.__table__, accounts[i:i + BATCH])
    for i in range(0, len(drawn), BATCH):
        rows = []
        for j, (aid, at, kind, rep) in enumerate(drawn[i:i + BATCH], i + 1):
            visit = kind == InteractionKind.VISIT
            a = accounts[aid - 1]
            rows.append({
                "id": j, "uuid": str(uuid.UUID(int=j)), "user_id": rep, "account_id": aid,
                "kind": kind, "occurred_at": at, "checkin_at": at if visit else None,
                "checkin_lat": a["lat"] + 0.0002 if visit else None,
                "checkin_lon": a["lon"] if visit else None, "created_at": now,
            })
        bulk_insert(session, Interaction.__table__, rows)
    # Four weeks of published plans: every rep, every weekday, 10 stops in their territory.
    plan_rows, stop_rows = [], []
    by_territory: dict[int, list[int]] = {}
    for a in accounts:
        by_territory.setdefault(a["territory_id"], []).append(a["id"])
    pid = sid = 0
    for offset in range(28):
        day = AS_OF - timedelta(days=offset)
        if day.isoweekday() > 5:
            continue
        for tid, reps_ in reps_of.items():
            for rid in reps_:
                pid += 1
                plan_rows.append({"id": pid, "rep_id": rid, "plan_date": day,
                                  "status": PlanStatus.PUBLISHED, "created_at": now,
                                  "distance_m": rng.uniform(20_000, 90_000), "params": {},
                                  "unassigned": [], "notes": []})
                for seq, aid in enumerate(rng.sample(by_territory[tid], 10), 1):
                    sid += 1
                    stop_rows.append({"id": sid, "plan_id": pid, "seq": seq, "account_id": aid,
                                      "pinned": False,
                                      "status": "visited" if rng.random() < 0.7 else "planned"})
    bulk_insert(session, RoutePlan.__table__, plan_rows)
    bulk_insert(session, RouteStop.__table__, stop_rows)
    bulk_insert(session, Opportunity.__table__, [
        {"id": i, "account_id": rng.randint(1, n_accounts), "name": f"Deal {i}",
         "stage": rng.choice(list(OpportunityStage)), "amount": Decimal(rng.randint(100, 90_000)),
         "closed": False, "created_at": now, "updated_at": now}
        for i in range(1, 20_001)
    ])
    session.commit()
    return {"admin": 1, "manager": 2, "rep": rep_ids[0]}


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(cold seconds, median warm seconds, result)."""
    t0 = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
        db.session.rollback()
    return cold, statistics.median(warm) if warm else cold, result


def run(url: str, engine: str, n_accounts: int, n_interactions: int, runs: int) -> bool:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    ok = True
    goal = 1.0 if engine == "postgresql" else 3.0
    with app.app_context():
        db.create_all()
        t0 = time.perf_counter()
        who = seed(n_accounts, n_interactions, random.Random(42))
        if engine == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        n_i = db.session.execute(text("SELECT count(*) FROM interactions")).scalar()
        n_a = db.session.execute(text("SELECT count(*) FROM accounts")).scalar()
        print(f"{engine}: loaded {n_a:,} accounts, {n_i:,} interactions in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        start = AS_OF - timedelta(days=27)
        checks: list[tuple[str, Callable[[User], Any]]] = [
            ("visits per rep per day (28 d)",
             lambda u: reports.visits_per_rep(u, start, AS_OF)),
            ("coverage per territory", lambda u: reports.coverage(u, AS_OF)),
            ("overdue by cadence", lambda u: reports.overdue_accounts(u, AS_OF)),
            ("falling frequency (90+90 d)",
             lambda u: reports.falling_frequency(u, AS_OF, window=90)),
            ("planned vs done (28 d)", lambda u: reports.planned_vs_done(u, start, AS_OF)),
            ("pipeline by territory", lambda u: reports.pipeline_by_territory(u)),
        ]
        print(f"{'report':32} {'viewer':8} {'rows':>6} {'cold s':>7} {'median s':>9}")
        for name, fn in checks:
            for role, uid in who.items():
                user = db.session.get(User, uid)
                cold, med, result = timed(lambda fn=fn, user=user: fn(user), runs)
                flag = "" if med <= goal else "  OVER GOAL"
                ok = ok and med <= goal
                print(f"{name:32} {role:8} {len(result.rows):>6} {cold:>7.3f} {med:>9.3f}{flag}",
                      flush=True)
        db.session.remove()
        db.engine.dispose()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 accounts, 200,000 "
                        "interactions")
    parser.add_argument("--postgres", default=os.environ.get("GEOCRM_TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL+PostGIS URL whose server gets a scratch database")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.interactions = 20_000, 200_000
    ok = True
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            ok = run(f"sqlite:///{tmp}/bench.sqlite", "sqlite", args.accounts,
                     args.interactions, args.runs) and ok
    if args.postgres:
        url = make_url(normalise_database_url(args.postgres))
        name = f"{url.database}_bench_reports"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name)
        eng = create_engine(target)
        with eng.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        eng.dispose()
        try:
            ok = run(target.render_as_string(hide_password=False), "postgresql", args.accounts,
                     args.interactions, args.runs) and ok
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        print("postgresql: skipped (set GEOCRM_TEST_POSTGRES_URL or --postgres)")
    print("goal met" if ok else "goal NOT met on at least one report")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
