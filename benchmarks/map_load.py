"""Territory map at scale: page bytes, data bytes and time to the first drawn cluster.

Builds a throwaway SQLite database with N accounts (100,000 by default) across 8 territories
tiling Helsinki, serves the app on 127.0.0.1 from this process, signs in as the manager in
headless Chromium (Debian's /usr/bin/chromium via Playwright) and opens the territory map.

Reports the HTML bytes of the page, the bytes of the points payload, and the seconds from
navigation start (``performance.timeOrigin``) to the first ``.marker-cluster`` element in
the DOM (a MutationObserver installed before the page loads records it) and to the map
being fully loaded (every territory's accounts clustered; the page clusters one territory
at a time, so the first clusters show before the last territory is done). The "detail"
line gives the page's own performance marks in ms: points request start / first byte /
end, data parsed, markers built, everything clustered.
Goal (issue 2): HTML ≤ 3 MB, first cluster ≤ 2 s.

    python benchmarks/map_load.py [--accounts N] [--territories 8] [--runs 2]
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import shapely  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from geocrm import create_app  # noqa: E402
from geocrm.accounts.services import normalise_name  # noqa: E402
from geocrm.auth.services import create_user  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.models import Account, Role, Stage, Territory, utcnow  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "benchmark-password"
BOX = (24.80, 60.12, 25.20, 60.28)  # west, south, east, north
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
# Installed before any page script: records when the first cluster icon enters the DOM and
# when the map reports every account clustered, in ms since navigation start.
OBSERVER = """
(() => {
  window.__bench = {};
  const seen = () => {
    if (!window.__bench.firstCluster && document.querySelector('.marker-cluster')) {
      window.__bench.firstCluster = performance.now();
    }
    const map = document.getElementById('territory-map');
    if (!window.__bench.ready && map && map.getAttribute('data-state') === 'ready') {
      window.__bench.ready = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {
    childList: true, subtree: true, attributes: true, attributeFilter: ['data-state'],
  });
})();
"""


def seed(n_accounts: int, n_territories: int, seed_value: int = 42) -> None:
    """A manager, a grid of territories, and ``n_accounts`` accounts bulk-inserted."""
    manager = create_user("manager@bench.example.com", "Bench Manager", PASSWORD, Role.MANAGER)
    db.session.flush()
    west, south, east, north = BOX
    cols = max(1, (n_territories + 1) // 2)
    rows = 2 if n_territories > 1 else 1
    width, height = (east - west) / cols, (north - south) / rows
    cells: list[tuple[int, tuple[float, float, float, float]]] = []
    for k in range(n_territories):
        r, c = divmod(k, cols)
        bounds = (
            west + c * width,
            south + r * height,
            west + (c + 1) * width,
            south + (r + 1) * height,
        )
        t = Territory(
            name=f"Territory {k + 1}", color=COLOURS[k % len(COLOURS)], manager_id=manager.id
        )
        t.set_geometry(shapely.box(*bounds))
        db.session.add(t)
        db.session.flush()
        cells.append((t.id, bounds))
    db.session.commit()

    rng = random.Random(seed_value)
    stages = list(Stage)
    now = utcnow()
    batch: list[dict[str, Any]] = []
    for i in range(n_accounts):
        territory_id, (w, s, e, n) = cells[i % len(cells)]
        name = f"Account {i + 1}"
        batch.append(
            {
                "name": name,
                "name_key": normalise_name(name),
                "lat": rng.uniform(s, n),
                "lon": rng.uniform(w, e),
                "stage": rng.choice(stages),
                "territory_id": territory_id,
                "created_at": now,
                "updated_at": now,
                "custom_fields": {},
            }
        )
        if len(batch) == 10_000:
            db.session.execute(insert(Account), batch)
            batch = []
    if batch:
        db.session.execute(insert(Account), batch)
    db.session.commit()


def measure(base_url: str, runs: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
        blocked: list[str] = []
        context.route(
            re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
            lambda route: (blocked.append(route.request.url), route.abort()),
        )
        context.add_init_script(OBSERVER)
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", "manager@bench.example.com")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        for run in range(runs):
            payload: dict[str, int] = {}

            def on_response(response: Any, payload: dict[str, int] = payload) -> None:
                if "points.json" in response.url:
                    payload["bytes"] = len(response.body())

            page.on("response", on_response)
            wall = time.perf_counter()
            response = page.goto("/maps/territories")
            assert response is not None and response.ok, response
            html_bytes = len(response.body())
            page.wait_for_selector(".marker-cluster", state="attached", timeout=120_000)
            page.wait_for_function("() => window.__bench && window.__bench.ready", timeout=120_000)
            wall = time.perf_counter() - wall
            bench = page.evaluate("() => window.__bench")
            marks = page.evaluate(
                "() => Object.fromEntries(performance.getEntriesByType('mark')"
                ".map(m => [m.name, m.startTime]))"
            )
            timing = page.evaluate(
                "() => { const r = performance.getEntriesByType('resource')"
                ".find(e => e.name.includes('points.json'));"
                " return r ? {start: r.startTime, ttfb: r.responseStart, end: r.responseEnd}"
                " : {}; }"
            )
            print("  detail ms:", {k: round(v) for k, v in {**marks, **timing}.items()})
            clusters = page.locator(".marker-cluster").count()
            page.remove_listener("response", on_response)
            results.append(
                {
                    "run": run + 1,
                    "html_bytes": html_bytes,
                    "data_bytes": payload.get("bytes", -1),
                    "first_cluster_s": bench["firstCluster"] / 1000,
                    "ready_s": bench["ready"] / 1000,
                    "wall_s": wall,
                    "clusters": clusters,
                    "blocked": len(blocked),
                }
            )
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--territories", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="page loads (first is cold)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="geocrm-map-bench-") as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
                "SECRET_KEY": "benchmark",
                "GEOCRM_TILE_URL": "",
                "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            }
        )
        t0 = time.perf_counter()
        with app.app_context():
            db.create_all()
            seed(args.accounts, args.territories)
            db.session.remove()
        seeded = time.perf_counter() - t0
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request lines
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            results = measure(f"http://127.0.0.1:{server.server_port}", args.runs)
        finally:
            server.shutdown()
            server.server_close()
            with app.app_context():
                db.engine.dispose()

    print(
        f"territory map: {args.accounts:,} accounts, {args.territories} territories "
        f"(seeded in {seeded:.1f} s), headless Chromium 1280x800, no tiles"
    )
    header = (
        f"{'run':>3}  {'HTML bytes':>11}  {'data bytes':>11}  {'first cluster s':>15}  "
        f"{'all clustered s':>15}  {'clusters':>8}  {'external reqs':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['run']:>3}  {r['html_bytes']:>11,}  {r['data_bytes']:>11,}  "
            f"{r['first_cluster_s']:>15.2f}  {r['ready_s']:>15.2f}  {r['clusters']:>8}  "
            f"{r['blocked']:>13}"
        )

    def median(key: str) -> float:
        values = sorted(r[key] for r in results)
        return values[len(values) // 2]

    print(
        f"median: first cluster {median('first_cluster_s'):.2f} s, "
        f"all clustered {median('ready_s'):.2f} s"
    )
    worst = max(results, key=lambda r: r["first_cluster_s"])
    ok = worst["html_bytes"] <= 3_000_000 and worst["first_cluster_s"] <= 2.0
    print(
        f"goal HTML <= 3 MB and first cluster <= 2 s: {'met' if ok else 'NOT met'} "
        f"(worst run {worst['run']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
