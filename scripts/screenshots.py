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
    parser.add_argument("--only", choices=("all", "languages", "team", "people"), default="all",
                        help="languages: just the README's Korean and Japanese screenshots; "
                        "team: just the team day, daily report and mileage; people: just the "
                        "people, planning profile, calendar and notification screens")
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

        if args.only in ("all", "people"):
            people_shots(browser, base, out, login, app)
        if args.only in ("all", "team"):
            team_shots(browser, base, out, login, app, password)
        if args.only in ("team", "people"):
            browser.close()
            server.shutdown()
            print(f"screenshots in {out}")
            return
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


def seed_team_day(app) -> dict[str, int]:  # noqa: ANN001
    """Today's published plans for three of the manager's reps, stops an hour apart around
    now, and what they did so far: on time, late, an unplanned visit, a missed stop. Returns
    the reps' ids by name."""
    from datetime import timedelta
    from uuid import uuid4

    from sqlalchemy import select

    from geocrm.access import team_rep_ids, visible_accounts
    from geocrm.clock import local_today
    from geocrm.extensions import db
    from geocrm.models import (
        Account,
        Interaction,
        InteractionKind,
        PlanStatus,
        RoutePlan,
        RouteStop,
        User,
        utcnow,
    )

    with app.app_context():
        manager = db.session.scalars(select(User).where(
            User.email == "manager@demo.geocrm.local")).one()
        reps = list(db.session.scalars(select(User).where(User.id.in_(team_rep_ids(manager)))
                                       .order_by(User.id).limit(3)))
        now = utcnow().replace(second=0, microsecond=0)
        # (planned start vs now in hours, minutes late at check-in or None for no visit)
        days = [[(-3, 5), (-2, 40), (-1, 0), (1, None), (2, None)],
                [(-3, 0), (-2, None), (-1, 10), (1, None), (2, None)],
                [(-2, 0), (-1, 25), (1, None), (2, None), (3, None)]]
        for rep, stops in zip(reps, days, strict=False):
            accounts = list(db.session.scalars(visible_accounts(rep).where(
                Account.lat.is_not(None), Account.archived.is_(False)).order_by(Account.id)
                .limit(len(stops) + 1)))
            plan = RoutePlan(rep_id=rep.id, plan_date=local_today(), status=PlanStatus.PUBLISHED,
                             published_at=now - timedelta(hours=5))
            db.session.add(plan)
            db.session.flush()
            for seq, ((hours, late), account) in enumerate(zip(stops, accounts, strict=False), 1):
                start = now + timedelta(hours=hours)
                stop = RouteStop(plan_id=plan.id, seq=seq, account_id=account.id, arrival=start,
                                 start=start, departure=start + timedelta(minutes=30))
                db.session.add(stop)
                db.session.flush()
                if late is not None:
                    at = start + timedelta(minutes=late)
                    db.session.add(Interaction(
                        uuid=str(uuid4()), user_id=rep.id, account_id=account.id,
                        kind=InteractionKind.VISIT, occurred_at=at, checkin_at=at,
                        checkout_at=at + timedelta(minutes=25), checkin_lat=account.lat,
                        checkin_lon=account.lon, checkin_accuracy_m=12.0, distance_m=3.0,
                        route_stop_id=stop.id, outcome="interested",
                        notes="Talked through the spring order."))
            if rep is reps[1]:  # a visit the plan did not have
                extra = accounts[-1]
                at = now - timedelta(minutes=30)
                db.session.add(Interaction(
                    uuid=str(uuid4()), user_id=rep.id, account_id=extra.id,
                    kind=InteractionKind.VISIT, occurred_at=at, checkin_at=at,
                    checkin_lat=extra.lat, checkin_lon=extra.lon, checkin_accuracy_m=15.0,
                    distance_m=4.0, outcome="follow_up"))
        db.session.commit()
        return {r.email: r.id for r in reps}


def team_shots(browser, base: str, out: Path, login, app, password: str) -> None:  # noqa: ANN001
    """The team day (manager), a rep's submitted daily report with the manager's comment, and
    the month's mileage."""
    from geocrm.clock import local_today

    reps = seed_team_day(app)
    email, rep_id = next(iter(reps.items()))
    with app.app_context():
        day = local_today().isoformat()
    phone = browser.new_context(viewport={"width": 1280, "height": 900})
    page = phone.new_page()
    login(page, email)
    page.goto(f"{base}/team/reports")
    page.fill("#comment", "Two follow-ups booked; the café on the corner wants samples.")
    page.click("button[value=submit]")
    phone.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    login(page, "manager@demo.geocrm.local")
    page.goto(f"{base}/team/day")
    page.wait_for_selector("html[data-teamday-rendered='1']")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "14-team-day.png"), full_page=True)
    page.goto(f"{base}/team/reports/{rep_id}/{day}")
    page.fill("#body", "Good day. Send the samples on Monday.")
    page.click("#report-comments button[type=submit]")
    page.screenshot(path=str(out / "15-daily-report.png"), full_page=True)
    page.goto(f"{base}/team/mileage")
    page.screenshot(path=str(out / "16-mileage.png"))
    desk.close()


def people_shots(browser, base: str, out: Path, login, app) -> None:  # noqa: ANN001
    """People (the admin invites someone: the one-time link shows once), a rep's planning
    profile (a planner gives them skills and a bike), and a rep's calendar link and
    notification choices."""
    from sqlalchemy import select

    from geocrm.extensions import db
    from geocrm.models import User

    with app.app_context():
        rep_id = db.session.scalars(select(User.id).where(
            User.email == "rep4@demo.geocrm.local")).one()
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    login(page, "admin@demo.geocrm.local")
    page.goto(f"{base}/people/")
    page.fill("#email", "aino.virtanen@example.com")
    page.fill("#name", "Aino Virtanen")
    page.select_option("#territories", index=0)
    page.click("text=Make an invitation link")
    page.wait_for_selector("#issued-link")
    page.screenshot(path=str(out / "17-people.png"), full_page=True)
    desk.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    login(page, "planner@demo.geocrm.local")
    page.goto(f"{base}/people/{rep_id}/profile")
    page.fill("#skills", "forklift, first aid")
    page.select_option("#vehicle", "bike")
    page.click("#profile-form button.primary")
    page.wait_for_selector(".flash")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(out / "18-profile.png"), full_page=True)
    desk.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    login(page, "rep4@demo.geocrm.local")
    page.goto(f"{base}/calendar/")
    page.click("text=Make my calendar link")
    page.wait_for_selector("#feed-link")
    page.screenshot(path=str(out / "19-calendar.png"), full_page=True)
    page.goto(f"{base}/people/me")
    page.locator("section:has(#notify-form)").screenshot(path=str(out / "20-notifications.png"))
    desk.close()


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
