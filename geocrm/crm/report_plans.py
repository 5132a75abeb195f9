"""The planned-vs-done report: stops of published plans against the visits logged, and
planned against estimated km (the definitions are in :mod:`geocrm.crm.reports`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.crm.report_base import Report, day_bounds, pct, scope_on, where_scoped
from geocrm.extensions import db
from geocrm.i18n import local_date
from geocrm.models import (
    Interaction,
    InteractionKind,
    PlanStatus,
    Role,
    RoutePlan,
    RouteStop,
    User,
)
from geocrm.spatial import haversine_m
from routing import GreatCircle

CIRCUITY = GreatCircle().circuity  # the planner's default, so the two km figures compare


def planned_vs_done(user: User, start: date, end: date) -> Report:
    """Per rep and day of published plans: stops planned vs visited, planned vs estimated km."""
    lo, hi = day_bounds(start, end)
    plan_stmt = (
        select(RoutePlan.id, RoutePlan.rep_id, RoutePlan.plan_date, RoutePlan.distance_m)
        .where(RoutePlan.status == PlanStatus.PUBLISHED, RoutePlan.plan_date >= start,
               RoutePlan.plan_date <= end)
    )
    if user.role == Role.REP:
        plan_stmt = plan_stmt.where(RoutePlan.rep_id == user.id)
    plans = {int(p): (int(r), d, float(km or 0.0)) for p, r, d, km in db.session.execute(plan_stmt)}
    if not plans:
        return _planned_report([], start, end)
    stop_stmt = select(RouteStop.id, RouteStop.plan_id, RouteStop.account_id, RouteStop.status)
    stop_stmt = where_scoped(stop_stmt, scope_on(RouteStop.account_id, user))
    stops: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    plan_ids = list(plans)
    for chunk in range(0, len(plan_ids), 900):
        for sid, pid, aid, status in db.session.execute(
            stop_stmt.where(RouteStop.plan_id.in_(plan_ids[chunk:chunk + 900]))
        ):
            stops[int(pid)].append((int(sid), int(aid), status))
    reps = {r for r, _, _ in plans.values()}
    visits: dict[tuple[int, date], list[tuple[datetime, float | None, float | None, int, Any]]]
    visits = defaultdict(list)
    for uid, aid, at, cin, lat, lon, stop_id in db.session.execute(
        select(Interaction.user_id, Interaction.account_id, Interaction.occurred_at,
               Interaction.checkin_at, Interaction.checkin_lat, Interaction.checkin_lon,
               Interaction.route_stop_id)
        .where(Interaction.kind == InteractionKind.VISIT, Interaction.user_id.in_(reps),
               Interaction.occurred_at >= lo, Interaction.occurred_at < hi)
    ):
        when = cin or at
        visits[(int(uid), when.date())].append((when, lat, lon, int(aid), stop_id))
    homes = {int(i): (lat, lon) for i, lat, lon in db.session.execute(
        select(User.id, User.home_lat, User.home_lon).where(User.id.in_(reps)))}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(reps))).all())
    rows = []
    for pid, (rep, day, plan_m) in plans.items():
        mine = stops.get(pid, [])
        if not mine:
            continue  # no stop this viewer may see
        day_visits = visits.get((rep, day), [])
        linked = {v[4] for v in day_visits if v[4] is not None}
        at_accounts = {v[3] for v in day_visits}
        done = sum(1 for sid, aid, status in mine
                   if status == "visited" or sid in linked or aid in at_accounts)
        est = _estimated_km(homes.get(rep), sorted(day_visits, key=lambda v: v[0]))
        rows.append([rep, names.get(rep, f"#{rep}"), day.isoformat(), len(mine), done,
                     pct(done, len(mine)), round(plan_m / 1000.0, 1), est])
    rows.sort(key=lambda r: (r[2], str(r[1]).lower(), r[0]))
    return _planned_report(rows, start, end)


def _estimated_km(home: tuple[float | None, float | None] | None,
                  day_visits: Sequence[tuple[datetime, Any, Any, int, Any]]) -> float:
    points = [(float(v[1]), float(v[2])) for v in day_visits if v[1] is not None
              and v[2] is not None]
    if not points:
        return 0.0
    if home is not None and home[0] is not None and home[1] is not None:
        points = [(float(home[0]), float(home[1])), *points, (float(home[0]), float(home[1]))]
    metres = sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in zip(points, points[1:],
                                                                        strict=False))
    return round(metres * CIRCUITY / 1000.0, 1)


def _planned_report(rows: list[list[Any]], start: date, end: date) -> Report:
    planned = sum(r[3] for r in rows)
    done = sum(r[4] for r in rows)
    return Report(
        key="planned",
        title=_("Planned vs done, %(start)s – %(end)s", start=local_date(start),
                end=local_date(end)),
        columns=["rep_id", "rep", "day", "stops_planned", "stops_visited", "visited_pct",
                 "planned_km", "estimated_km"],
        rows=rows,
        totals=["", "total", "", planned, done, pct(done, planned),
                round(sum(r[6] for r in rows), 1), round(sum(r[7] for r in rows), 1)],
        chart=[(f"{r[1]} {r[2]}", float(r[5] or 0.0)) for r in rows],
        chart_unit=_("% visited"),
        extra={"start": start, "end": end},
    )


__all__ = ["CIRCUITY", "planned_vs_done"]
