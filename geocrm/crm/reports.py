"""Reports and drift alerts, every number scoped to what the viewer may see.

Each report is a function ``(user, …) -> Report``: plain rows (the CSV export and the
page show the same ones), a totals row and the data for a chart. The counting happens
in SQL (``GROUP BY``), so a report over 100,000 accounts and 1,000,000 interactions moves
only its result rows into Python.

Scoping. Interaction-, account- and opportunity-based numbers count only what sits on an
account the viewer may see (:func:`geocrm.access.scope_accounts`): a rep's report is
their territories, a manager's the territories they manage (plus the unassigned
accounts), admins and planners the company. Planned-versus-done counts the stops at
visible accounts, and a rep only sees their own plans.

Definitions (the tests compute them by hand):

* days since the last visit = ``as_of`` − the calendar day of ``Account.last_visit_at``.
* covered: the account has a cadence and days since the last visit ≤ cadence.
  Overdue: it has a cadence and was never visited or days since > cadence. (The planner's
  "overdue only" plans accounts that are *due*, i.e. ≥ cadence: one day earlier.)
* falling frequency: at least ``MIN_PRIOR_VISITS`` visits in the ``window`` days before
  the recent window, and at most half as many in the recent ``window`` days (ending on
  ``as_of`` inclusive).
* planned vs done: stops of *published* plans dated in the range; a stop is done when it
  is marked visited, or a visit is linked to it, or its rep logged a visit at its account
  that day. Estimated km: the rep's home → that day's check-in positions in time order →
  home, great-circle × the planner's default circuity, so it compares with planned km.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from geocrm.access import scope_accounts, territory_ids_for
from geocrm.crm.sqltime import as_date, day_of, days_since, dialect_name
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import LABELS, local_date
from geocrm.models import (
    Account,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    PlanStatus,
    Role,
    RoutePlan,
    RouteStop,
    Territory,
    User,
    territory_reps,
)
from geocrm.spatial import haversine_m
from routing import GreatCircle

MIN_PRIOR_VISITS = 2
CIRCUITY = GreatCircle().circuity  # the planner's default, so the two km figures compare
UNASSIGNED = "(unassigned)"
MAX_RANGE_DAYS = 400


@dataclass
class Report:
    """A report's rows as plain values, in the order of ``columns``."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    totals: list[Any] | None = None
    chart: list[tuple[str, float]] = field(default_factory=list)
    chart_unit: str = ""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def csv_rows(self) -> Iterable[list[Any]]:
        yield from self.rows
        if self.totals is not None:
            yield self.totals


# -- scoping helpers ----------------------------------------


def _visible_ids(user: User) -> Select[Any] | None:
    """``SELECT id FROM accounts`` scoped to ``user``; ``None`` when the user sees all."""
    if territory_ids_for(user) is None and user.is_authenticated:
        return None
    return scope_accounts(select(Account.id), user)


def _scope_on(column: Any, user: User) -> ColumnElement[bool] | None:
    ids = _visible_ids(user)
    return None if ids is None else column.in_(ids)


def _where(stmt: Select[Any], cond: ColumnElement[bool] | None) -> Select[Any]:
    return stmt if cond is None else stmt.where(cond)


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise ValidationError("end", "is before start")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationError("end", f"a report covers at most {MAX_RANGE_DAYS} days")
    return datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())


def _territory_names(ids: Iterable[int | None]) -> dict[int | None, str]:
    real = [i for i in ids if i is not None]
    names: dict[int | None, str] = {None: UNASSIGNED}
    if real:
        names.update(db.session.execute(
            select(Territory.id, Territory.name).where(Territory.id.in_(real))
        ).all())
    return names


def _visible_reps(user: User) -> list[tuple[int, str]]:
    """The reps whose rows a report shows even at zero: everybody's, a manager's, oneself."""
    stmt = select(User.id, User.name).where(User.role == Role.REP, User.active.is_(True))
    if user.role == Role.REP:
        stmt = stmt.where(User.id == user.id)
    elif user.role == Role.MANAGER:
        managed = select(Territory.id).where(Territory.manager_id == user.id)
        stmt = stmt.where(User.id.in_(
            select(territory_reps.c.user_id).where(territory_reps.c.territory_id.in_(managed))
        ))
    return [(int(i), str(n)) for i, n in db.session.execute(stmt)]


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


