"""Local days: a rep's "today" and its UTC bounds follow the company's zone, DST included."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from geocrm.clock import local_day_bounds_utc, local_today
from geocrm.errors import ValidationError


def test_today_turns_at_local_midnight(app):
    app.config["GEOCRM_TIMEZONE"] = "Europe/Helsinki"
    assert local_today(datetime(2026, 11, 22, 21, 59)) == date(2026, 11, 22)  # 23:59 local
    assert local_today(datetime(2026, 11, 22, 22, 0)) == date(2026, 11, 23)  # 00:00 local
    app.config["GEOCRM_TIMEZONE"] = "UTC"
    assert local_today(datetime(2026, 11, 22, 22, 0)) == date(2026, 11, 22)


def test_day_bounds_are_23_or_25_hours_across_dst(app):
    app.config["GEOCRM_TIMEZONE"] = "Europe/Helsinki"
    start, end = local_day_bounds_utc(date(2026, 3, 29))  # clocks go forward
    assert (start, end) == (datetime(2026, 3, 28, 22, 0), datetime(2026, 3, 29, 21, 0))
    start, end = local_day_bounds_utc(date(2026, 10, 25))  # clocks go back
    assert (end - start).total_seconds() == 25 * 3600


def test_wrong_zone_is_named(app):
    app.config["GEOCRM_TIMEZONE"] = "Mars/Olympus"
    with pytest.raises(ValidationError) as err:
        local_today()
    assert err.value.field == "GEOCRM_TIMEZONE"


def test_today_plan_uses_the_local_day(client, auth, world, app):
    """When the local date differs from UTC's, Today shows the local day's published plan."""
    from geocrm.extensions import db
    from geocrm.field.services import today_plan
    from geocrm.models import PlanStatus, RoutePlan, RouteStop, utcnow

    # A zone whose date differs from UTC's right now: UTC-11 before 10:00 UTC, else UTC+14.
    app.config["GEOCRM_TIMEZONE"] = "Etc/GMT+11" if utcnow().hour < 10 else "Etc/GMT-14"
    day = local_today()
    assert day != utcnow().date()
    plan = RoutePlan(
        rep_id=world.rep_west.id, plan_date=day, status=PlanStatus.PUBLISHED, published_at=utcnow()
    )
    plan.stops = [RouteStop(seq=1, account_id=world.west_accounts[0].id)]
    db.session.add(plan)
    db.session.commit()
    assert today_plan(world.rep_west).plan_id == plan.id


def test_app_refuses_to_start_with_an_unknown_zone():
    from geocrm import create_app

    with pytest.raises(RuntimeError, match="GEOCRM_TIMEZONE='Nowhere/City'"):
        create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "GEOCRM_TIMEZONE": "Nowhere/City",
            }
        )
