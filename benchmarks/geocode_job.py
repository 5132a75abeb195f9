"""The background geocoding job end to end: accounts without coordinates placed from their
addresses (issue 14), on a fresh SQLite file.

Accounts are made from the address points of the bundled central-Helsinki extract (street,
house number, postcode, city), each repeated ``--copies`` times (a customer list has chains and
branches at the same address), then :func:`geocrm.geocoding.services.geocode_pending` runs
with the region's own index, as the job does after an import: it asks the geocoder, then moves
the pins in bulk (territory, history, audit). Prints accounts/s (wall and CPU), the grades,
and the load of the machine. A second run asks a self-hosted-engine client (Nominatim dialect,
against the local fake server of the tests) the same addresses twice: the second pass is
answered by the cache.

    python benchmarks/geocode_job.py [--copies N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from geocrm import create_app  # noqa: E402
from geocrm.core.accounts import normalise_address, normalise_name  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.geocoding import services  # noqa: E402
from geocrm.geocoding.engine import build_address_index, current_geocoder  # noqa: E402
from geocrm.models import Account  # noqa: E402
from geocrm.region.services import demo_extract  # noqa: E402
from places.geocode import AddressQuery  # noqa: E402
from places.geocode.engines import NominatimGeocoder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=10, help="accounts per address point")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                          "SECRET_KEY": "bench", "GEOCRM_GEOCODER": "region"})
        app.instance_path = folder
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            index = build_address_index(demo_extract(), country="FI")
            print(f"address index: {index.addresses} addresses in "
                  f"{time.perf_counter() - started:.2f} s")
            rows = []
            for f in index.fields:
                if not (f.get("street") and f.get("housenumber")):
                    continue
                address = f"{f['street']} {f['housenumber']}"
                for _ in range(args.copies):
                    name = f"Shop {len(rows)}"
                    rows.append({"name": name, "name_key": normalise_name(name),
                                 "address": address, "address_key": normalise_address(address),
                                 "postcode": f.get("postcode"), "city": f.get("city") or
                                 "Helsinki", "country": "FI", "source": "bench"})
            db.session.execute(insert(Account), rows)
            db.session.commit()
            marked = services.mark_pinless()
            db.session.commit()
            geocoder = current_geocoder()
            assert geocoder is not None
            wall, cpu = time.perf_counter(), time.process_time()
            run = services.geocode_pending(geocoder)
            db.session.commit()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"geocode job: {marked} accounts, {run.placed} placed in {wall:.2f} s wall "
                  f"({marked / wall:,.0f}/s), {cpu:.2f} s CPU ({marked / cpu:,.0f}/s); "
                  f"grades {run.by_confidence}, not found {run.not_found}")
            engine_cache(rows[:: args.copies][:300])
    print(f"load average: {os.getloadavg()[0]:.2f}")


def engine_cache(rows: list[dict[str, object]]) -> None:
    """A Nominatim client against the tests' local fake server: cold, then cached."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.geocode_fakes import FakeGeocodeServer

    fake = FakeGeocodeServer("nominatim")
    try:
        client = NominatimGeocoder(fake.url, rate=10_000, burst=100)
        queries = [AddressQuery(text=str(r["address"]), city=str(r["city"])) for r in rows]
        for label in ("cold", "cached"):
            started = time.perf_counter()
            client.forward_many(queries)
            took = time.perf_counter() - started
            print(f"nominatim client ({label}): {len(queries)} addresses in {took:.3f} s "
                  f"({len(queries) / took:,.0f}/s), {len(fake.requests)} requests so far")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