# -- visits per rep per day / week --------------------------------------------------------------


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def visits_per_rep(user: User, start: date, end: date, *, group: str = "day") -> Report:
    """Visits logged per rep and per day (or ISO week) between ``start`` and ``end``."""
    if group not in ("day", "week"):
        raise ValidationError("group", "must be day or week")
    lo, hi = _day_bounds(start, end)
    dialect = dialect_name(db.session)
    day = day_of(Interaction.occurred_at, dialect)
    stmt = (
        select(Interaction.user_id, day, func.count())
        .where(
            Interaction.kind == InteractionKind.VISIT,
            Interaction.occurred_at >= lo,
            Interaction.occurred_at < hi,
        )
        .group_by(Interaction.user_id, day)
    )
    stmt = _where(stmt, _scope_on(Interaction.account_id, user))
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    users: set[int | None] = set()
    for uid, d, n in db.session.execute(stmt):
        d = as_date(d)
        period = d.isoformat() if group == "day" else iso_week(d)
        counts[(uid, period)] += int(n)
        users.add(uid)
    names: dict[int | None, str] = {uid: name for uid, name in _visible_reps(user)}
    missing = [u for u in users if u is not None and u not in names]
    if missing:
        names.update(db.session.execute(
            select(User.id, User.name).where(User.id.in_(missing))
        ).all())
    if None in users:
        names[None] = "(deleted user)"
    periods: list[str] = []
    d = start
    while d <= end:
        label = d.isoformat() if group == "day" else iso_week(d)
        if label not in periods:
            periods.append(label)
        d += timedelta(days=1)
    people = sorted(names.items(), key=lambda kv: (kv[1].lower(), kv[0] or 0))
    rows: list[list[Any]] = []
    for uid, name in people:
        per = [counts.get((uid, p), 0) for p in periods]
        rows.append([uid, name, *per, sum(per)])
    col_totals = [sum(counts.get((uid, p), 0) for uid, _ in people) for p in periods]
    return Report(
        key="visits",
        title=_("Visits per rep per day") if group == "day" else _("Visits per rep per week"),
        columns=["rep_id", "rep", *periods, "total"],
        rows=rows,
        totals=["", "total", *col_totals, sum(col_totals)],
        chart=[(str(r[1]), float(r[-1])) for r in rows],
        chart_unit=_("visits"),
        extra={"periods": periods, "group": group, "start": start, "end": end},
    )


# -- coverage per territory ----------------------------------------


def _covered_cond(as_of: date, dialect: str) -> ColumnElement[bool]:
    since = days_since(Account.last_visit_at, as_of, dialect)
    return and_(
        Account.cadence_days.is_not(None),
        Account.last_visit_at.is_not(None),
        since <= Account.cadence_days,
    )


def coverage(user: User, as_of: date) -> Report:
    """Per territory: accounts, those with a cadence, covered, overdue, and the share covered."""
    dialect = dialect_name(db.session)
    covered = func.sum(case((_covered_cond(as_of, dialect), 1), else_=0))
    stmt = scope_accounts(
        select(
            Account.territory_id, func.count(), func.count(Account.cadence_days), covered
        ).where(Account.archived.is_(False)),
        user,
    ).group_by(Account.territory_id)
    found = {tid: (int(n), int(c), int(cov or 0)) for tid, n, c, cov in db.session.execute(stmt)}
    names = _territory_names(found)
    order = sorted(found, key=lambda t: (t is None, names.get(t, "").lower()))
    rows = []
    for tid in order:
        n, with_cadence, cov = found[tid]
        rows.append([tid, names.get(tid, f"#{tid}"), n, with_cadence, cov, with_cadence - cov,
                     _pct(cov, with_cadence)])
    tn = sum(r[2] for r in rows)
    tc = sum(r[3] for r in rows)
    tcov = sum(r[4] for r in rows)
    return Report(
        key="coverage",
        title=_("Coverage per territory on %(date)s", date=local_date(as_of)),
        columns=["territory_id", "territory", "accounts", "with_cadence", "covered", "overdue",
                 "covered_pct"],
        rows=rows,
        totals=["", "total", tn, tc, tcov, tc - tcov, _pct(tcov, tc)],
        chart=[(str(r[1]), float(r[6] or 0.0)) for r in rows],
        chart_unit="%",
        extra={"as_of": as_of},
    )


# -- drift alerts ----------------------------------------


