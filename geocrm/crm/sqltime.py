"""Day arithmetic in SQL that reads the same on SQLite and PostgreSQL.

Reports and segments compare "days since the last visit" with each account's own cadence,
so the subtraction has to happen in the database, per row; the two engines spell it
differently. Timestamps are naive UTC on both (see :func:`geocrm.models.types.utcnow`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, cast, func, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def dialect_name(session: Session) -> str:
    return str(session.get_bind().dialect.name)


def days_since(column: Any, as_of: date, dialect: str) -> ColumnElement[Any]:
    """Whole days from the calendar day of ``column`` to ``as_of`` (``NULL`` stays ``NULL``)."""
    if dialect == "postgresql":
        return literal(as_of, Date) - cast(column, Date)
    return cast(func.julianday(as_of.isoformat()) - func.julianday(func.date(column)), Integer)


def day_of(column: Any, dialect: str) -> ColumnElement[Any]:
    """The calendar day of a timestamp column (a ``date`` on PostgreSQL, text on SQLite)."""
    if dialect == "postgresql":
        return cast(column, Date)
    return func.date(column)


def as_date(value: Any) -> date:
    """A day as the drivers return it (``date`` or ``'YYYY-MM-DD'``) → ``date``."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
