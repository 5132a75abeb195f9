"""A published plan and visits for the team-day tests (naive UTC, company zone UTC)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from geocrm.extensions import db
from geocrm.models import Account, PlanStatus, RoutePlan, RouteStop, User
from tests.factories import make_interaction

DAY = date(2026, 11, 24)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def publish_plan(rep: User, accounts: list[Account], *, day: date = DAY, first_hour: int = 9,
                 created_by: User | None = None) -> RoutePlan:
    """One stop an hour from ``first_hour``, 30 minutes each."""
    plan = RoutePlan(rep_id=rep.id, plan_date=day, status=PlanStatus.PUBLISHED,
                     published_at=at(7, day=day), created_by_id=created_by.id if created_by
                     else None)
    db.session.add(plan)
    db.session.flush()
    for n, account in enumerate(accounts):
        start = at(first_hour + n, day=day)
        db.session.add(RouteStop(plan_id=plan.id, seq=n + 1, account_id=account.id,
                                 arrival=start, start=start,
                                 departure=start + timedelta(minutes=30)))
    db.session.flush()
    return plan


def check_in(rep: User, account: Account, when: datetime, *, stop: RouteStop | None = None,
             out_after_min: int | None = 20, **fields: object):
    """A synced check-in at the account's pin (verified), checked out ``out_after_min`` later."""
    fields.setdefault("checkin_lat", account.lat)
    fields.setdefault("checkin_lon", account.lon)
    fields.setdefault("checkin_accuracy_m", 10.0)
    return make_interaction(
        account, rep, occurred_at=when, checkin_at=when,
        checkout_at=when + timedelta(minutes=out_after_min) if out_after_min else None,
        route_stop_id=stop.id if stop else None, distance_m=0.0, **fields)
