"""Drop-ins on the field app's Today in a real Chromium (issue 16): "Find drop-ins" lists an
overdue account near the route that fits the rest of the day, "Add to route" puts it into
today's route, and the routing model confirms the new order breaks no rule; the position
never appears in a URL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from geocrm import clock
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import LiveField, phone_context, sign_in

pw = field_fixtures.pw
chromium = field_fixtures.chromium
field_server = field_fixtures.field_server

pytestmark = pytest.mark.browser
HERE = (60.175, 24.925)


@pytest.fixture
def todays_plan(field_server: LiveField, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """West's published plan for today (both West shops), the clock at 09:00 UTC, and an
    overdue customer 300 m from the route."""
    from geocrm.extensions import db
    from geocrm.models import Account, PlanStatus, RoutePlan, RouteStop, Stage, User
    from tests.factories import make_account

    today = datetime.now(UTC).date()
    monkeypatch.setattr(clock, "local_now",
                        lambda: datetime.combine(today, time(9, 0), tzinfo=UTC))
    with field_server.app.app_context():
        rep = db.session.get(User, field_server.users["west@example.com"])
        west = db.session.get(Account, field_server.accounts["Kirja & Co"]).territory_id
        overdue = make_account("Rästi Kahvila", 60.1770, 24.9270, territory_id=west,
                               stage=Stage.CUSTOMER, cadence_days=14, priority=1,
                               last_visit_at=datetime.now(UTC).replace(tzinfo=None)
                               - timedelta(days=40))
        plan = RoutePlan(rep_id=rep.id, plan_date=today, status=PlanStatus.PUBLISHED,
                         published_at=datetime.now(UTC).replace(tzinfo=None), params={},
                         unassigned=[], notes=[])
        for seq, name in enumerate(("Kirja & Co", "Kahvila Aalto"), start=1):
            start = datetime.combine(today, time(10 + seq, 0))
            plan.stops.append(RouteStop(seq=seq, account_id=field_server.accounts[name],
                                        arrival=start, start=start, departure=start,
                                        status="planned"))
        db.session.add(plan)
        db.session.commit()
        ids = {"plan": plan.id, "overdue": overdue.id}
        db.session.remove()
    return ids


def test_today_suggests_and_adds_a_drop_in(pw: Any, chromium: Any, field_server: LiveField,
                                            todays_plan: dict[str, int]) -> None:
    import routing
    from geocrm.clock import local_zone
    from geocrm.extensions import db
    from geocrm.models import Account, RoutePlan
    from geocrm.planning.base import local_now
    from geocrm.planning.hours import windows_on
    from geocrm.planning.problem import account_visit, routing_rep, without_skills

    live = field_server
    context = phone_context(pw, chromium, live, at=HERE)
    urls: list[str] = []
    context.on("request", lambda r: urls.append(r.url))
    page = context.new_page()
    sign_in(page, live, "west@example.com")
    page.wait_for_selector("#dropins-find")
    page.click("#dropins-find")
    item = page.locator(f"#dropin-result li[data-key='{todays_plan['overdue']}']")
    item.wait_for(timeout=20_000)
    assert "Rästi Kahvila" in item.inner_text()
    item.locator("button").click()
    page.locator(".stops li", has_text="Rästi Kahvila").wait_for(timeout=20_000)
    with live.app.app_context():
        plan = db.session.get(RoutePlan, todays_plan["plan"])
        stops = sorted(plan.stops, key=lambda s: s.seq)
        assert todays_plan["overdue"] in [s.account_id for s in stops]
        visits = []
        for s in stops:
            a = db.session.get(Account, s.account_id)
            hours = windows_on(a.opening_hours, plan.plan_date)
            visits.append(account_visit(a, [(0, 86400)] if hours is None else hours))
        rep = without_skills(routing_rep(plan.rep), 30.0)
        local = local_now(local_zone())  # the day as the service saw it
        check = routing.check_order(rep, visits, start_at=local.hour * 3600 + local.minute * 60,
                                    origin=routing.Location(*HERE))
        assert check.ok, check.violations
        db.session.remove()
    assert not [u for u in urls if "60.17" in u or "24.92" in u]
    assert live.page_errors == []
