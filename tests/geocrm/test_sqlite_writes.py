"""SQLite writers wait for each other instead of failing with "database is locked" (issue 18).

Without our BEGIN IMMEDIATE, pysqlite's own handling loses increments here (the read runs
outside the write's transaction), and a deferred BEGIN fails with "database is locked".
SQLite only: PostgreSQL has row locks and never had the problem. Each test uses a file
database (WAL, as served), since in-memory databases share one connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from geocrm import create_app, write_intent
from geocrm.extensions import db
from geocrm.sqlite_tx import wants_write_lock

THREADS = 8
ROUNDS = 12


@pytest.fixture
def file_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a SQLite file with one counter row to fight over."""
    app = create_app({"TESTING": True, "SECRET_KEY": "t",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.sqlite'}"})
    with app.app_context():
        db.session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        db.session.execute(text("INSERT INTO counter VALUES (1, 0)"))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def _increment() -> None:
    """Read, then write what was read plus one: the read-then-write shape of every view."""
    n = db.session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
    db.session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
    db.session.commit()


def _hammer(app: Flask, context: Callable[[], AbstractContextManager[object]]) -> list[str]:
    """THREADS threads, started together, each incrementing ROUNDS times; their errors."""
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def work() -> None:
        start.wait()
        for _ in range(ROUNDS):
            try:
                with context():
                    _increment()
            except Exception as exc:  # noqa: BLE001 - every failure is what we count
                errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _count() -> int:
    return int(db.session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one())


def test_concurrent_patch_requests_all_commit(file_app: Flask) -> None:
    """Concurrent PATCHes reading then writing one row: none fails and no increment is lost."""
    errors = _hammer(file_app, lambda: file_app.test_request_context("/", method="PATCH"))
    assert errors == []
    assert _count() == THREADS * ROUNDS


def test_jobs_declare_their_writes(file_app: Flask) -> None:
    """Writers outside a request (jobs, commands) get the same waiting under write_intent()."""

    def job_context() -> AbstractContextManager[object]:
        class Both:
            def __enter__(self) -> None:
                self.app_ctx = file_app.app_context()
                self.app_ctx.push()
                self.intent = write_intent()
                self.intent.__enter__()

            def __exit__(self, *exc: object) -> None:
                self.intent.__exit__(None, None, None)
                db.session.remove()
                self.app_ctx.pop()

        return Both()

    errors = _hammer(file_app, job_context)
    assert errors == []
    assert _count() == THREADS * ROUNDS


def test_reads_do_not_take_the_write_lock(file_app: Flask) -> None:
    """GETs and POSTs (near-me is a POST that only reads) do not take the write lock; they
    read while a PATCH holds it."""
    writer = db.engine.connect()
    with file_app.test_request_context("/", method="POST"):
        assert not wants_write_lock()
    with file_app.test_request_context("/", method="PATCH"):
        assert wants_write_lock()
        writer.begin()
        writer.execute(text("UPDATE counter SET n = 41 WHERE id = 1"))
    seen: list[int] = []

    def read() -> None:
        with file_app.test_request_context("/", method="GET"):
            assert not wants_write_lock()
            seen.append(_count())

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    writer.commit()
    writer.close()
    assert seen == [0]  # the committed value before the writer's, without waiting for it
    assert _count() == 41


def test_savepoints_roll_back_alone(file_app: Flask) -> None:
    """With our own BEGIN, a SAVEPOINT really nests (pysqlite's own handling broke them)."""
    with file_app.test_request_context("/", method="DELETE"):
        db.session.execute(text("UPDATE counter SET n = 1 WHERE id = 1"))
        nested = db.session.begin_nested()
        db.session.execute(text("UPDATE counter SET n = 2 WHERE id = 1"))
        nested.rollback()
        db.session.commit()
        assert _count() == 1
