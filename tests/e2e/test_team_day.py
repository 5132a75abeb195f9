"""The manager's day in a real Chromium: a rep checks in from the field app on a phone, the
visit syncs, and the manager's open page redraws itself (no reload) with the visit late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from geocrm.clock import local_today
from geocrm.extensions import db
from geocrm.models import PlanStatus, RoutePlan, RouteStop, utcnow
from tests.conftest import PASSWORD
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import (
    LiveField,
    axe_violations,
    guard,
    phone_context,
    sign_in,
    wait_outbox_empty,
)

pw = field_fixtures.pw
chromium = field_fixtures.chromium
field_server = field_fixtures.field_server

pytestmark = pytest.mark.browser

AALTO = (60.16, 24.91)  # "Kahvila Aalto", west territory


def publish_today(live: LiveField) -> int:
    """West's plan for today: Aalto was due 30 minutes ago, Kirja in two hours."""
    with live.app.app_context():
        now = utcnow().replace(microsecond=0)
        plan = RoutePlan(rep_id=live.users["west@example.com"], plan_date=local_today(),
                         status=PlanStatus.PUBLISHED, published_at=now - timedelta(hours=2))
        db.session.add(plan)
        db.session.flush()
        for seq, (name, start) in enumerate([("Kahvila Aalto", now - timedelta(minutes=30)),
                                             ("Kirja & Co", now + timedelta(hours=2))], 1):
            db.session.add(RouteStop(plan_id=plan.id, seq=seq, account_id=live.accounts[name],
                                     arrival=start, start=start,
                                     departure=start + timedelta(minutes=25)))
        db.session.commit()
        return int(plan.id)


def cell(rep_id: int, col: str) -> str:
    return f"#teamday-reps tr[data-rep='{rep_id}'] td[data-col='{col}']"


def test_manager_day_refreshes_after_a_check_in_syncs(
    pw: Any, chromium: Any, field_server: LiveField
) -> None:
    """The manager's page shows West's two stops to do; West checks in at Aalto on the phone;
    within a refresh the same page (not reloaded) counts it done and late, the map marker
    turns late, and no request carried a position in its URL."""
    live = field_server
    live.app.config["GEOCRM_TEAMDAY_REFRESH_S"] = 2
    publish_today(live)
    west = live.users["west@example.com"]

    desk = chromium.new_context(viewport={"width": 1280, "height": 900})
    guard(desk, live)
    manager = desk.new_page()
    urls: list[str] = []
    manager.on("request", lambda r: urls.append(r.url))
    manager.goto(f"{live.url}/login?next=/team/day")
    manager.fill("#email", "manager@example.com")
    manager.fill("#password", PASSWORD)
    manager.click("button[type=submit]")
    manager.wait_for_url("**/team/day")
    manager.wait_for_selector("html[data-teamday-rendered='1']")
    assert manager.inner_text(cell(west, "toDo")) == "2"
    assert manager.inner_text(cell(west, "done")) == "0"
    assert manager.locator(".teamday-marker").count() == 2
    box = manager.locator("#teamday-map").bounding_box()
    assert box is not None and box["height"] >= 300
    for marker in manager.locator(".teamday-marker").all():  # drawn inside the visible map
        spot = marker.bounding_box()
        assert spot is not None and box["y"] <= spot["y"] <= box["y"] + box["height"]
    manager.evaluate("() => { document.body.dataset.sameDocument = 'yes'; }")

    rep = phone_context(pw, chromium, live, at=AALTO).new_page()
    sign_in(rep, live, "west@example.com")
    rep.evaluate(f"location.hash = '#/account/{live.accounts['Kahvila Aalto']}'")
    rep.click("#checkin")
    rep.wait_for_selector("#checkout")
    wait_outbox_empty(rep)
    assert [v.checkin_at is not None for v in live.interactions("west@example.com")] == [True]

    manager.wait_for_function(
        f"() => document.querySelector(\"{cell(west, 'late')}\").textContent === '1'",
        timeout=20_000)
    assert manager.inner_text(cell(west, "done")) == "1"
    assert manager.inner_text(cell(west, "toDo")) == "1"
    assert manager.evaluate("() => document.body.dataset.sameDocument") == "yes"
    assert int(manager.get_attribute("html", "data-teamday-rendered") or 0) > 1
    assert manager.locator(".teamday-marker.st-late").count() == 1
    late_row = manager.locator("#teamday-stops tr[data-status='late']")
    assert "Kahvila Aalto" in late_row.inner_text()
    assert "verified" in late_row.inner_text()
    assert any("/team/day.json" in u for u in urls)
    assert not [u for u in urls if "60.16" in u or "lat=" in u or "lon=" in u]
    assert axe_violations(manager) == []
    # the rep's daily report of the day, on the phone: the visit, then submitted
    rep.goto(f"{live.url}/team/reports")
    assert "Kahvila Aalto" in rep.inner_text("#report-lines")
    assert axe_violations(rep) == []
    rep.fill("#comment", "Aalto wants a quote")
    rep.click("button[value=submit]")
    assert "submitted" in rep.inner_text("#report-status")
    assert rep.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # the manager reads it from the team day, comments; the rep sees the comment
    manager.click(f"#teamday-reps tr[data-rep='{west}'] a[href*='/team/reports/']")
    assert "Aalto wants a quote" in manager.inner_text("#report-rep-comment")
    manager.fill("#body", "Send it by Friday <b>please</b>")
    manager.click("#report-comments button[type=submit]")
    assert "read by Manager" in manager.inner_text("#report-status")
    csv_link = manager.get_attribute("#report-csv", "href")
    with manager.expect_download() as download:
        manager.click("#report-csv")
    assert csv_link and download.value.suggested_filename.endswith(".csv")
    rep.reload()
    assert "Send it by Friday <b>please</b>" in rep.inner_text("#report-comments")
    assert live.blocked == [] and live.page_errors == []
    desk.close()
