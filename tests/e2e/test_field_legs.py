"""Today in the field app draws the published plan's legs along the roads with each leg's
drive time and distance, from the cached Today data, also without a network (issue 13)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from geocrm.clock import local_today
from geocrm.extensions import db
from geocrm.models import PlanStatus, RoutePlan, RouteStop, User
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import LiveField, phone_context, sign_in

pw = field_fixtures.pw
chromium = field_fixtures.chromium
field_server = field_fixtures.field_server

pytestmark = pytest.mark.browser

HOME = (60.17, 24.92)  # the west rep's home in tests.factories
AALTO = (60.16, 24.91)
KIRJA = (60.18, 24.93)


def _street(a: tuple[float, float], b: tuple[float, float]) -> list[list[float]]:
    """An L-shaped line (north-south, then east-west), as a street grid would give."""
    return [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]]]


def publish_plan_with_legs(live: LiveField) -> list[dict[str, Any]]:
    """Today's published plan for the west rep: home -> Aalto -> Kirja -> home by road."""
    with live.app.app_context():
        rep = db.session.get(User, live.users["west@example.com"])
        assert rep is not None
        day = local_today()
        ids = [live.accounts["Kahvila Aalto"], live.accounts["Kirja & Co"]]
        legs = [{"s": 420, "m": 2300, "line": _street(HOME, AALTO)},
                {"s": 25, "m": 180, "line": _street(AALTO, KIRJA)},
                {"s": 900, "m": 5400, "line": _street(KIRJA, HOME)}]
        for old in db.session.scalars(select(RoutePlan).where(RoutePlan.rep_id == rep.id)):
            db.session.delete(old)
        plan = RoutePlan(rep_id=rep.id, plan_date=day, status=PlanStatus.PUBLISHED,
                         published_at=datetime.now(),
                         params={"legs": legs, "legs_for": ids})
        db.session.add(plan)
        db.session.flush()
        start = datetime.combine(day, datetime.min.time()) + timedelta(hours=7)
        for seq, account_id in enumerate(ids, start=1):
            db.session.add(RouteStop(plan_id=plan.id, seq=seq, account_id=account_id,
                                     arrival=start + timedelta(hours=seq),
                                     start=start + timedelta(hours=seq),
                                     departure=start + timedelta(hours=seq, minutes=30)))
        db.session.commit()
        return legs


def test_today_draws_the_legs_along_the_roads_offline(pw: Any, chromium: Any,
                                                      field_server: LiveField) -> None:
    live = field_server
    legs = publish_plan_with_legs(live)
    context = phone_context(pw, chromium, live, at=AALTO)
    page = context.new_page()
    sign_in(page, live, "west@example.com")

    def check() -> None:
        drive = page.locator("#screen .stops .leg")
        assert drive.count() == 2
        assert drive.nth(0).inner_text() == "Drive 7 min · 2.3 km"
        assert drive.nth(1).inner_text() == "Drive <1 min · 180 m"
        assert page.locator("#screen p.leg-home").inner_text() == "Drive home 15 min · 5.4 km"
        lines = page.locator("#map path.today-leg")
        assert lines.count() == len(legs)
        # each leg follows its street: three points, so the path bends (not a straight leg)
        assert all(lines.nth(i).get_attribute("d").count("L") == 2 for i in range(len(legs)))
        assert "OpenStreetMap" in page.locator("#map .leaflet-control-attribution").inner_text()
        lines.nth(0).dispatch_event("mouseover")
        tip = page.locator(".leaflet-tooltip .leg-tip")
        tip.wait_for()
        assert tip.inner_text().replace("\n", " ") == "1. Kahvila Aalto 7 min · 2.3 km"

    page.wait_for_selector("#map path.today-leg")
    check()
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#map path.today-leg")
    check()
    assert live.blocked == []
    assert live.page_errors == []
    context.close()


def test_stale_legs_are_not_drawn(pw: Any, chromium: Any, field_server: LiveField) -> None:
    """After the stops changed order the legs no longer fit: no drive lines, no leg times."""
    live = field_server
    publish_plan_with_legs(live)
    with live.app.app_context():
        plan = db.session.scalars(select(RoutePlan).where(
            RoutePlan.rep_id == live.users["west@example.com"])).one()
        plan.params = {**plan.params, "legs_for": list(reversed(plan.params["legs_for"]))}
        db.session.commit()
    context = phone_context(pw, chromium, live, at=AALTO)
    page = context.new_page()
    sign_in(page, live, "west@example.com")
    page.wait_for_selector("#screen .stops li")
    assert page.locator("#screen .leg").count() == 0
    assert page.locator("#map path.today-leg").count() == 0
    assert live.page_errors == []
    context.close()