def overdue_accounts(user: User, as_of: date, *, limit: int = 200) -> Report:
    """Accounts overdue by their cadence, most overdue first (never visited first of all)."""
    dialect = dialect_name(db.session)
    since = days_since(Account.last_visit_at, as_of, dialect)
    cond = and_(
        Account.archived.is_(False),
        Account.cadence_days.is_not(None),
        (Account.last_visit_at.is_(None)) | (since > Account.cadence_days),
    )
    base = scope_accounts(select(Account.id).where(cond), user)
    total = int(db.session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    stmt = scope_accounts(
        select(Account.id, Account.name, Account.territory_id, Account.cadence_days,
               Account.last_visit_at, since).where(cond),
        user,
    ).order_by(Account.last_visit_at.is_not(None), (since - Account.cadence_days).desc(),
               Account.id).limit(limit)
    found = db.session.execute(stmt).all()
    names = _territory_names({r[2] for r in found})
    rows = []
    for aid, name, tid, cadence, last, days in found:
        days = None if last is None else int(days)
        rows.append([aid, name, names.get(tid, f"#{tid}"), cadence,
                     last.date().isoformat() if last else "never", days,
                     None if days is None else days - int(cadence)])
    return Report(
        key="overdue",
        title=_("Overdue by cadence on %(date)s", date=local_date(as_of)),
        columns=["account_id", "account", "territory", "cadence_days", "last_visit",
                 "days_since", "days_overdue"],
        rows=rows,
        notes=[_("%(total)s accounts overdue; the %(limit)s most overdue shown", total=total,
                 limit=limit) if total > limit else _("%(total)s accounts overdue", total=total)],
        extra={"total": total, "as_of": as_of},
    )


def falling_frequency(user: User, as_of: date, *, window: int = 90, limit: int = 200) -> Report:
    """Accounts visited at least half as often in the last ``window`` days as in the one before."""
    if not 7 <= window <= 365:
        raise ValidationError("window", "must be between 7 and 365 days")
    end = datetime.combine(as_of + timedelta(days=1), time())
    mid = end - timedelta(days=window)
    start = mid - timedelta(days=window)
    recent = func.sum(case((Interaction.occurred_at >= mid, 1), else_=0))
    prior = func.sum(case((Interaction.occurred_at < mid, 1), else_=0))
    stmt = (
        select(Interaction.account_id, prior, recent)
        .where(
            Interaction.kind == InteractionKind.VISIT,
            Interaction.occurred_at >= start,
            Interaction.occurred_at < end,
        )
        .group_by(Interaction.account_id)
        .having(prior >= MIN_PRIOR_VISITS, recent * 2 <= prior)
    )
    stmt = _where(stmt, _scope_on(Interaction.account_id, user))
    found = [(int(a), int(p), int(r)) for a, p, r in db.session.execute(stmt)]
    archived = set()
    info: dict[int, tuple[str, int | None]] = {}
    ids = [a for a, _, _ in found]
    for chunk in range(0, len(ids), 900):
        for aid, name, tid, arch in db.session.execute(
            select(Account.id, Account.name, Account.territory_id, Account.archived)
            .where(Account.id.in_(ids[chunk:chunk + 900]))
        ):
            info[int(aid)] = (name, tid)
            if arch:
                archived.add(int(aid))
    found = [f for f in found if f[0] not in archived]
    found.sort(key=lambda f: (-(f[1] - f[2]), f[0]))
    names = _territory_names({info[a][1] for a, _, _ in found[:limit]})
    rows = [
        [a, info[a][0], names.get(info[a][1], ""), p, r, round(100.0 * (r - p) / p, 1)]
        for a, p, r in found[:limit]
    ]
    return Report(
        key="falling",
        title=_("Falling visit frequency (%(window)s days vs the %(window)s before)",
                window=window),
        columns=["account_id", "account", "territory", "visits_before", "visits_recent",
                 "change_pct"],
        rows=rows,
        notes=[_("%(total)s accounts; the %(limit)s steepest falls shown", total=len(found),
                 limit=limit) if len(found) > limit else _("%(total)s accounts", total=len(found))],
        extra={"total": len(found), "as_of": as_of, "window": window},
    )


# -- planned vs done ----------------------------------------


def planned_vs_done(user: User, start: date, end: date) -> Report:
    """Per rep and day of published plans: stops planned vs visited, planned vs estimated km."""
    lo, hi = _day_bounds(start, end)
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
    stop_stmt = _where(stop_stmt, _scope_on(RouteStop.account_id, user))
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
                     _pct(done, len(mine)), round(plan_m / 1000.0, 1), est])
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
        totals=["", "total", "", planned, done, _pct(done, planned),
                round(sum(r[6] for r in rows), 1), round(sum(r[7] for r in rows), 1)],
        chart=[(f"{r[1]} {r[2]}", float(r[5] or 0.0)) for r in rows],
        chart_unit=_("% visited"),
        extra={"start": start, "end": end},
    )


