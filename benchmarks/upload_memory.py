"""Upload memory benchmark (issue 18): what an upload and its preview pages cost the worker.

Each scenario runs in a fresh process (its own SQLite database, an admin signed in through a
test client) and reports seconds and resident memory:

* **accounts CSV** (``--rows``, default 600,000): the upload (``POST /imports/``), then three
  views of the mapping page; for each, the seconds, the process's peak RSS so far and how
  much its RSS grew;
* **accounts .xlsx** (``--xlsx-rows``, default 100,000, shared strings as Excel writes them):
  the upload, three views of the mapping page (streamed from disk, first rows only), then the
  import itself (every row);
* **territory file** (``--polygons``, default 40,000 small squares as GeoJSON, ~7 MB): the
  upload, then the preview page.

    python benchmarks/upload_memory.py [--rows N] [--xlsx-rows N] [--polygons N]
                                       [--only csv|xlsx|territories]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # geocrm ahead of benchmarks/

from _common import PASSWORD, bench_app, peak_mb, rss_mb  # noqa: E402


def make_csv(rows: int) -> bytes:
    rnd = random.Random(7)
    out = io.StringIO()
    out.write("External ID,Company,Address,Latitude,Longitude,Phone,Stage\n")
    for i in range(rows):
        out.write(f"E{i:07d},Kahvila {rnd.randint(1, 99999)},Katu {rnd.randint(1, 400)},"
                  f"{rnd.uniform(60.1, 60.3):.5f},{rnd.uniform(24.8, 25.2):.5f},"
                  f"+358 40 {rnd.randint(0, 9_999_999):07d},lead\n")
    return out.getvalue().encode()


def make_xlsx(rows: int) -> bytes:
    """The CSV case's rows as a workbook (openpyxl's normal writer: shared strings and a
    <dimension>, as Excel saves)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in make_csv(rows).decode().splitlines():
        cells: list[Any] = line.split(",")
        if cells[0] != "External ID":
            cells[3], cells[4] = float(cells[3]), float(cells[4])
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_geojson(polygons: int) -> bytes:
    side = int(polygons ** 0.5) + 1
    step = 0.5 / side
    features = []
    for k in range(polygons):
        x, y = 24.5 + (k % side) * step, 60.0 + (k // side) * step
        ring = [[round(x, 6), round(y, 6)], [round(x + step, 6), round(y, 6)],
                [round(x + step, 6), round(y + step, 6)], [round(x, 6), round(y + step, 6)],
                [round(x, 6), round(y, 6)]]
        features.append({"type": "Feature", "properties": {"name": f"T{k}"},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _app(tmp: str) -> Any:
    from geocrm.auth.services import create_user
    from geocrm.extensions import db
    from geocrm.models import Role

    app = bench_app(f"sqlite:///{tmp}/bench.sqlite", WTF_CSRF_ENABLED=False, TESTING=True,
                    GEOCRM_GEOCODER="off", MAX_CONTENT_LENGTH=512 * 2**20)
    app.instance_path = tmp
    with app.app_context():
        create_user("admin@bench.local", "Admin", PASSWORD, Role.ADMIN)
        db.session.commit()
    return app


class Steps(list):  # type: ignore[type-arg]
    """The steps of one scenario, each printed as it is measured (a slow one shows progress)."""

    def append(self, item: Any) -> None:
        print("  ", item, flush=True)
        super().append(item)


def _step(name: str, started: float, before: float, out: list[dict[str, Any]]) -> None:
    out.append({"step": name, "s": round(time.perf_counter() - started, 2),
                "rss_growth_mb": round(rss_mb() - before, 1), "peak_mb": round(peak_mb(), 1)})


def run_csv(rows: int, queue: Any) -> None:
    data = make_csv(rows)
    out: list[dict[str, Any]] = Steps()
    out.append({"step": f"file {len(data) / 2**20:.1f} MB, {rows} rows"})
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(tmp)
        client = app.test_client()
        client.post("/login", data={"email": "admin@bench.local", "password": PASSWORD})
        base, t = rss_mb(), time.perf_counter()
        out.append({"step": "baseline", "rss_mb": round(base, 1), "peak_mb": round(peak_mb(), 1)})
        r = client.post("/imports/", data={"file": (io.BytesIO(data), "big.csv"), "source": "erp",
                                           "encoding": ""}, content_type="multipart/form-data")
        del data
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        _step("upload", t, base, out)
        for k in range(3):
            before, t = rss_mb(), time.perf_counter()
            page = client.get(r.location)
            assert page.status_code == 200, page.status_code
            _step(f"mapping page view {k + 1}", t, before, out)
    queue.put(list(out))


def run_xlsx(rows: int, queue: Any) -> None:
    data = make_xlsx(rows)
    out: list[dict[str, Any]] = Steps()
    out.append({"step": f"file {len(data) / 2**20:.1f} MB, {rows} rows"})
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(tmp)
        client = app.test_client()
        client.post("/login", data={"email": "admin@bench.local", "password": PASSWORD})
        base, t = rss_mb(), time.perf_counter()
        out.append({"step": "baseline", "rss_mb": round(base, 1), "peak_mb": round(peak_mb(), 1)})
        r = client.post("/imports/", data={"file": (io.BytesIO(data), "big.xlsx"), "source": "erp",
                                           "encoding": ""}, content_type="multipart/form-data")
        del data
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        _step("upload", t, base, out)
        for k in range(3):
            before, t = rss_mb(), time.perf_counter()
            page = client.get(r.location)
            assert page.status_code == 200, page.status_code
            _step(f"mapping page view {k + 1}", t, before, out)
        before, t = rss_mb(), time.perf_counter()
        done = client.post(r.location, data={"external_id": "External ID", "name": "Company",
                                             "address": "Address", "lat": "Latitude",
                                             "lon": "Longitude", "phone": "Phone"})
        assert done.status_code == 200, done.status_code
        assert f"inserted: <strong>{rows:,}</strong>" in done.get_data(as_text=True) or \
            f"inserted: <strong>{rows}</strong>" in done.get_data(as_text=True)
        _step("import (every row)", t, before, out)
    queue.put(list(out))


def run_territories(polygons: int, queue: Any) -> None:
    data = make_geojson(polygons)
    out: list[dict[str, Any]] = Steps()
    out.append({"step": f"file {len(data) / 2**20:.1f} MB, {polygons} polygons"})
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(tmp)
        client = app.test_client()
        client.post("/login", data={"email": "admin@bench.local", "password": PASSWORD})
        base, t = rss_mb(), time.perf_counter()
        out.append({"step": "baseline", "rss_mb": round(base, 1), "peak_mb": round(peak_mb(), 1)})
        r = client.post("/territories/import", data={"file": (io.BytesIO(data), "many.geojson")},
                        content_type="multipart/form-data")
        assert r.status_code == 302, r.status_code
        _step("upload", t, base, out)
        before, t = rss_mb(), time.perf_counter()
        page = client.get(r.location)
        out.append({"status": page.status_code})
        _step("preview page", t, before, out)
    queue.put(list(out))


def _in_fresh_process(target: Any, arg: int) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(arg, queue))
    proc.start()
    result = queue.get(timeout=1800)
    proc.join()
    return list(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--polygons", type=int, default=40_000)
    parser.add_argument("--only", choices=["csv", "xlsx", "territories"])
    args = parser.parse_args()
    if args.only in (None, "csv"):
        print("accounts CSV:")
        _in_fresh_process(run_csv, args.rows)
    if args.only in (None, "xlsx"):
        print("accounts .xlsx:")
        _in_fresh_process(run_xlsx, args.xlsx_rows)
    if args.only in (None, "territories"):
        print("territory file:")
        _in_fresh_process(run_territories, args.polygons)


if __name__ == "__main__":
    main()
