"""What the load and memory benchmarks share (api_load.py, near_me.py, upload_memory.py).

One copy of: the bench app and its schema, the accounts they seed (bulk-inserted in chunks
of 10,000, as an import would), the percentiles they report, gunicorn started with the
README's production config (docs/deploy/gunicorn.conf.py), a throw-away PostgreSQL database,
and the process's memory. Each script keeps only what it measures.
"""

from __future__ import annotations

import http.client
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path[:1] != [str(ROOT)]:  # ahead of benchmarks/, whose territories.py is no package
    sys.path.insert(0, str(ROOT))

BOX = (24.60, 60.05, 25.40, 60.45)  # min_lon, min_lat, max_lon, max_lat (~45 x 45 km)
PASSWORD = "bench-password-1"
#: Settings every bench app shares: cheap password hashing (sign-ins are not measured).
BENCH_CONFIG = {"SECRET_KEY": "bench", "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000"}


# -- seeding ------------------------------------------------------------------------------
def bench_app(url: str, **config: Any) -> Any:
    """A GeoCRM app on ``url`` with its schema created (call its context yourself)."""
    from geocrm import create_app
    from geocrm.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **BENCH_CONFIG, **config})
    with app.app_context():
        db.create_all()
    return app


def account_rows(n: int, place: Any, seed: int = 42) -> Iterator[dict[str, Any]]:
    """``n`` account rows for a bulk insert; ``place(i, rng)`` gives account ``i``'s
    ``(lat, lon, territory_id, stage)``."""
    rng = random.Random(seed)
    for i in range(n):
        lat, lon, territory_id, stage = place(i, rng)
        yield {"name": f"Account {i}", "name_key": f"account {i}", "lat": lat, "lon": lon,
               "territory_id": territory_id, "stage": stage, "visit_minutes": 30,
               "priority": 3, "source": "bench", "custom_fields": {}, "archived": False,
               "version": 1}


def insert_accounts(rows: Iterable[dict[str, Any]], chunk: int = 10_000) -> None:
    """Insert ``rows`` in chunks (inside an app context; the caller commits)."""
    from sqlalchemy import insert

    from geocrm.extensions import db
    from geocrm.models import Account

    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            db.session.execute(insert(Account), batch)
            batch = []
    if batch:
        db.session.execute(insert(Account), batch)


def analyze() -> None:
    """Fresh planner statistics on PostgreSQL after a bulk seed (nothing on SQLite)."""
    from geocrm.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


# -- figures ------------------------------------------------------------------------------
def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of ``values`` (seconds) in milliseconds; NaN without values."""
    if not values:
        return dict.fromkeys(("p50", "p95", "p99", "max"), float("nan"))
    if len(values) == 1:
        return dict.fromkeys(("p50", "p95", "p99", "max"), values[0] * 1000)
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000,
            "max": max(values) * 1000}


def load_average() -> str:
    """The 1/5/15-minute load averages: a shared machine's figures measure neighbours too."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def rss_mb() -> float:
    """This process's resident memory now."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- serving ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, workers: int, threads: int,
          env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn as the README's production set-up runs it (docs/deploy/gunicorn.conf.py and
    geocrm.wsgi:app; only the address, workers and threads given here)."""
    port = free_port()
    full_env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "GEOCRM_TILE_URL": "",
                **(env or {})}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c",
         str(ROOT / "docs" / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
         "--access-logfile", "/dev/null", "geocrm.wsgi:app"],
        cwd=ROOT, env=full_env)
    # The master listens at once, but a worker answers only once it has imported the app
    # (10-30 s on a loaded machine): wait for an answer, or the first measured requests
    # (near_me.py's warm-up is 3 s) would time the workers' start instead.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/login")
            conn.getresponse().read()
            conn.close()
            return proc, port
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


# -- PostgreSQL ---------------------------------------------------------------------------
def pg_bench_url(base: str) -> str:
    """A fresh ``<db>_bench`` database beside ``base``, with PostGIS."""
    from sqlalchemy import create_engine, text

    from geocrm.config import normalise_database_url

    base = normalise_database_url(base)
    root, _, name = base.rpartition("/")
    bench = f"{name}_bench"
    admin = create_engine(f"{root}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{bench}"'))
        conn.execute(text(f'CREATE DATABASE "{bench}"'))
    admin.dispose()
    url = f"{root}/{bench}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return url


def drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    root, _, name = url.rpartition("/")
    admin = create_engine(f"{root}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
