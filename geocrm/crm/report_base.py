"""What every report shares: the :class:`Report` shape, the viewer's scope as a SQL
condition, the date range check, and the names of territories and reps.

The reports themselves live in :mod:`geocrm.crm.reports` (and planned vs done in
:mod:`geocrm.crm.report_plans`); the scoping rules are described there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.sql.elements import ColumnElement

from geocrm.access import scope_accounts, territory_ids_for
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Role, Territory, User, territory_reps

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


def visible_ids(user: User) -> Select[Any] | None:
    """``SELECT id FROM accounts`` scoped to ``user``; ``None`` when the user sees all."""
    if territory_ids_for(user) is None and user.is_authenticated:
        return None
    return scope_accounts(select(Account.id), user)


def scope_on(column: Any, user: User) -> ColumnElement[bool] | None:
    """``column IN (the user's accounts)``, or ``None`` (no condition) when they see all."""
    ids = visible_ids(user)
    return None if ids is None else column.in_(ids)


def where_scoped(stmt: Select[Any], cond: ColumnElement[bool] | None) -> Select[Any]:
    """``stmt`` narrowed by a :func:`scope_on` condition, unchanged when there is none."""
    return stmt if cond is None else stmt.where(cond)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Half-open datetimes for the days ``start``..``end``; a reversed or over-long range is
    refused, naming the field, rather than scanning years of interactions."""
    if end < start:
        raise ValidationError("end", "is before start")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationError("end", f"a report covers at most {MAX_RANGE_DAYS} days")
    return datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())


def territory_names(ids: Iterable[int | None]) -> dict[int | None, str]:
    """Names of the territories a report's rows mention, ``None`` as unassigned."""
    real = [i for i in ids if i is not None]
    names: dict[int | None, str] = {None: UNASSIGNED}
    if real:
        names.update(db.session.execute(
            select(Territory.id, Territory.name).where(Territory.id.in_(real))
        ).all())
    return names


def visible_reps(user: User) -> list[tuple[int, str]]:
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


def pct(part: int, whole: int) -> float | None:
    """A percentage to one decimal; ``None`` (an empty cell, not 0 %) when ``whole`` is 0."""
    return None if whole == 0 else round(100.0 * part / whole, 1)


__all__ = [
    "MAX_RANGE_DAYS", "UNASSIGNED", "Report", "day_bounds", "pct", "scope_on",
    "territory_names", "visible_ids", "visible_reps", "where_scoped",
]
