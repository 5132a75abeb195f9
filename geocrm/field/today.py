"""What the phone shows and carries: today's stops (the published plan, else a sensible
list of accounts) and the offline bundle (accounts, their contacts and recent interactions).

Reads only, scoped through :mod:`geocrm.access`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from geocrm.access import visible_accounts
from geocrm.clock import local_day_bounds_utc, local_today
from geocrm.extensions import db
from geocrm.models import Account, Contact, Interaction, PlanStatus, RoutePlan, User
from geocrm.spatial import haversine_m


@dataclass
class Stop:
    seq: int
    account: Account
    route_stop_id: int | None
    arrival: datetime | None
    departure: datetime | None
    status: str
    overdue_days: int | None


@dataclass
class TodayPlan:
    day: date
    source: str  # "plan" (published by a planner) or "accounts" (fallback list)
    plan_id: int | None
    stops: list[Stop]
    # the drive along the roads, leg by leg (start -> stops -> home: seconds, metres, line),
    # when the plan was made on roads, is still in that order and every stop is the rep's
    legs: list[dict[str, Any]] = field(default_factory=list)


def today_plan(user: User, day: date | None = None, limit: int = 12) -> TodayPlan:
    """The published plan for ``user`` on ``day``; otherwise a sensible list of accounts.

    The fallback picks overdue accounts first (by their visit cadence), then the nearest
    to the rep's home, and orders the picks as a nearest-neighbour drive from home.
    """
    day = day or local_today()
    plan = db.session.scalars(
        select(RoutePlan)
        .where(
            RoutePlan.rep_id == user.id,
            RoutePlan.plan_date == day,
            RoutePlan.status == PlanStatus.PUBLISHED,
        )
        .order_by(RoutePlan.published_at.desc(), RoutePlan.id.desc())
        .limit(1)
    ).one_or_none()
    visited = _visited_today(user, day)
    if plan is not None:
        visible = set(
            db.session.scalars(
                visible_accounts(user)
                .with_only_columns(Account.id)
                .where(Account.id.in_([s.account_id for s in plan.stops]))
            )
        )
        stops = [
            Stop(
                s.seq,
                s.account,
                s.id,
                s.arrival,
                s.departure,
                "visited" if s.status == "visited" or s.account_id in visited else s.status,
                None,
            )
            for s in plan.stops
            if s.account_id in visible
        ]
        order = [s.account_id for s in sorted(plan.stops, key=lambda s: s.seq)]
        params = plan.params or {}
        legs = (list(params.get("legs") or [])
                if params.get("legs_for") == order and len(stops) == len(order) else [])
        return TodayPlan(day, "plan", plan.id, stops, legs)
    return TodayPlan(day, "accounts", None, _fallback_stops(user, day, limit, visited))


def _visited_today(user: User, day: date) -> set[int]:
    start, end = local_day_bounds_utc(day)
    return set(
        db.session.scalars(
            select(Interaction.account_id).where(
                Interaction.user_id == user.id,
                Interaction.occurred_at >= start,
                Interaction.occurred_at < end,
            )
        )
    )


def _fallback_stops(user: User, day: date, limit: int, visited: set[int]) -> list[Stop]:
    rows = db.session.execute(
        visible_accounts(user)
        .with_only_columns(
            Account.id, Account.lat, Account.lon, Account.cadence_days, Account.last_visit_at
        )
        .where(Account.archived.is_(False), Account.lat.is_not(None))
        .order_by(Account.id)
        .limit(20_000)
    ).all()
    if not rows:
        return []
    home = (user.home_lat, user.home_lon)
    if home[0] is None or home[1] is None:
        home = (rows[0][1], rows[0][2])

    def overdue(cadence: int | None, last: datetime | None) -> int | None:
        if not cadence:
            return None
        if last is None:
            return cadence
        days = (day - last.date()).days - cadence
        return days if days >= 0 else None

    scored = []
    for aid, lat, lon, cadence, last in rows:
        od = overdue(cadence, last)
        scored.append((0 if od is not None else 1, -(od or 0), haversine_m(*home, lat, lon), aid))
    scored.sort()
    picked = {s[3]: s for s in scored[:limit]}
    accounts = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(list(picked))))
    }
    # Order the picks as a greedy drive from home, so the list reads like a route.
    order: list[int] = []
    here = home
    left = set(picked)
    while left:
        nxt = min(left, key=lambda i: (haversine_m(*here, accounts[i].lat, accounts[i].lon), i))
        order.append(nxt)
        left.remove(nxt)
        here = (accounts[nxt].lat, accounts[nxt].lon)
    return [
        Stop(
            n + 1,
            accounts[i],
            None,
            None,
            None,
            "visited" if i in visited else "planned",
            overdue(accounts[i].cadence_days, accounts[i].last_visit_at),
        )
        for n, i in enumerate(order)
    ]


def offline_accounts(user: User, limit: int = 2000) -> list[Account]:
    """The accounts the phone keeps for offline use: the rep's own, nearest home first."""
    stmt = visible_accounts(user).where(Account.archived.is_(False))
    if user.home_lat is not None and user.home_lon is not None:
        # Cheap planar ordering is enough to choose which accounts travel with the phone.
        stmt = stmt.order_by(
            func.abs(Account.lat - user.home_lat) + func.abs(Account.lon - user.home_lon),
            Account.id,
        )
    else:
        stmt = stmt.order_by(Account.id)
    return list(db.session.scalars(stmt.limit(limit)))


def visible_account_count(user: User) -> int:
    """How many live accounts ``user`` may see (what the phone would keep without a limit)."""
    stmt = visible_accounts(user).where(Account.archived.is_(False))
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def recent_interactions(account_ids: list[int], per_account: int = 3) -> dict[int, list[Any]]:
    """The last few interactions of each account (one query, trimmed in Python)."""
    out: dict[int, list[Interaction]] = {}
    for chunk in range(0, len(account_ids), 500):
        ids = account_ids[chunk : chunk + 500]
        rows = db.session.scalars(
            select(Interaction)
            .where(Interaction.account_id.in_(ids))
            .order_by(Interaction.account_id, Interaction.occurred_at.desc())
        )
        for row in rows:
            bucket = out.setdefault(row.account_id, [])
            if len(bucket) < per_account:
                bucket.append(row)
    return out


def contacts_for(account_ids: list[int]) -> dict[int, list[Contact]]:
    out: dict[int, list[Contact]] = {}
    for chunk in range(0, len(account_ids), 500):
        ids = account_ids[chunk : chunk + 500]
        for c in db.session.scalars(
            select(Contact).where(Contact.account_id.in_(ids)).order_by(Contact.id)
        ):
            out.setdefault(c.account_id, []).append(c)
    return out
