"""Take the README tour's screenshots from a real demo database in headless Chromium.

Usage: ``.venv/bin/python scripts/screenshots.py [--out docs/screenshots]``. It builds a fresh
SQLite demo database in a temporary folder, serves the app on loopback, and saves PNGs. Tiles are
switched off (no network here), so maps show territories and markers on a plain background.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.serving import make_server  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--only", choices=("all", "languages"), default="all",
                        help="languages: just the README's Korean and Japanese screenshots")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    os.environ.pop("DATABASE_URL", None)
    from geocrm import create_app
    from geocrm.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'demo.sqlite'}",
                      "SECRET_KEY": "screenshots", "GEOCRM_TILE_URL": ""})
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(args=["demo"], catch_exceptions=False)
    print(result.output[-2000:])
    from geocrm.demo import DEMO_PASSWORD as password
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        def login(page, email: str) -> None:
            page.goto(f"{base}/login")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/home")

        language_shots(browser, base, out, login, app)
        if args.only == "languages":
            browser.close()
            server.shutdown()
            print(f"screenshots in {out}")
            return
        desk = browser.new_context(viewport={"width": 1280, "height": 800})
        page = desk.new_page()
        page.goto(f"{base}/login")
        page.screenshot(path=str(out / "01-login.png"))
        login(page, os.environ.get("SHOT_MANAGER", "manager@demo.geocrm.local"))
        page.screenshot(path=str(out / "02-home.png"))
        page.goto(f"{base}/maps/territories")
        page.wait_for_timeout(2500)
        page.screenshot(path=str(out / "03-territory-map.png"))
        page.goto(f"{base}/accounts/")
        page.screenshot(path=str(out / "04-accounts.png"))
        with app.app_context():  # the account with the longest history makes the best 360
            from sqlalchemy import func, select

            from geocrm.models import Interaction

            busiest = db.session.execute(
                select(Interaction.account_id, func.count()).group_by(Interaction.account_id)
                .order_by(func.count().desc(), Interaction.account_id).limit(1)).first()[0]
        page.goto(f"{base}/accounts/{busiest}")
        page.screenshot(path=str(out / "05-account.png"), full_page=True)
        page.goto(f"{base}/imports/")
        page.screenshot(path=str(out / "06-import.png"))
        page.goto(f"{base}/crm/pipeline")
        page.screenshot(path=str(out / "08-pipeline.png"))
        page.goto(f"{base}/crm/reports/coverage")
        page.screenshot(path=str(out / "09-reports.png"), full_page=True)
        page.goto(f"{base}/territories/")
        page.wait_for_selector(".leaflet-container")
        page.wait_for_timeout(2500)
        page.screenshot(path=str(out / "10-territories.png"))
        desk.close()
        # The planner plans tomorrow for two reps as a background job and shows the routes.
        desk = browser.new_context(viewport={"width": 1280, "height": 900})
        page = desk.new_page()
        login(page, "planner@demo.geocrm.local")
        page.goto(f"{base}/planning/")
        for box in page.locator("input[name=rep]").all()[:2]:
            box.check()
        page.click("#plan-submit")
        page.wait_for_selector("#route-map .leaflet-container", timeout=120_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "11-planner.png"))
        desk.close()
        phone = browser.new_context(
            **pw.devices["Pixel 7"], geolocation={"latitude": 60.1690, "longitude": 24.9410,
                                                  "accuracy": 10},
            permissions=["geolocation"],
        )
        page = phone.new_page()
        page.goto(f"{base}/login?next=/app/")
        page.fill("#email", "rep4@demo.geocrm.local")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/app/**")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        page.wait_for_timeout(1500)
        print("field app at", page.url)
        page.screenshot(path=str(out / "07-field-today.png"))
        phone.close()
        browser.close()
    server.shutdown()
    print(f"screenshots in {out}")


def language_shots(browser, base: str, out: Path, login, app) -> None:  # noqa: ANN001
    """The README's language section: an account in Korean, the territory map in Japanese
    (browsers that ask for ko-KR / ja-JP in Seoul's and Tokyo's zones; CJK fonts from
    Debian's fonts-nanum and fonts-ipafont-gothic)."""
    from sqlalchemy import func, select

    from geocrm.extensions import db
    from geocrm.models import Interaction

    with app.app_context():
        busiest = db.session.execute(
            select(Interaction.account_id, func.count()).group_by(Interaction.account_id)
            .order_by(func.count().desc(), Interaction.account_id).limit(1)).first()[0]
    korean = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR",
                                 timezone_id="Asia/Seoul",
                                 extra_http_headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    page = korean.new_page()
    login(page, "manager@demo.geocrm.local")
    page.goto(f"{base}/accounts/{busiest}")
    page.screenshot(path=str(out / "12-account-ko.png"))
    korean.close()
    japanese = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP",
                                   timezone_id="Asia/Tokyo",
                                   extra_http_headers={"Accept-Language": "ja-JP,ja;q=0.9"})
    page = japanese.new_page()
    login(page, "manager@demo.geocrm.local")
    page.goto(f"{base}/maps/territories")
    page.wait_for_selector("#territory-map[data-state='ready']")
    page.wait_for_timeout(2500)
    page.screenshot(path=str(out / "13-territory-map-ja.png"))
    japanese.close()


if __name__ == "__main__":
    main()
