"""Data migrations: stored values get one spelling (0008) and keys in every script (0009)."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from geocrm import create_app
from geocrm.extensions import db
from tests.geocrm.migrations.test_migrations import _fresh_postgres_database

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = "CURRENT_TIMESTAMP"


@pytest.mark.parametrize("engine", ENGINES)
def test_old_spellings_and_ascii_keys_are_rewritten(engine, tmp_path):
    """Rows written before 0008/0009 read 'checkin', 'not_interested' and real CJK keys after."""
    url = (f"sqlite:///{tmp_path / 'v.sqlite'}" if engine == "sqlite"
           else _fresh_postgres_database())
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    with app.app_context():
        try:
            upgrade(revision="0007")
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO accounts (id, name, name_key, address, address_key, "
                    "location_source, stage, archived, source, visit_minutes, priority, "
                    "custom_fields, version, created_at, updated_at) VALUES "
                    "(1, '서울식당', '', '세종대로 110', NULL, 'check-in', 'lead', false, 'x', "
                    " 20, 3, '{}', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    "(2, 'Ølhus Oy', 'lhus', NULL, NULL, 'checkin', 'lead', false, 'x', "
                    " 20, 3, '{}', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    "(3, 'Bar', 'bar', NULL, NULL, 'import', 'lead', false, 'x', "
                    " 20, 3, '{}', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
                conn.execute(text(
                    "INSERT INTO users (id, email, name, password_hash, role, active,"
                    " work_start_min, work_end_min, lunch_minutes, work_days, created_at)"
                    " VALUES (1,"
                    " 'r@example.com', 'R', 'x', 'rep', true, 480, 960, 30, '0,1,2,3,4',"
                    " CURRENT_TIMESTAMP)"))
                rows = [(1, "visit", "not interested"), (2, "visit", "order placed"),
                        (3, "call", "not_interested"), (4, "visit", "demo given"),
                        (5, "campaign_response", "interested")]
                for n, kind, outcome in rows:
                    conn.execute(text(
                        "INSERT INTO interactions (id, uuid, account_id, user_id, kind, outcome,"
                        f" occurred_at, created_at) VALUES (:n, :u, 1, 1, :k, :o, {NOW}, {NOW})"),
                        {"n": n, "u": f"u{n}", "k": kind, "o": outcome})
            upgrade()
            with db.engine.connect() as conn:
                accounts = conn.execute(text(
                    "SELECT id, name_key, address_key, location_source FROM accounts ORDER BY id"
                )).all()
                outcomes = conn.execute(text(
                    "SELECT outcome FROM interactions ORDER BY id")).scalars().all()
            assert [tuple(r) for r in accounts] == [
                (1, "서울식당", "세종대로 110", "checkin"), (2, "ølhus", None, "checkin"),
                (3, "bar", None, "import")]
            assert outcomes == ["not_interested", "order_placed", "not_interested", "demo given",
                                "interested"]
        finally:
            db.session.remove()
            db.engine.dispose()
