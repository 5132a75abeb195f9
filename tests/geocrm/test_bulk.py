"""bulk_insert writes every row once, in order, whatever the batch size, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from geocrm import bulk
from geocrm.extensions import db
from geocrm.models import AuditEntry, Tag


@pytest.mark.parametrize("count", [1, 99, 100, 101, 257])
def test_every_row_lands_once_in_order(app, count):
    """A hundred rows to a statement on SQLite: full statements, then the rest in one."""
    bulk.bulk_insert(db.session, Tag.__table__, [{"name": f"태그 {i}"} for i in range(count)])
    names = list(db.session.scalars(select(Tag.name).order_by(Tag.id)))
    assert names == [f"태그 {i}" for i in range(count)]


def test_wide_rows_stay_within_the_variable_limit(app, monkeypatch):
    """Rows per statement shrink so that no statement binds more variables than allowed;
    the same values (``same=``) and converted columns (JSON, datetimes) still line up."""
    monkeypatch.setattr(bulk, "_SQLITE_VARIABLES", 20)  # 6 columns: 3 rows a statement
    at = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    rows = [{"entity_id": i, "changes": {"row": i, "名前": "ラーメン"}} for i in range(11)]
    bulk.bulk_insert(db.session, AuditEntry.__table__, rows,
                     same={"entity": "account", "action": "create", "at": at,
                           "user_id": None})
    got = db.session.execute(select(AuditEntry.entity_id, AuditEntry.changes, AuditEntry.entity)
                             .order_by(AuditEntry.id)).all()
    assert [(e, c["row"], c["名前"], n) for e, c, n in got] == [
        (i, i, "ラーメン", "account") for i in range(11)]


def test_a_bad_row_fails_the_insert(app):
    """A constraint broken by row 150 fails the call; the caller's rollback leaves nothing."""
    rows = [{"name": f"t{i}"} for i in range(200)]
    rows[150] = {"name": "t3"}
    # The driver's own error: bulk_insert talks to the driver, past SQLAlchemy's wrapping.
    with pytest.raises((IntegrityError, db.engine.dialect.dbapi.IntegrityError)):
        bulk.bulk_insert(db.session, Tag.__table__, rows)
    db.session.rollback()
    assert db.session.scalar(select(Tag.id).limit(1)) is None
