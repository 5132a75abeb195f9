"""Import benchmark: 100,000 CSV rows into a fresh SQLite file (goal ≥ 20,000 rows/s).

Prints rows/s for a first import and for a re-import of the same file (every row matched,
nothing written). With ``GEOCRM_TEST_POSTGRES_URL`` set it measures PostgreSQL too, in a
database of its own that it creates and drops.

    python benchmarks/import.py [--rows N]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geocrm import create_app  # noqa: E402
from geocrm.config import normalise_database_url  # noqa: E402
from geocrm.core.transaction import transaction  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.imports.services import import_accounts  # noqa: E402
from geocrm.models import Territory  # noqa: E402

WORDS = ["Kahvila", "Kirja", "Apteekki", "Kukka", "Leipomo", "Optikko", "Studio", "Baari",
         "Market", "Sport", "Design", "Koru", "Musiikki", "Lelu", "Parturi", "Sushi"]
STREETS = ["Mannerheimintie", "Aleksanterinkatu", "Fredrikinkatu", "Hämeentie", "Mechelininkatu",
           "Runeberginkatu", "Sturenkatu", "Tehtaankatu", "Itäinen Papinkatu", "Kaisaniemenkatu"]


def make_csv(rows: int) -> bytes:
    """Plausible accounts over greater Helsinki; deterministic."""
    rng = random.Random(7)
    out = io.StringIO()
    out.write("External ID,Company,Address,Postcode,Latitude,Longitude,Stage,Opening hours,"
              "Tags,Value\n")
    stages = ["lead", "prospect", "customer", "lost"]
    for i in range(rows):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        lat = 60.10 + rng.random() * 0.20
        lon = 24.70 + rng.random() * 0.50
        out.write(
            f"E{i},{name},{rng.choice(STREETS)} {i // 10 + 1} {chr(65 + i % 10)},"
            f"00{rng.randint(100, 990)},"
            f"{lat:.6f},{lon:.6f},{rng.choice(stages)},Mo-Fr 09:00-17:00,"
            f"{rng.choice(['retail', 'horeca', 'health'])},{rng.randint(0, 50000)}\n"
        )
    return out.getvalue().encode()


def territories() -> None:
    """Eight vertical strips tiling the area, as a company would have."""
    for k in range(8):
        t = Territory(name=f"T{k}", color="#336699")
        t.set_geometry(shapely.box(24.70 + k * 0.0625, 60.10, 24.70 + (k + 1) * 0.0625, 60.30))
        db.session.add(t)
    db.session.commit()


def measure(url: str, data: bytes, rows: int, label: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        territories()
        for run in ("first import", "re-import"):
            start = time.perf_counter()
            with transaction():  # the caller commits: its cost is part of the import
                result = import_accounts(data, filename="bench.csv", source="bench")
            took = time.perf_counter() - start
            print(f"{label:<10} {run:<13} {rows:>8} rows {took:7.2f} s {rows / took:10,.0f} rows/s"
                  f"  ({result.status}: inserted {result.inserted}, unchanged {result.unchanged})")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = make_csv(args.rows)
    print(f"CSV: {args.rows} rows, {len(data) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/bench.sqlite", data, args.rows, "sqlite")
    pg = os.environ.get("GEOCRM_TEST_POSTGRES_URL")
    if pg:
        url = make_url(normalise_database_url(pg))
        name = f"{url.database}_bench_import"
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
            measure(target.render_as_string(hide_password=False), data, args.rows, "postgresql")
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
