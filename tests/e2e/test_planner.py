"""The planner in a real Chromium: plan a day for two reps, wait for the background job,
read the map (numbered stops, one colour per rep) and the unassigned list, publish, and the
rep sees the route — without one request leaving 127.0.0.1.

The app runs on its own SQLite file (module-scoped), so publishing today's plans here never
changes what the other browser tests' reps see on Today.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import make_server

from geocrm import clock, create_app
from geocrm.extensions import db
from geocrm.models import utcnow
from tests.conftest import PASSWORD
from tests.e2e.conftest import ExternalRequests
from tests.factories import build_world, make_account

pytestmark = pytest.mark.browser
DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]


@dataclass(frozen=True)
class Planner:
    app: Flask
    url: str
    today: date
    rep_ids: dict[str, int]
    accounts_per_rep: dict[str, int]
    closed_name: str


def seed() -> tuple[dict[str, int], dict[str, int], str, date]:
    """The tiny world, three more shops per territory, and one shop closed today."""
    today = utcnow().date()
    world = build_world(PASSWORD)
    for rep in (world.rep_west, world.rep_east):
        rep.work_days = "1,2,3,4,5,6,7"  # whatever day the test runs on
    for territory, (lat, lon) in ((world.west, (60.17, 24.925)), (world.east, (60.17, 24.975))):
        for i in range(3):
            make_account(f"{territory.name} Shop {i + 1}", lat + 0.004 * i, lon + 0.003 * i,
                         territory_id=territory.id, opening_hours="Mo-Su 09:00-12:00,13:00-17:00")
    other_day = DAYS[(today.weekday() + 2) % 7]
    closed = make_account("Closed & Co", 60.165, 24.915, territory_id=world.west.id,
                          opening_hours=f"{other_day} 10:00-14:00")
    db.session.commit()
    reps = {"west": world.rep_west.id, "east": world.rep_east.id}
    per_rep = {"west": len(world.west_accounts) + 3, "east": len(world.east_accounts) + 3}
    return reps, per_rep, closed.name, today


@pytest.fixture(scope="module")
def planner_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planner]:
    path = tmp_path_factory.mktemp("planner") / "geocrm.sqlite"
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "SECRET_KEY": "planner-e2e",
        "WTF_CSRF_ENABLED": True,
        "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        "GEOCRM_PLAN_TIME_LIMIT": 1.0,
        "SERVER_NAME": None,
    })
    with app.app_context():
        db.create_all()
        reps, per_rep, closed, today = seed()
        db.session.remove()
    # Today's plan starts now once the shift has begun; pin the clock before the shift so
    # the whole day is planned whenever the suite runs.
    clock_patch = pytest.MonkeyPatch()
    clock_patch.setattr(clock, "local_now",
                        lambda: datetime.combine(today, time(7, 0), tzinfo=UTC))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="planner-e2e", daemon=True)
    thread.start()
    try:
        yield Planner(app, f"http://127.0.0.1:{server.server_port}", today, reps, per_rep, closed)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        clock_patch.undo()
        with app.app_context():
            from geocrm import jobs

            jobs.drain(app, 30)
            db.engine.dispose()


@pytest.fixture
def contexts(browser: Browser, planner_server: Planner,
             external_requests: ExternalRequests) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(base_url=planner_server.url,
                                      viewport={"width": 1280, "height": 900})
        external_requests.guard(context)
        made.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
        return page

    yield make
    for context in made:
        context.close()


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url


def test_plan_two_reps_publish_and_the_rep_sees_the_route(
    contexts: Any, planner_server: Planner, external_requests: ExternalRequests
) -> None:
    """Planner: choose both reps and today, plan, watch the job finish, see a numbered stop per
    planned visit in two colours and the closed shop left out with its reason, publish.
    Rep: the published route is on their routes page and in the field app's Today."""
    page = contexts()
    sign_in(page, "planner@example.com")
    page.goto("/planning/")
    for rep_id in planner_server.rep_ids.values():
        page.check(f"input[name=rep][value='{rep_id}']")
    today = planner_server.today.isoformat()
    page.fill("#plan-start", today)
    page.fill("#plan-end", today)
    page.click("#plan-submit")
    # The job runs in the background; the page polls it and reloads into the result.
    expect(page.locator("#route-map .leaflet-container")).to_be_visible(timeout=60_000)
    planned = sum(planner_server.accounts_per_rep.values())
    markers = page.locator("#route-map .route-stop")
    expect(markers).to_have_count(planned)
    numbers = sorted(int(t) for t in markers.all_inner_texts())
    per_rep = sorted(planner_server.accounts_per_rep.values())
    assert numbers == sorted([n for k in per_rep for n in range(1, k + 1)])
    colours = {m.get_attribute("style") for m in markers.all()}
    assert colours == {"background:#1f77b4", "background:#d62728"}
    lines = page.locator("#route-map path.leaflet-interactive[stroke='#1f77b4'], "
                         "#route-map path.leaflet-interactive[stroke='#d62728']")
    expect(lines).to_have_count(2)
    row = page.locator("#unassigned-list .unassigned-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(planner_server.closed_name)
    expect(row).to_contain_text("closed on")
    expect(page.locator(".plan-card .tl-track")).to_have_count(2)
    # Its popup shows the account's name as text (escaped), and no script runs.
    xss = page.locator("#route-map .route-stop-icon").nth(0)
    xss.click()
    expect(page.locator("#route-map .leaflet-popup-content")).to_be_visible()
    # The XSS-named account is shown as text, in the stop list and in its popup.
    expect(page.locator(".plan-card").filter(has_text="<script>alert(1)</script> Oy")
           ).to_have_count(1)

    page.click("#publish")
    expect(page.locator("#run-status")).to_have_text("published")
    expect(page.locator("#publish")).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]

    rep = contexts()
    sign_in(rep, "west@example.com")
    rep.goto("/planning/my")
    link = rep.locator("#my-plans a")
    expect(link).to_have_count(1)
    link.click()
    expect(rep.locator("#route-map .route-stop")).to_have_count(
        planner_server.accounts_per_rep["west"])
    expect(rep.locator("#google-links a")).to_have_count(1)
    expect(rep.locator("#replan-form")).to_be_visible()
    # Nobody types coordinates: the form says where the re-plan starts.
    expect(rep.locator("#replan-form input[name=lat], #replan-form input[name=lon]")
           ).to_have_count(0)
    expect(rep.locator("section[aria-labelledby=replan-title]")).to_contain_text(
        "It starts from home.")
    today_json = rep.request.get("/api/v1/today").json()
    assert today_json["source"] == "plan"
    names = [s["account"]["name"] for s in today_json["stops"]]
    listed = [t.split("\n")[0] for t in rep.locator("#plan-stops li strong").all_inner_texts()]
    assert names == listed
    assert rep.errors == []  # type: ignore[attr-defined]
    assert external_requests.urls == []


def test_rep_cannot_open_the_planner(contexts: Any, planner_server: Planner) -> None:
    """A rep following a planner link is refused; their nav shows 'My routes' instead."""
    page = contexts()
    sign_in(page, "east@example.com")
    expect(page.locator("nav a", has_text=re.compile("^My routes$"))).to_have_count(1)
    expect(page.locator("nav a", has_text=re.compile("^Planning$"))).to_have_count(0)
    response = page.goto("/planning/runs/1")
    assert response is not None and response.status == 403
