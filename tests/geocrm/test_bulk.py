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


def test_given_columns_and_shared_literals_store_what_binding_would(app):
    """``columns=`` takes the place of the rows' own keys; on SQLite the values every row
    shares are written into the statement as literals (a quote, a float, a blank), except
    what a literal cannot say exactly (a text with a NUL), which is bound as before; both
    engines read back the same rows."""
    at = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    rows = [{"entity_id": 0, "action": "ignored", "changes": {"i": i}} for i in range(5)]
    bulk.bulk_insert(db.session, AuditEntry.__table__, rows,
                     columns={"entity_id": [10, 11, 12, 13, 14],
                              "action": ["a", "b'c", "", "d", "서울"]},
                     same={"entity": "O'Brien's \"CRM\" 東京", "at": at, "user_id": None})
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:  # PostgreSQL's text cannot hold a NUL
        bulk.bulk_insert(db.session, AuditEntry.__table__, rows[:2],
                         same={"entity": "nul\x00inside", "at": at, "user_id": None})
    got = db.session.execute(select(AuditEntry.entity_id, AuditEntry.action,
                                    AuditEntry.entity, AuditEntry.changes, AuditEntry.at)
                             .order_by(AuditEntry.id)).all()
    assert [(e, a, n, c["i"]) for e, a, n, c, _ in got] == [
        (10, "a", "O'Brien's \"CRM\" 東京", 0), (11, "b'c", "O'Brien's \"CRM\" 東京", 1),
        (12, "", "O'Brien's \"CRM\" 東京", 2), (13, "d", "O'Brien's \"CRM\" 東京", 3),
        (14, "서울", "O'Brien's \"CRM\" 東京", 4),
        *([(0, "ignored", "nul\x00inside", 0), (0, "ignored", "nul\x00inside", 1)]
          if sqlite else [])]
    assert {stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp
            for *_, stamp in got} == {at}


def test_a_given_column_must_have_a_value_per_row(app):
    with pytest.raises(ValueError, match="2 values of entity_id for 3 rows"):
        bulk.bulk_insert(db.session, AuditEntry.__table__,
                         [{"changes": {}}] * 3, columns={"entity_id": [1, 2]},
                         same={"entity": "account", "action": "create",
                               "at": datetime(2026, 11, 27, tzinfo=UTC), "user_id": None})


@pytest.mark.parametrize("value,literal", [
    (None, "NULL"), (7, "7"), (-0.5, "-0.5"), (1e-300, "1e-300"), ("it's", "'it''s'"),
    (float("nan"), None), (float("inf"), None), ("a\x00b", None), (b"raw", None),
    (True, None)])
def test_sqlite_literals_are_exact_or_absent(value, literal):
    assert bulk._sqlite_literal(value) == literal  # noqa: SLF001


def test_insert_columns_needs_columns_of_one_length(app):
    bulk.insert_columns(db.session, Tag.__table__, {"name": ["가", "あ", "a"]})
    assert list(db.session.scalars(select(Tag.name).order_by(Tag.id))) == ["가", "あ", "a"]
    with pytest.raises(ValueError, match="lengths"):
        bulk.insert_columns(db.session, AuditEntry.__table__,
                            {"entity_id": [1, 2], "changes": ["{}"]}, json_text=("changes",))
    bulk.insert_columns(db.session, Tag.__table__, {})  # nothing to insert
