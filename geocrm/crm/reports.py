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

The shared shape and scoping helpers live in :mod:`geocrm.crm.report_base`, planned vs
done in :mod:`geocrm.crm.report_plans`; every report is importable from here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from geocrm.access import scope_accounts
from geocrm.crm.report_base import (
    MAX_RANGE_DAYS,
    UNASSIGNED,
    Report,
    day_bounds,
    pct,
    scope_on,
    territory_names,
    visible_reps,
    where_scoped,
)
from geocrm.crm.report_plans import CIRCUITY, planned_vs_done
from geocrm.crm.sqltime import as_date, day_of, days_since, dialect_name
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import LABELS, local_date, week_start
from geocrm.models import (
    Account,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    User,
)

MIN_PRIOR_VISITS = 2


# -- visits per rep per day / week --------------------------------------------------------------


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_label(day: date, first_day: int) -> str:
    """The week ``day`` falls in, for a calendar whose weeks start on ``first_day`` (0 =
    Monday): the ISO week (2024-W26) when weeks start on Monday, else the date of the week's
    first day (2024-06-23 for a Sunday week, as Korean and Japanese calendars print them)."""
    if first_day == 0:
        return iso_week(day)
    return (day - timedelta(days=(day.weekday() - first_day) % 7)).isoformat()


def visits_per_rep(user: User, start: date, end: date, *, group: str = "day",
                   first_day: int | None = None) -> Report:
    """Visits logged per rep and per day (or week) between ``start`` and ``end``; weeks start
    on ``first_day`` (0 = Monday), by default the reader's (:func:`geocrm.i18n.week_start`)."""
    if group not in ("day", "week"):
        raise ValidationError("group", "must be day or week")
    first = week_start() if first_day is None else first_day
    lo, hi = day_bounds(start, end)
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
    stmt = where_scoped(stmt, scope_on(Interaction.account_id, user))
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    users: set[int | None] = set()
    for uid, d, n in db.session.execute(stmt):
        d = as_date(d)
        period = d.isoformat() if group == "day" else week_label(d, first)
        counts[(uid, period)] += int(n)
        users.add(uid)
    names: dict[int | None, str] = {uid: name for uid, name in visible_reps(user)}
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
        label = d.isoformat() if group == "day" else week_label(d, first)
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
    names = territory_names(found)
    order = sorted(found, key=lambda t: (t is None, names.get(t, "").lower()))
    rows = []
    for tid in order:
        n, with_cadence, cov = found[tid]
        rows.append([tid, names.get(tid, f"#{tid}"), n, with_cadence, cov, with_cadence - cov,
                     pct(cov, with_cadence)])
    tn = sum(r[2] for r in rows)
    tc = sum(r[3] for r in rows)
    tcov = sum(r[4] for r in rows)
    return Report(
        key="coverage",
        title=_("Coverage per territory on %(date)s", date=local_date(as_of)),
        columns=["territory_id", "territory", "accounts", "with_cadence", "covered", "overdue",
                 "covered_pct"],
        rows=rows,
        totals=["", "total", tn, tc, tcov, tc - tcov, pct(tcov, tc)],
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
    names = territory_names({r[2] for r in found})
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
    stmt = where_scoped(stmt, scope_on(Interaction.account_id, user))
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
    names = territory_names({info[a][1] for a, _, _ in found[:limit]})
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
    names = territory_names(cells)
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

#: What each column is called on the page and in the CSV's header (``?header=keys`` gives the
#: keys instead: a stable header for tools).
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


def csv_header(columns: Sequence[str]) -> list[str]:
    """A report's CSV header as people read it, in their language: the page's column names,
    "ID" for the id columns; periods (dates, weeks) as they are."""
    return [str(COLUMNS.get(c) or (_("ID") if c.endswith("_id") else c)) for c in columns]


def csv_totals(row: Sequence[Any]) -> list[Any]:
    """The totals row with its "total" label in the reader's language."""
    return [str(COLUMNS["total"]) if cell == "total" else cell for cell in row]


__all__ = [
    "CIRCUITY", "COLUMNS", "MAX_RANGE_DAYS", "MIN_PRIOR_VISITS", "OPEN", "REPORTS", "STAGES",
    "UNASSIGNED", "Report", "coverage", "csv_header", "csv_totals", "falling_frequency",
    "iso_week", "overdue_accounts",
    "week_label",
    "pipeline_by_territory", "planned_vs_done", "visits_per_rep",
]
