"""Locks and checked manual moves in a real Chromium (issue 15, item 5): drag a stop onto
another place and the page says at once what the move breaks (a kiosk that closes at 09:00
reached after it closed), before anything is saved; "Place" applies it; a route is locked
with one click — without one request leaving 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import make_server

from geocrm import clock, create_app
from geocrm.extensions import db
from geocrm.models import utcnow
from tests.conftest import PASSWORD
from tests.e2e.conftest import ExternalRequests
from tests.factories import build_world, make_account

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("locks") / "geocrm.sqlite"
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "SECRET_KEY": "locks-e2e", "WTF_CSRF_ENABLED": True, "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "GEOCRM_PLAN_TIME_LIMIT": 1.0,
        "SERVER_NAME": None,
    })
    today = utcnow().date()
    with app.app_context():
        db.create_all()
        world = build_world(PASSWORD)
        world.rep_west.work_days = "1,2,3,4,5,6,7"
        for i in range(3):
            make_account(f"West Shop {i + 1}", 60.17 + 0.004 * i, 24.925 + 0.003 * i,
                         territory_id=world.west.id)
        make_account("Aamu Kioski", 60.172, 24.921, territory_id=world.west.id,
                     opening_hours="Mo-Su 08:00-09:00", visit_minutes=20)
        db.session.commit()
        west_id = world.rep_west.id
        db.session.remove()
    patch = pytest.MonkeyPatch()
    patch.setattr(clock, "local_now", lambda: datetime.combine(today, time(7, 0), tzinfo=UTC))
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="locks-e2e", daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{srv.server_port}", "today": today, "west": west_id}
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
        patch.undo()
        with app.app_context():
            from geocrm import jobs

            jobs.drain(app, 30)
            db.engine.dispose()


@pytest.fixture
def page(browser: Browser, server: dict[str, Any],
         external_requests: ExternalRequests) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(base_url=server["url"],
                                                  viewport={"width": 1400, "height": 2400})
    external_requests.guard(context)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.errors = errors  # type: ignore[attr-defined]
    yield p
    context.close()


def test_drag_a_stop_see_what_it_breaks_place_it_and_lock_the_route(
        page: Page, server: dict[str, Any], external_requests: ExternalRequests) -> None:
    page.goto("/login")
    page.fill("#email", "planner@example.com")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto("/planning/")
    page.check(f"input[name=rep][value='{server['west']}']")
    page.fill("#plan-start", server["today"].isoformat())
    page.fill("#plan-end", server["today"].isoformat())
    page.click("#plan-submit")
    card = page.locator(".plan-card").first
    expect(card.locator("tr.stop-row")).to_have_count(6, timeout=60_000)
    rows = card.locator("tr.stop-row")
    kiosk = rows.filter(has_text="Aamu Kioski")
    expect(kiosk.locator("td").first).to_have_text("1")  # planned while it is open
    # Drag the kiosk onto the last stop: the check answers at once, nothing is saved yet.
    expect(page.locator("html[data-locks-ready]")).to_have_count(1)
    # HTML5 drag and drop, dispatched as the browser would (Playwright's mouse does not
    # start a native drag in headless Chromium): dragstart, dragover, drop.
    transfer = page.evaluate_handle("() => new DataTransfer()")
    kiosk.dispatch_event("dragstart", {"dataTransfer": transfer})
    rows.last.dispatch_event("dragover", {"dataTransfer": transfer})
    rows.last.dispatch_event("drop", {"dataTransfer": transfer})
    box = kiosk.locator(".move-check")
    expect(box).to_have_attribute("data-state", "violations")
    expect(box.locator("li.violation-late")).to_contain_text("after it closes (09:00)")
    expect(kiosk.locator("input[name=position]")).to_have_value("6")
    page.reload()
    expect(page.locator("html[data-locks-ready]")).to_have_count(1)
    expect(card.locator("tr.stop-row").first).to_contain_text("Aamu Kioski")
    # Its own place is fine.
    kiosk = card.locator("tr.stop-row").filter(has_text="Aamu Kioski")
    kiosk.locator("input[name=position]").fill("1")
    kiosk.locator("input[name=position]").dispatch_event("change")
    expect(kiosk.locator(".move-check")).to_have_attribute("data-state", "ok")
    # Place it last anyway: the move is saved and the violation shown on the page.
    kiosk.locator("input[name=position]").fill("6")
    kiosk.locator("form.move-to button[type=submit]").click()
    expect(page.locator(".flash-error:not(.plan-warning)").filter(has_text="Aamu Kioski")
           ).to_contain_text("after it closes (09:00)")
    expect(card.locator("tr.stop-row").last).to_contain_text("Aamu Kioski")
    # Lock the whole route: one click, and the card says so.
    card.locator("form.lock-route button").click()
    expect(page.locator(".plan-card").first.locator(".badge.locked")).to_have_count(1)
    assert page.errors == []  # type: ignore[attr-defined]
    assert external_requests.urls == []