# -- pipeline by territory ----------------------------------------

STAGES = [s.value for s in OpportunityStage]
OPEN = [OpportunityStage.QUALIFY.value, OpportunityStage.PROPOSAL.value,
        OpportunityStage.NEGOTIATION.value]


def pipeline_by_territory(user: User) -> Report:
    """Per territory: count and amount per stage, and the open pipeline (not won or lost)."""
    stmt = scope_accounts(
        select(Account.territory_id, Opportunity.stage, func.count(),
               func.coalesce(func.sum(Opportunity.amount), 0))
        .join(Account, Account.id == Opportunity.account_id),
        user,
    ).group_by(Account.territory_id, Opportunity.stage)
    cells: dict[int | None, dict[str, tuple[int, Decimal]]] = defaultdict(dict)
    for tid, stage, n, amount in db.session.execute(stmt):
        key = stage.value if hasattr(stage, "value") else str(stage)
        cells[tid][key] = (int(n), Decimal(str(amount)).quantize(Decimal("0.01")))
    names = _territory_names(cells)
    order = sorted(cells, key=lambda t: (t is None, names.get(t, "").lower()))
    zero = (0, Decimal("0.00"))
    rows = []
    for tid in order:
        per = cells[tid]
        row: list[Any] = [tid, names.get(tid, f"#{tid}")]
        for s in STAGES:
            n, amount = per.get(s, zero)
            row += [n, amount]
        row += [sum(per.get(s, zero)[0] for s in OPEN), sum(per.get(s, zero)[1] for s in OPEN)]
        rows.append(row)
    totals: list[Any] = ["", "total"]
    for i in range(2, 2 + 2 * len(STAGES) + 2):
        totals.append(sum((r[i] for r in rows), Decimal("0.00") if i % 2 else 0))
    columns = ["territory_id", "territory"]
    for s in STAGES:
        columns += [f"{s}_count", f"{s}_amount"]
    columns += ["open_count", "open_amount"]
    return Report(
        key="pipeline",
        title=_("Pipeline by territory"),
        columns=columns,
        rows=rows,
        totals=totals,
        chart=[(str(r[1]), float(r[-1])) for r in rows],
        chart_unit=_("open amount"),
    )


REPORTS = {  # lazy: each page lists them in its reader's language
    "visits": _l("Visits per rep"),
    "coverage": _l("Coverage per territory"),
    "overdue": _l("Overdue by cadence"),
    "falling": _l("Falling visit frequency"),
    "planned": _l("Planned vs done"),
    "pipeline": _l("Pipeline by territory"),
}

#: What each column is called on the page (the CSV keeps the keys: a stable header for tools).
COLUMNS = {
    "rep": _l("Sales rep"),
    "total": _l("Total"),
    "territory": _l("Territory"),
    "accounts": _l("Accounts"),
    "with_cadence": _l("With a cadence"),
    "covered": _l("Covered"),
    "overdue": _l("Overdue"),
    "covered_pct": _l("Covered %"),
    "account": _l("Account"),
    "cadence_days": _l("Cadence (days)"),
    "last_visit": _l("Last visit"),
    "days_since": _l("Days since"),
    "days_overdue": _l("Days overdue"),
    "visits_before": _l("Visits before"),
    "visits_recent": _l("Recent visits"),
    "change_pct": _l("Change %"),
    "day": _l("Day"),
    "stops_planned": _l("Stops planned"),
    "stops_visited": _l("Stops visited"),
    "visited_pct": _l("Visited %"),
    "planned_km": _l("Planned km"),
    "estimated_km": _l("Estimated km"),
    "open_count": _l("Open deals"),
    "open_amount": _l("Open amount"),
}
for _stage in STAGES:
    COLUMNS[f"{_stage}_count"] = _l("%(stage)s: deals", stage=LABELS[_stage])
    COLUMNS[f"{_stage}_amount"] = _l("%(stage)s: amount", stage=LABELS[_stage])

