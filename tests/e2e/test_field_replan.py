"""Re-plan from the phone in a real Chromium with Playwright's geolocation (issue 15,
item 6): Today's "Re-plan from here" sends the phone's position in the body, the result
reads as a person would say it; offline the re-plan waits in the outbox and is applied
when the phone is back online, exactly once — and no position ever appears in a URL."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from geocrm import clock
from geocrm.models.field import SyncRecord
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import (
    LiveField,
    pending,
    phone_context,
    sign_in,
    wait_outbox_empty,
    wait_pending,
)

pw = field_fixtures.pw
chromium = field_fixtures.chromium
field_server = field_fixtures.field_server

pytestmark = pytest.mark.browser
HERE = (60.175, 24.925)  # between the two West shops


@pytest.fixture
def todays_plan(field_server: LiveField, monkeypatch: pytest.MonkeyPatch) -> int:
    """West's published plan for today (both West shops), with the clock at 12:00 UTC."""
    from geocrm.extensions import db
    from geocrm.models import Account, PlanStatus, RoutePlan, RouteStop, User

    today = datetime.now(UTC).date()
    monkeypatch.setattr(clock, "local_now",
                        lambda: datetime.combine(today, time(12, 0), tzinfo=UTC))
    with field_server.app.app_context():
        rep = db.session.get(User, field_server.users["west@example.com"])
        plan = RoutePlan(rep_id=rep.id, plan_date=today, status=PlanStatus.PUBLISHED,
                         published_at=datetime.now(UTC).replace(tzinfo=None), params={},
                         unassigned=[], notes=[])
        for seq, name in enumerate(("Kirja & Co", "Kahvila Aalto"), start=1):
            account = db.session.get(Account, field_server.accounts[name])
            start = datetime.combine(today, time(13 + seq, 0))
            plan.stops.append(RouteStop(seq=seq, account_id=account.id, arrival=start,
                                        start=start, departure=start, status="planned"))
        db.session.add(plan)
        db.session.commit()
        plan_id = plan.id
        db.session.remove()
    return plan_id


def replans(live: LiveField) -> int:
    from geocrm.extensions import db

    with live.app.app_context():
        n = db.session.query(SyncRecord).filter_by(op="replan").count()
        db.session.remove()
        return n


def test_replan_from_here_online_then_offline(pw: Any, chromium: Any, field_server: LiveField,
                                              todays_plan: int) -> None:
    live = field_server
    context = phone_context(pw, chromium, live, at=HERE)
    urls: list[str] = []
    context.on("request", lambda r: urls.append(r.url))
    page = context.new_page()
    sign_in(page, live, "west@example.com")
    page.wait_for_selector("#replan-here")

    page.click("#replan-here")
    result = page.locator("#replan-result")
    page.wait_for_selector("#replan-result[data-state='done']", timeout=20_000)
    assert result.inner_text().startswith("Re-planned at 12:00 from where you are now")
    assert replans(live) == 1

    # Offline: the re-plan is queued, not lost; back online it is applied once.
    context.set_offline(True)
    page.click("#replan-here")
    page.wait_for_selector("#replan-result[data-state='queued']")
    assert "back online" in result.inner_text()
    # the badge counts the outbox when the outbox announces the queue: wait for it, not race it
    page.wait_for_selector("#sync-badge[data-pending='1']", state="attached", timeout=10_000)
    assert pending(page) == 1
    assert replans(live) == 1
    context.set_offline(False)
    wait_outbox_empty(page)
    wait_pending(page, 0)
    assert replans(live) == 2
    page.wait_for_selector("#replan-result[data-state='done']", timeout=20_000)
    assert "Re-planned at 12:00" in page.locator("#replan-result").inner_text()

    assert not [u for u in urls if "lat=" in u or "lon=" in u or "60.175" in u]
    assert live.blocked == [] and live.page_errors == []
    context.close()
