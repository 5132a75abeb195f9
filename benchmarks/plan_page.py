"""The plan result page for 6 reps x 20 stops: bytes and seconds until a planner can use it.

Builds a throwaway SQLite database with a planner, ``--reps`` reps and a finished draft run
whose every rep has ``--stops`` stops and legs along the roads (``--line-points`` points per
leg, as a region's road router stores them after thinning), serves the app on 127.0.0.1 from
this process, signs in in headless Chromium (Debian's /usr/bin/chromium via Playwright) and
opens the run page ``--runs`` times.

Reports the HTML bytes of the page, the bytes of everything the page fetched (scripts, styles,
data; the first run is cold, later runs use the browser cache), when the HTML had arrived
(the server's share), and the seconds from navigation start to *usable*: the page marks
``geocrm:plan-ready`` when the map shows every route and every stop table has its edit
controls (an older page without the mark: the ``load`` event, when folium's inline script
has drawn everything). Any request off
127.0.0.1 is blocked and counted. Goal (issue 13): <= 200 KB and <= 1 s to usable.

    python benchmarks/plan_page.py [--reps 6] [--stops 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from geocrm import create_app  # noqa: E402
from geocrm.auth.services import create_user  # noqa: E402
from geocrm.core.names import normalise_name  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.models import Account, Role, Stage, utcnow  # noqa: E402
from geocrm.models.planning import Job, JobStatus, PlanRun, PlanStatus, RoutePlan, RouteStop  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
PASSWORD = "benchmark-password"
CENTRE = (60.17, 24.94)
READY = """
(() => {
  window.__bench = {};
  window.addEventListener('load', () => { window.__bench.load = performance.now(); });
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      if (e.name === 'geocrm:plan-ready') { window.__bench.ready = e.startTime; }
    }
  }).observe({ type: 'mark', buffered: true });
})();
"""


def _road(a: tuple[float, float], b: tuple[float, float], n: int,
          rng: random.Random) -> list[list[float]]:
    """A plausible street line from a to b: ``n`` points on a staircase with some jitter."""
    out = []
    for i in range(n):
        f = i / max(1, n - 1)
        step = math.floor(f * 8) / 8
        lat = a[0] + (b[0] - a[0]) * (step if i % 2 else f)
        lon = a[1] + (b[1] - a[1]) * (f if i % 2 else step)
        out.append([round(lat + rng.uniform(-2e-5, 2e-5), 5),
                    round(lon + rng.uniform(-2e-5, 2e-5), 5)])
    out[0], out[-1] = [round(a[0], 5), round(a[1], 5)], [round(b[0], 5), round(b[1], 5)]
    return out


def seed(reps: int, stops: int, line_points: int) -> int:
    """A planner, reps with homes, their accounts and one finished draft run; its id."""
    rng = random.Random(13)
    planner = create_user("planner@bench.example.com", "Bench Planner", PASSWORD, Role.PLANNER)
    db.session.flush()
    day = date.today() + timedelta(days=1)
    job = Job(kind="plan", func="bench", status=JobStatus.DONE, progress=1.0,
              created_by_id=planner.id, finished_at=utcnow())
    db.session.add(job)
    db.session.flush()
    run = PlanRun(status=PlanStatus.DRAFT, created_by_id=planner.id, start_date=day,
                  end_date=day, params={}, result={"unassigned": [], "notes": [], "days": [],
                                                     "mode": "days"}, job_id=job.id)
    db.session.add(run)
    db.session.flush()
    for r in range(reps):
        home = (CENTRE[0] + rng.uniform(-0.03, 0.03), CENTRE[1] + rng.uniform(-0.06, 0.06))
        rep = create_user(f"rep{r}@bench.example.com", f"Rep {r + 1} Virtanen", PASSWORD,
                          Role.REP)
        rep.home_lat, rep.home_lon = home
        accounts = []
        for s in range(stops):
            name = f"Asiakas {r + 1}-{s + 1} Oy"
            a = Account(name=name, name_key=normalise_name(name),
                        lat=home[0] + rng.uniform(-0.02, 0.02),
                        lon=home[1] + rng.uniform(-0.04, 0.04), stage=Stage.CUSTOMER,
                        address=f"Mannerheimintie {s + 1}", city="Helsinki", custom_fields={})
            db.session.add(a)
            accounts.append(a)
        db.session.flush()
        points = [home] + [(a.lat, a.lon) for a in accounts] + [home]
        legs = [{"s": 300 + 10 * i, "m": 2500 + 50 * i,
                 "line": _road(points[i], points[i + 1], line_points, rng)}
                for i in range(len(points) - 1)]
        plan = RoutePlan(rep_id=rep.id, plan_date=day, status=PlanStatus.DRAFT,
                         created_by_id=planner.id, run_id=run.id, distance_m=60_000.0,
                         duration_s=8 * 3600,
                         params={"home": list(home), "shift": [8 * 3600, 17 * 3600],
                                 "lunch": [12 * 3600, 1800], "day_start": 8 * 3600,
                                 "day_end": 16 * 3600, "return_travel_s": 600, "legs": legs,
                                 "legs_for": [a.id for a in accounts]})
        db.session.add(plan)
        db.session.flush()
        t = datetime.combine(day, datetime.min.time()) + timedelta(hours=6)  # UTC
        for s, a in enumerate(accounts):
            arrival = t + timedelta(minutes=10)
            db.session.add(RouteStop(plan_id=plan.id, seq=s + 1, account_id=a.id,
                                     arrival=arrival, start=arrival,
                                     departure=arrival + timedelta(minutes=15), travel_s=600,
                                     distance_m=2500.0))
            t = arrival + timedelta(minutes=15)
    db.session.commit()
    return int(run.id)


def measure(base_url: str, run_id: int, runs: int, dump: str = "") -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
        blocked: list[str] = []
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                      lambda route: (blocked.append(route.request.url), route.abort()))
        context.add_init_script(READY)
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", "planner@bench.example.com")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        for n in range(runs):
            response = page.goto(f"/planning/runs/{run_id}", wait_until="load")
            assert response is not None and response.ok, response
            html_bytes = len(response.body())
            if dump:
                Path(dump).write_bytes(response.body())
            page.wait_for_function(
                "() => window.__bench && (window.__bench.ready || "
                "(window.__bench.load && !document.querySelector('script[src*=plan_page]')))",
                timeout=60_000)
            bench = page.evaluate("() => window.__bench")
            fetched = page.evaluate(
                "() => performance.getEntriesByType('resource')"
                ".reduce((n, e) => n + (e.transferSize || 0), 0)")
            usable = bench.get("ready") or bench["load"]
            html_done = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].responseEnd")
            stops = page.locator(".stop-row").count()
            drawn = page.evaluate(
                "() => document.querySelectorAll('#route-map path.leaflet-interactive').length")
            results.append({"run": n + 1, "html": html_bytes, "fetched": fetched,
                            "usable": usable / 1000, "load": bench["load"] / 1000,
                            "html_done": html_done / 1000,
                            "stops": stops, "lines": drawn, "blocked": len(blocked),
                            "marked": bool(bench.get("ready"))})
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--stops", type=int, default=20)
    parser.add_argument("--line-points", type=int, default=40,
                        help="points per leg's road line (after thinning)")
    parser.add_argument("--runs", type=int, default=3, help="page loads (first is cold)")
    parser.add_argument("--dump", default="", help="write the page's HTML to this file")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="geocrm-plan-bench-") as tmp:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
            "SECRET_KEY": "benchmark", "GEOCRM_TILE_URL": "",
            "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        })
        with app.app_context():
            db.create_all()
            run_id = seed(args.reps, args.stops, args.line_points)
            db.session.remove()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            results = measure(f"http://127.0.0.1:{server.server_port}", run_id, args.runs,
                              args.dump)
        finally:
            server.shutdown()
            server.server_close()
            with app.app_context():
                db.engine.dispose()
    print(f"plan page: {args.reps} reps x {args.stops} stops, {args.line_points} road points "
          f"per leg, headless Chromium 1280x800, no tiles, load {os.getloadavg()[0]:.1f}")
    print(f"{'run':>3}  {'HTML bytes':>10}  {'fetched bytes':>13}  {'HTML in s':>9}  "
          f"{'usable s':>8}  {'load s':>6}  {'stop rows':>9}  {'lines':>5}  {'external':>8}")
    for r in results:
        print(f"{r['run']:>3}  {r['html']:>10,}  {r['fetched']:>13,}  {r['html_done']:>9.2f}  "
              f"{r['usable']:>8.2f}  "
              f"{r['load']:>6.2f}  {r['stops']:>9}  {r['lines']:>5}  {r['blocked']:>8}"
              f"{'' if r['marked'] else '  (no ready mark: load event)'}")
    worst = max(results, key=lambda r: r["usable"])
    ok = worst["html"] <= 200_000 and worst["usable"] <= 1.0
    print(f"goal <= 200 KB HTML and <= 1 s to usable: {'met' if ok else 'NOT met'} "
          f"(worst run {worst['run']}: {worst['html']:,} bytes, {worst['usable']:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
