"""Lighthouse accessibility and best-practices scores of the field app's *Today* screen.

Lighthouse is not a dependency of the project: install it outside the repository once,
``mkdir -p /tmp/lh && cd /tmp/lh && npm install lighthouse@12`` (Node 20), and point
``--lighthouse`` (or ``LIGHTHOUSE``) at ``/tmp/lh/node_modules/.bin/lighthouse``.

The script serves the app (tiny world, SQLite temp file) on 127.0.0.1, signs the west rep
in through the login form in a Chromium profile exposed on a debugging port, runs
Lighthouse against ``/app/`` in that browser (``--port``) and prints the two scores
(goal: >= 0.95 each) and any failing audits.

    .venv/bin/python benchmarks/lighthouse_today.py [--lighthouse PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "lighthouse-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db_path: Path) -> tuple[object, int]:
    from werkzeug.serving import make_server

    from geocrm import create_app
    from geocrm.extensions import db
    from tests.factories import build_world

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "SECRET_KEY": "lighthouse",
            "GEOCRM_TILE_URL": "",
            "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            # Lighthouse emulates a phone's user agent in the page but not in the service
            # worker's fetches; "strong" protection would take that for a stolen cookie.
            "SESSION_PROTECTION": "basic",
        }
    )
    with app.app_context():
        db.create_all()
        build_world(PASSWORD)
        db.session.remove()

    def log(environ, start_response):  # type: ignore[no-untyped-def]
        if os.environ.get("LH_DEBUG") and environ["PATH_INFO"] == "/app/":
            print("DBG", environ.get("HTTP_USER_AGENT"), environ.get("HTTP_COOKIE", "")[:40])
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, log, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port


def signed_in_chromium(base: str, chrome: str, profile: Path, port: int) -> tuple[object, object]:
    """Chromium with a remote-debugging port, signed in through the real login form, so the
    session cookie is in the profile for every request (the service worker's too)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    context = pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=chrome,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--remote-debugging-port={port}",
        ],
    )
    page = context.new_page()
    page.goto(f"{base}/login?next=/app/")
    page.fill("#email", "west@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/app/**")
    page.wait_for_selector("body[data-ready='1']")
    page.close()
    return pw, context


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lighthouse",
        default=os.environ.get("LIGHTHOUSE", "/tmp/lh/node_modules/.bin/lighthouse"),
    )
    parser.add_argument("--chrome", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    parser.add_argument("--json", help="also keep Lighthouse's JSON report here")
    args = parser.parse_args()
    if not Path(args.lighthouse).exists():
        print(f"lighthouse: skipped, {args.lighthouse} missing (see this script's docstring)")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="geocrm-lh-"))
    try:
        server, port = serve(tmp / "lh.sqlite")
        base = f"http://127.0.0.1:{port}"
        debug_port = free_port()
        pw, context = signed_in_chromium(base, args.chrome, tmp / "profile", debug_port)
        out = tmp / "report.json"
        cmd = [
            args.lighthouse,
            f"{base}/app/",
            "--only-categories=accessibility,best-practices",
            "--output=json",
            f"--output-path={out}",
            "--quiet",
            "--form-factor=mobile",
            "--screenEmulation.mobile",
            "--screenEmulation.width=360",
            "--screenEmulation.height=740",
            "--screenEmulation.deviceScaleFactor=2",
            f"--port={debug_port}",
        ]
        env = {**os.environ, "CHROME_PATH": args.chrome}
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        finally:
            context.close()  # type: ignore[attr-defined]
            pw.stop()  # type: ignore[attr-defined]
        final = report_url = None
        if out.exists():
            report_url = json.loads(out.read_text()).get("finalDisplayedUrl")
            final = urllib.parse.urlsplit(report_url or "").path
        if final != "/app/":
            print(f"lighthouse ended on {report_url!r}, not the app (signed out?)")
            return 1
        if proc.returncode:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            return 1
        report = json.loads(out.read_text())
        if args.json:
            shutil.copy(out, args.json)
        for key in ("accessibility", "best-practices"):
            cat = report["categories"][key]
            score = cat["score"]
            verdict = "OK" if score >= 0.95 else "below the 0.95 goal"
            print(
                f"lighthouse {report['lighthouseVersion']} /app/ (Today) {key}: {score:.2f}"
                f" -> {verdict}"
            )
            for ref in cat["auditRefs"]:
                audit = report["audits"][ref["id"]]
                if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                    print(f"  failing: {ref['id']} ({audit['title']})")
        server.shutdown()  # type: ignore[attr-defined]
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
