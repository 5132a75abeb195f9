"""The manager's day, daily reports and mileage at a large team's size (issue 17).

Builds a throwaway SQLite database: one manager over ``--reps`` reps (one territory), 5,000
accounts in Helsinki, each rep's published plan for today with ``--stops`` stops (half of
them visited so far, a few late, one unplanned visit each) and ``--days`` past working days
of 8 visits each (the month's mileage). Then times what a manager's browser asks for:

* ``/team/day.json`` (the page's refresh every minute) and ``/team/day`` (map and tables);
* one rep's daily report page and its CSV;
* ``/team/mileage`` for the month over every rep (one travel matrix per rep).

Figures are the median of ``--runs`` warm runs and the first (cold) run, in seconds, on the
configured travel provider (``--travel straight`` by default; ``region`` needs a loaded
region in the instance folder). Say the load (``uptime``) with any figure.

    python benchmarks/team_day.py [--reps 50] [--stops 12] [--days 20] [--runs 5]
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
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import shapely  # noqa: E402

from geocrm import create_app  # noqa: E402
from geocrm.auth.services import create_user  # noqa: E402
from geocrm.clock import local_today  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.models import (  # noqa: E402
    Account,
    Interaction,
    InteractionKind,
    PlanStatus,
    Role,
    RoutePlan,
    RouteStop,
    Territory,
)

PASSWORD = "bench-password-1"


def build(reps: int, stops: int, days: int, seed: int = 7) -> int:
    """The team, today's plans and the past days' visits; returns the first rep's id."""
    rng = random.Random(seed)
    manager = create_user("manager@bench.local", "Manager", PASSWORD, Role.MANAGER)
    db.session.flush()
    area = Territory(name="Helsinki", manager_id=manager.id)
    area.set_geometry(shapely.box(24.85, 60.13, 25.05, 60.25))
    db.session.add(area)
    db.session.flush()
    accounts = [Account(name=f"Shop {i}", name_key=f"shop {i}", territory_id=area.id,
                        lat=rng.uniform(60.14, 60.24), lon=rng.uniform(24.86, 25.04))
                for i in range(5000)]
    db.session.add_all(accounts)
    team = []
    for r in range(reps):
        rep = create_user(f"rep{r}@bench.local", f"Rep {r:03d}", PASSWORD, Role.REP,
                          home_lat=rng.uniform(60.15, 60.23), home_lon=rng.uniform(24.88, 25.02))
        area.reps.append(rep)
        team.append(rep)
    db.session.flush()
    today = local_today()
    start_of_day = datetime.combine(today, dtime(8, 0))
    rows: list[Interaction] = []

    def visit(rep_id: int, account: Account, at: datetime, stop_id: int | None = None) -> None:
        rows.append(Interaction(
            uuid=str(uuid.uuid4()), user_id=rep_id, account_id=account.id,
            kind=InteractionKind.VISIT, occurred_at=at, checkin_at=at,
            checkout_at=at + timedelta(minutes=20), checkin_lat=account.lat,
            checkin_lon=account.lon, checkin_accuracy_m=12.0, distance_m=3.0,
            route_stop_id=stop_id, outcome="interested", notes="Bench visit"))

    for rep in team:
        plan = RoutePlan(rep_id=rep.id, plan_date=today, status=PlanStatus.PUBLISHED,
                         published_at=start_of_day - timedelta(hours=1))
        db.session.add(plan)
        db.session.flush()
        picks = rng.sample(accounts, stops + 1)
        for seq, account in enumerate(picks[:stops], 1):
            begin = start_of_day + timedelta(minutes=40 * (seq - 1))
            stop = RouteStop(plan_id=plan.id, seq=seq, account_id=account.id, arrival=begin,
                             start=begin, departure=begin + timedelta(minutes=30))
            db.session.add(stop)
            db.session.flush()
            if seq <= stops // 2:
                visit(rep.id, account, begin + timedelta(minutes=rng.choice((0, 5, 30))),
                      stop.id)
        visit(rep.id, picks[-1], start_of_day + timedelta(hours=5))
        for d in range(1, days + 1):
            day = start_of_day - timedelta(days=d)
            for k, account in enumerate(rng.sample(accounts, 8)):
                visit(rep.id, account, day + timedelta(minutes=50 * k))
    db.session.add_all(rows)
    db.session.commit()
    return team[0].id


def timed(fn, runs: int) -> tuple[float, float]:  # noqa: ANN001
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--stops", type=int, default=12)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--travel", default="straight")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    os.environ.pop("DATABASE_URL", None)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}",
                      "SECRET_KEY": "bench", "GEOCRM_TILE_URL": "", "WTF_CSRF_ENABLED": False,
                      "GEOCRM_TRAVEL": args.travel, "GEOCRM_GEOCODER": "off",
                      "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        db.create_all()
        t0 = time.perf_counter()
        first_rep = build(args.reps, args.stops, args.days)
        print(f"built {args.reps} reps x {args.stops} stops today, {args.days} past days x 8 "
              f"visits in {time.perf_counter() - t0:.1f} s")
        day = local_today().isoformat()
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": "manager@bench.local", "password": PASSWORD})

    def get(url: str):  # noqa: ANN202
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return call

    print(f"load: {os.getloadavg()[0]:.1f} (1 min), travel={args.travel}")
    for label, url in [("team day JSON (refresh)", "/team/day.json"),
                       ("team day page", "/team/day"),
                       ("daily report page", f"/team/reports/{first_rep}/{day}"),
                       ("daily report CSV", f"/team/reports/{first_rep}/{day}.csv"),
                       ("mileage, month, every rep", "/team/mileage"),
                       ("mileage CSV", "/team/mileage.csv")]:
        cold, warm = timed(get(url), args.runs)
        print(f"{label:28s} cold {cold:6.3f} s   warm median {warm:6.3f} s")


if __name__ == "__main__":
    main()
