"""SQLite transactions that wait for the write lock instead of failing with "database is locked".

pysqlite (Python's ``sqlite3`` before 3.12) runs reads outside any transaction and starts its
own deferred ``BEGIN`` just before the first INSERT/UPDATE/DELETE. A view that reads a value
and writes something based on it therefore does so in two steps another writer can come
between: the second writer's update is lost, or, once a read shares the transaction, its late
upgrade to a write lock fails at once (``SQLITE_BUSY_SNAPSHOT`` in WAL mode, which
``busy_timeout`` does not cover).

For transactions that will write, this module follows SQLAlchemy's recipe for pysqlite
transaction control (its SQLite dialect notes, "Serializable isolation / Savepoints /
Transactional DDL"): pysqlite's own ``BEGIN`` is switched off and ``BEGIN IMMEDIATE`` is
emitted when SQLAlchemy begins the transaction. The write lock is taken first, and waited
for (up to ``busy_timeout``) instead of failing; reads and writes in the transaction are
one serializable unit, and SAVEPOINTs nest properly. Readers carry on meanwhile (WAL).

Which transactions will write: those of PUT/PATCH/DELETE requests (edits that read the
current version, check ``If-Match`` and write) and any begun inside :func:`write_intent`
(jobs and commands that read, then write, while others write too). POST is not among them:
many POSTs only read (near-me takes its position in the body, to keep it out of URLs), and a
write lock taken at their BEGIN would queue every one of them behind every writer. A POST
that writes keeps pysqlite's handling: its BEGIN comes just before its first write, which
waits for the lock (``busy_timeout``) like ours. Every other transaction keeps pysqlite's
own handling too, so a read-only page or a long read in a job never holds the write lock.

In-memory databases (one connection shared by every thread through ``StaticPool``) always
keep pysqlite's own handling: an explicit ``BEGIN`` per session on one shared connection
would collide between threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: Methods whose requests always write: their transactions take the write lock at BEGIN.
WRITE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
#: ``connection_record.info`` key set on file databases whose BEGIN this module emits.
_OWN_BEGIN = "geocrm_sqlite_begin"
_write_intent: ContextVar[bool] = ContextVar("geocrm_sqlite_write_intent", default=False)


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside this block (in this thread) are ``BEGIN IMMEDIATE`` on SQLite.

    For writers outside a POST-like request (jobs, commands) that read before they write
    while other connections write too. No effect on PostgreSQL.
    """
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def wants_write_lock() -> bool:
    """Whether a transaction beginning now should take SQLite's write lock first."""
    if _write_intent.get():
        return True
    return has_request_context() and request.method in WRITE_METHODS


@event.listens_for(Engine, "connect")
def _mark_file_database(dbapi_connection: Any, connection_record: Any) -> None:
    """Note SQLite file databases: their write transactions get our own BEGIN IMMEDIATE."""
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    try:
        files = [row[2] for row in cursor.execute("PRAGMA database_list")]
    finally:
        cursor.close()
    if files and files[0]:  # "" for in-memory and temporary databases
        connection_record.info[_OWN_BEGIN] = True


@event.listens_for(Engine, "begin")
def _begin(conn: Connection) -> None:
    """A writing transaction: pysqlite's BEGIN off, ours on; else pysqlite's own handling."""
    if not conn.connection.info.get(_OWN_BEGIN):
        return
    dbapi_connection = conn.connection.dbapi_connection
    if wants_write_lock():
        # None: pysqlite emits no BEGIN of its own (nor COMMIT before DDL); commit() and
        # rollback() still end the transaction we open here.
        dbapi_connection.isolation_level = None  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        dbapi_connection.isolation_level = ""  # type: ignore[union-attr]  # pysqlite's default
