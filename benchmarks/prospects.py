"""Look-alike prospects: one candidate search over a region of many places.

    python benchmarks/prospects.py [--places 60000] [--accounts 5000] [--runs 5]

(``--accounts 50000`` shows a large company: the search reads only the accounts near the
places it judges, so it grows with the places, not the company.)

A synthetic region (the demo extract has about 1,300 places): ``--places`` named places in
160 categories over a 45 x 45 km box, saved with ``places.poi.save_pois`` where the app reads
it; a company on SQLite with ``--accounts`` accounts (a fifth customers, with categories;
a tenth made from places by their OSM id, a tenth the same business under another spelling
within 50 m, which the duplicate rule must find), four territories and a manager of two.

Measured, per query, the whole service a page's search calls
(``geocrm.prospecting.services.look_alikes``: the customers' profile from the database, the
area and scope masks, the known OSM ids, the ranking, and the best places cleaned and matched
in batches by the import's matcher over the accounts near them, until 200 new ones): a
territory, a 3 km radius, a drawn polygon and the manager's whole scope; and the pure
ranking (``places.poi.rank``) over all places alone. Goal: <= 300 ms per query.

Prints ``uptime`` first: the machine is shared.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BOX = (24.60, 60.05, 25.40, 60.45)  # west, south, east, north


def synthetic_index(n: int, rng: random.Random):  # noqa: ANN201 (places.poi.PoiIndex)
    from places.poi import PoiIndex

    keys = ("shop", "amenity", "office", "craft")
    categories = sorted({f"{keys[k % 4]}=kind{k}" for k in range(160)})
    lon = np.array([rng.uniform(BOX[0], BOX[2]) for _ in range(n)])
    lat = np.array([rng.uniform(BOX[1], BOX[3]) for _ in range(n)])
    cat = np.array([min(int(rng.expovariate(1 / 25)), 159) for _ in range(n)], dtype=np.int32)
    details = []
    for i in range(n):
        d: dict[str, object] = {"name": f"Yritys {i} {categories[cat[i]].split('=')[1]}"}
        if i % 3 == 0:
            d["opening_hours"] = "Mo-Fr 09:00-17:00"
        if i % 2 == 0:
            d["addr"] = {"street": f"Katu {i % 900}", "housenumber": str(i % 97 + 1),
                         "city": "Helsinki", "postcode": f"00{i % 990:03d}"}
        details.append(d)
    return PoiIndex(lon, lat, np.zeros(n, dtype=np.uint8), np.arange(1, n + 1, dtype=np.int64),
                    cat, categories, details, {"format": 1, "name": "synthetic", "places": n})


def _empty_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from geocrm.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()


def main() -> int:  # noqa: PLR0915 (a script: seed, then measure)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=60_000)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default="",
                        help="a THROWAWAY PostgreSQL+PostGIS database (its public schema is "
                             "dropped and made again); default: a new SQLite file")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    import shapely
    from sqlalchemy import insert

    from geocrm import create_app
    from geocrm.auth.services import create_user
    from geocrm.core.names import normalise_name
    from geocrm.core.region_places import pois_path
    from geocrm.extensions import db
    from geocrm.models import Account, Role, Territory, User
    from geocrm.prospecting.services import look_alikes
    from places.poi import category_weights, rank, save_pois

    rng = random.Random(16)
    tmp = Path(tempfile.mkdtemp(prefix="prospects-bench-"))
    index = synthetic_index(args.places, rng)
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    if args.database_url:
        _empty_postgres(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY": "bench", "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
                      "GEOCRM_TILE_URL": "", "GEOCRM_GEOCODER": "off"})
    app.instance_path = str(tmp / "instance")
    with app.app_context():
        save_pois(index, pois_path())
        db.create_all()
        manager = create_user("m@bench.example.com", "Manager", "bench-password-1", Role.MANAGER)
        db.session.flush()
        mid_lon, mid_lat = (BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2
        quads = [(BOX[0], BOX[1], mid_lon, mid_lat), (mid_lon, BOX[1], BOX[2], mid_lat),
                 (BOX[0], mid_lat, mid_lon, BOX[3]), (mid_lon, mid_lat, BOX[2], BOX[3])]
        territories = []
        for k, q in enumerate(quads):
            t = Territory(name=f"T{k}", color="#123456",
                          manager_id=manager.id if k < 2 else None)
            t.set_geometry(shapely.box(*q))
            db.session.add(t)
            territories.append(t)
        db.session.flush()
        rows = []
        for a in range(args.accounts):
            i = rng.randrange(args.places)
            kind = a % 10
            name = index.details[i]["name"] if kind < 2 else f"Asiakas {a}"
            if kind == 1:
                name = str(name).upper() + " OY"  # the same business, another spelling
            lon, lat = float(index.lon[i]), float(index.lat[i])
            if kind >= 2:
                lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
            quad = (2 if lat >= mid_lat else 0) + (1 if lon >= mid_lon else 0)
            rows.append({
                "name": name, "name_key": normalise_name(str(name)), "lat": lat, "lon": lon,
                "territory_id": territories[quad].id,
                "stage": "customer" if a % 5 == 0 else "prospect",
                "category": index.categories[int(index.category[i])].split("=")[1],
                "source": "osm" if kind == 0 else "manual",
                "external_id": index.ref(i) if kind == 0 else None,
                "visit_minutes": 30, "priority": 3, "custom_fields": {}, "archived": False,
                "version": 1})
        # one OSM id once (the unique rule): later repeats keep their name, lose the id
        seen: set[str] = set()
        for r in rows:
            if r["external_id"] in seen:
                r["external_id"], r["source"] = None, "manual"
            elif r["external_id"]:
                seen.add(str(r["external_id"]))
        db.session.execute(insert(Account), rows)
        db.session.commit()
        user = db.session.get(User, manager.id)
        t0 = territories[0]
        polygon = {"type": "Polygon", "coordinates": [[
            [24.70, 60.10], [24.95, 60.12], [24.98, 60.24], [24.72, 60.22], [24.70, 60.10]]]}
        queries = {
            "territory": {"area": {"territory": t0.id}},
            "radius 3 km": {"area": {"lat": 60.15, "lon": 24.80, "radius_m": 3000}},
            "drawn polygon": {"area": {"polygon": polygon}},
            "whole scope": {"area": {}},
        }
        print(f"region: {len(index)} places, {len(index.categories)} categories; "
              f"{args.accounts} accounts ({args.accounts // 5} customers); manager of 2 of "
              f"4 territories; {db.engine.dialect.name}")
        worst = 0.0
        look_alikes(user, queries["territory"])  # warm: the index read once per process
        for label, body in queries.items():
            times, found = [], 0
            for _ in range(args.runs):
                start = time.perf_counter()
                result = look_alikes(user, {**body, "limit": 200})
                times.append((time.perf_counter() - start) * 1000)
                found = len(result.candidates)
                db.session.rollback()
            med = statistics.median(times)
            worst = max(worst, med)
            print(f"  look_alikes {label:14s}: median {med:6.1f} ms, max {max(times):6.1f} ms "
                  f"({found} candidates, {result.in_area} places in the area, "
                  f"{result.known} known skipped)")
        weights = category_weights(index, {f"kind{k}": 1 / (1 + k) for k in range(40)})
        anchors = [(rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3]))
                   for _ in range(1000)]
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            first = [r.i for _, r in zip(range(200), rank(index, weights, anchors=anchors),
                                         strict=False)]
            times.append((time.perf_counter() - start) * 1000)
        print(f"  places.poi.rank over all {len(index)} places, 1000 anchors, first "
              f"{len(first)}: median {statistics.median(times):.1f} ms")
        ok = worst <= 300
        print(f"goal <= 300 ms per query: {'met' if ok else 'NOT met'} (worst median "
              f"{worst:.1f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
