"""The plan result page drawn from data (issue 13) in a real browser: routes along the roads
with a drive time and distance per leg, the ODbL credit, each stop's move/pin/move-to-rep
controls built from the page data and working (CSRF and all), names as text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.models import Account, User, utcnow
from geocrm.models.planning import Job, JobStatus, PlanRun, PlanStatus, RoutePlan, RouteStop
from tests.e2e.conftest import ExternalRequests, LiveServer

HOME = (60.17, 24.92)


def seed_run(live: LiveServer) -> tuple[int, list[int]]:
    """A finished draft run: the west rep drives home -> Aalto -> Kirja -> home by road; the
    east rep has the script-named account. Returns the run id and the west stop ids."""
    with live.app.app_context():
        users = {u.email: u for u in db.session.scalars(select(User))}
        planner, west, east = (users["planner@example.com"], users["west@example.com"],
                               users["east@example.com"])
        accounts = {a.name: a for a in db.session.scalars(select(Account))}
        day = date.today() + timedelta(days=1)
        job = Job(kind="plan", func="test", status=JobStatus.DONE, progress=1.0,
                  created_by_id=planner.id, finished_at=utcnow())
        db.session.add(job)
        db.session.flush()
        run = PlanRun(status=PlanStatus.DRAFT, created_by_id=planner.id, start_date=day,
                      end_date=day, params={}, job_id=job.id,
                      result={"unassigned": [], "notes": [], "days": [], "mode": "days"})
        db.session.add(run)
        db.session.flush()
        aalto, kirja = accounts["Kahvila Aalto"], accounts["Kirja & Co"]
        pts = [HOME, (aalto.lat, aalto.lon), (kirja.lat, kirja.lon), HOME]
        legs = [{"s": 420 + 60 * i, "m": 2300 + 100 * i,
                 "line": [list(pts[i]), [pts[i + 1][0], pts[i][1]], list(pts[i + 1])]}
                for i in range(3)]
        stops: list[int] = []
        for rep, visits, params in (
                (west, [aalto, kirja], {"legs": legs, "legs_for": [aalto.id, kirja.id]}),
                (east, [accounts["<script>alert(1)</script> Oy"]], {})):
            plan = RoutePlan(rep_id=rep.id, plan_date=day, status=PlanStatus.DRAFT,
                             created_by_id=planner.id, run_id=run.id, distance_m=5000.0,
                             params={"home": [rep.home_lat, rep.home_lon], **params})
            db.session.add(plan)
            db.session.flush()
            t = datetime.combine(day, datetime.min.time()) + timedelta(hours=6)
            for seq, account in enumerate(visits, start=1):
                stop = RouteStop(plan_id=plan.id, seq=seq, account_id=account.id,
                                 arrival=t + timedelta(hours=seq), start=t + timedelta(hours=seq),
                                 departure=t + timedelta(hours=seq, minutes=30), travel_s=600,
                                 distance_m=2000.0)
                db.session.add(stop)
                db.session.flush()
                if rep is west:
                    stops.append(stop.id)
        db.session.commit()
        return int(run.id), stops


@pytest.mark.browser
def test_routes_legs_and_edit_controls_from_data(
    phone: Page,
    login: Callable[[Page, str], None],
    live_server: LiveServer,
    external_requests: ExternalRequests,
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    phone.on("dialog", on_dialog)
    run_id, (first, second) = seed_run(live_server)
    login(phone, "planner@example.com")
    phone.goto(f"/planning/runs/{run_id}")
    expect(phone.locator("#route-map")).to_have_attribute("data-state", "ready")
    # west: three legs along the roads (each bends), east: one straight dashed line
    legs = phone.locator("#route-map path.route-leg")
    expect(legs).to_have_count(3)
    assert all(legs.nth(i).get_attribute("d").count("L") == 2 for i in range(3))
    expect(phone.locator("#route-map path.route-straight")).to_have_count(1)
    expect(phone.locator("#route-map .leaflet-control-attribution")).to_contain_text(
        "OpenStreetMap")
    legs.nth(1).dispatch_event("mouseover")
    expect(phone.locator(".leaflet-tooltip")).to_contain_text("2. Kirja & Co")
    expect(phone.locator(".leaflet-tooltip")).to_contain_text("8 min · 2.4 km")
    # the script-named account's marker and row show its name as text
    expect(phone.locator(".plan-card").filter(has_text="<script>alert(1)</script> Oy")
           ).to_have_count(1)

    # edit controls built from the data: the first stop cannot move up, the last not down
    row = phone.locator(f"tr.stop-row[data-stop='{first}']")
    expect(row.locator("button[value=up]")).to_be_disabled()
    expect(row.locator("button[value=down]")).to_be_enabled()
    expect(phone.locator(f"tr.stop-row[data-stop='{second}'] button[value=down]")
           ).to_be_disabled()
    expect(row.locator("button[aria-label='Pin Kahvila Aalto']")).to_have_text("Pin")
    assert phone.locator(".stop-edit, .stop-reassign, .lock-slot").count() == 0  # all filled
    # the route-lock forms: one template per plan, each stop's copy made its own
    lock = row.locator("form.lock-stop")
    assert lock.get_attribute("action").endswith(f"/stops/{first}/lock")
    expect(lock.locator("button")).to_have_attribute("aria-label",
                                                     "Lock Kahvila Aalto at stop 1")
    place = phone.locator(f"tr.stop-row[data-stop='{second}'] form.move-to")
    assert place.get_attribute("data-stop") == str(second)
    expect(place.locator("input[name=position]")).to_have_value("2")
    token = phone.locator("meta[name=csrf-token]").get_attribute("content")
    assert {i.get_attribute("value") for i in
            phone.locator(".plan-card input[name=csrf_token]").all()} == {token}
    assert "zzStopNamezz" not in phone.locator(".plan-card table").first.inner_html()
    with phone.expect_navigation():
        row.locator("button[value=down]").click()
    rows = phone.locator(".plan-card tr.stop-row")
    expect(rows.first).to_have_attribute("data-stop", str(second))
    # the order changed: the stored road legs no longer fit, straight lines instead
    expect(phone.locator("#route-map path.route-leg")).to_have_count(0)
    with phone.expect_navigation():
        phone.locator(f"tr.stop-row[data-stop='{first}'] button[aria-label='Pin Kahvila Aalto']"
                      ).click()
    expect(phone.locator(f"tr.stop-row[data-stop='{first}'] .badge.pinned")).to_have_count(1)
    expect(phone.locator(f"tr.stop-row[data-stop='{first}'] "
                         "button[aria-label='Unpin Kahvila Aalto']")).to_have_text("Unpin")
    assert dialogs == []
    assert external_requests.urls == []
