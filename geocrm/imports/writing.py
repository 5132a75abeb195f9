"""Writing an import in bulk: ids reserved, executemany inserts and updates, tags, history,
source records, conflicts and the audit trail."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, func, insert, select, update

from geocrm.bulk import bulk_insert, insert_columns
from geocrm.core import audit
from geocrm.core.assignment import chunks, moves_for_points, record_moves
from geocrm.extensions import db
from geocrm.imports.matching import Plan, source_values
from geocrm.imports.results import ImportResult
from geocrm.imports.rows import Cleaned
from geocrm.models import (
    Account,
    AssignmentHistory,
    AuditEntry,
    ImportBatch,
    Stage,
    Tag,
    Territory,
    User,
    account_tags,
)
from geocrm.models.provenance import ImportConflict, SourceRecord
from geocrm.spatial import assign_points


def write_import(
    plan: Plan, result: ImportResult, *, user: User | None, source: str, now: datetime,
    columns: Cleaned | None = None,
) -> None:
    """Write a plan in bulk: the batch, new accounts (placed, tagged, their history opened),
    updates (moved pins re-placed with history), snapshot flags, source records, conflicts,
    and an audit entry per account changed naming the source, the file and the row.

    ``columns`` are the file's cleaned columns the plan's rows were made from, when there
    is a file (:class:`~geocrm.imports.rows.Cleaned`): new accounts' values are read from
    them.

    Flushes; the upload view, the CLI command or the job commits.
    """
    # The batch row first: on SQLite this write takes the database lock, so the ids
    # reserved below cannot be taken by another writer before we insert.
    batch = ImportBatch(
        filename=result.filename, sha256=result.sha256, source=source,
        status=result.status, created_by_id=user.id if user else None,
        counts=result.counts,
        duplicates=[d.__dict__ for d in result.duplicates[:5000]], rejects=[],
    )
    db.session.add(batch)
    db.session.flush()
    result.batch_id = batch.id
    writer = _Writer(plan, batch, user, source, now, columns)
    writer.insert_accounts()
    writer.update_accounts()
    writer.flag_missing()
    _write_records(plan, writer.new_records, batch.id, source, now)
    _write_conflicts(plan, batch.id, source, now)
    # Stored forms (JSON-ready), serialised by the writer: no encoder run per new account.
    with indexes_rebuilt(AuditEntry.__table__, len(writer.created[0])):
        audit.record_created("account", *writer.created, user=user, at=now)
    audit.record_many(writer.trail, user=user, at=now, serialized=True)
    db.session.add(AuditEntry(
        user_id=user.id if user else None, entity="import_batch", entity_id=batch.id,
        action="import", changes={"filename": result.filename, **result.counts},
    ))
    db.session.flush()  # the upload view, the CLI command or the job commits


class _Writer:
    """The steps of :func:`write_import`, collecting the audit trail as they go."""

    def __init__(self, plan: Plan, batch: ImportBatch, user: User | None, source: str,
                 now: datetime, columns: Cleaned | None = None) -> None:
        self.plan, self.batch, self.user, self.source, self.now = plan, batch, user, source, now
        self.columns = columns
        self.user_id = user.id if user else None
        self.territories = list(db.session.scalars(select(Territory)))
        self.trail: list[dict[str, Any]] = []  # "changes" as JSON text (json.dumps)
        # New accounts: their source records' columns (the values as JSON text) and (ids,
        # the "create" audit entries' changes as JSON text).
        self.new_records: dict[str, Sequence[Any]] = {}
        self.created: tuple[list[int], list[str]] = ([], [])
        # A created account's changes are only its origin: the JSON text of
        # origin(row) is this prefix, the row number and "}}" (json.dumps's own output).
        template = json.dumps(self.origin(0))
        assert template.endswith('"row": 0}}')
        self.origin_prefix = template[:-len("0}}")]

    def origin(self, row: int | None) -> dict[str, Any]:
        """Where a change came from, as its audit entry says."""
        return {"import": {"batch": self.batch.id, "source": self.source,
                           "file": self.batch.filename, "row": row}}

    def audit(self, entity_id: int, changes: dict[str, Any]) -> None:
        """An update's audit entry, its changes (JSON-ready) serialised once."""
        self.trail.append({"entity": "account", "entity_id": entity_id, "action": "update",
                           "changes": json.dumps(changes)})

    def insert_accounts(self) -> None:
        """New accounts: placed, tagged, their source record and history opened.

        Built a column at a time: the values come from the file's cleaned columns when
        there is a file (else from the rows), defaults, ids and territories are columns
        of their own (the rows keep what the file said), what every new account shares is
        given once (``same=``), and the source records, audit entries, history rows and
        tag links are made as columns, without a dict per account, while SQLite builds
        the accounts' indexes (:func:`indexes_rebuilt`).
        """
        plan, now = self.plan, self.now
        if not plan.inserts:
            return
        ids = _reserve_account_ids(len(plan.inserts))
        numbers = [number for number, _ in plan.inserts]
        new_rows = [row for _, row in plan.inserts]
        given = self.columns.take(numbers) if self.columns is not None else None
        accounts = Account.__table__.c
        blank = {k: None for k in self.columns.blank if k in accounts} if given else {}

        def column(key: str) -> Sequence[Any]:
            if given is None:
                return [row.get(key) for row in new_rows]
            return [None] * len(new_rows) if key in self.columns.blank else given[key]

        lats = column("lat")
        tids = assign_points(lats, column("lon"), self.territories)
        plan.created = list(zip(ids, tids, strict=True))
        lead = Stage.LEAD
        filled = {
            **(given or {}),
            "id": ids, "territory_id": tids,
            "stage": [lead if s is None else s for s in column("stage")],
            "visit_minutes": [30 if m is None else m for m in column("visit_minutes")],
            "priority": [3 if p is None else p for p in column("priority")],
            "location_source": ["import" if lat is not None else None for lat in lats],
        }
        for key in filled:
            blank.pop(key, None)
        names = {t.id: t.name for t in self.territories}
        prefix = self.origin_prefix
        unfilled = self.columns.blank if given is not None else frozenset()
        history: dict[str, list[Any]] = {}
        tag_links: tuple[list[int], list[str]] = ([], [])

        def prepare() -> None:  # Python alone: it runs while SQLite builds the indexes
            # What the file said, without the defaults the account takes.
            self.new_records = {
                "account_id": ids, "external_id": column("external_id"), "row": numbers,
                "values": [json_text(source_values(r, unfilled)) for r in new_rows]}
            self.created = (ids, [f"{prefix}{int(n)}}}}}" for n in numbers])
            # Who owned what since when starts with the import that placed the account.
            placed = [(i, tid) for i, tid in zip(ids, tids, strict=True) if tid is not None]
            history["account_id"] = [i for i, _ in placed]
            history["territory_id"] = [tid for _, tid in placed]
            history["territory_name"] = [names[tid] for _, tid in placed]
            for i, tags in zip(ids, column("tags"), strict=True):
                for tag in tags:
                    tag_links[0].append(i)
                    tag_links[1].append(tag)

        # The ids are set: one prepared statement, no per-row RETURNING.
        with indexes_rebuilt(Account.__table__, len(new_rows), meanwhile=prepare):
            bulk_insert(db.session, Account.__table__, new_rows, columns=filled, same={
                **blank, "source": self.source, "owner_id": None, "created_at": now,
                "updated_at": now, "version": 1, "custom_fields": {}, "archived": False})
        _write_tags(*tag_links)
        insert_columns(db.session, AssignmentHistory.__table__, history,
                       same={"since": now, "until": None, "changed_by_id": self.user_id,
                             "reason": "import"})

    def update_accounts(self) -> None:
        """Changed fields (a new version), accounts back in the snapshot, moved pins."""
        plan, now = self.plan, self.now
        updates = []
        versions = _versions(list(plan.updates) + plan.unflag)
        for aid, cols in plan.updates.items():
            if aid in plan.changes:
                updates.append({**cols, "id": aid, "version": versions[aid] + 1,
                                "updated_at": now})
        for aid in plan.unflag:
            if aid in plan.changes:
                next(u for u in updates if u["id"] == aid)["missing_since"] = None
            else:
                updates.append({"id": aid, "missing_since": None})
        for aid, (number, changes) in plan.changes.items():
            if aid in plan.unflag:
                changes = {**changes, "missing_since": ["flagged", None]}
            self.audit(aid, {**self.origin(number), **changes})
        for aid in plan.unflag:
            if aid not in plan.changes:
                self.audit(aid, {**self.origin(None), "missing_since": ["flagged", None]})
        # Moved pins are re-placed by the same rule as a pin moved by hand, in bulk.
        changed_hands = moves_for_points([u for u in updates if "lat" in u], self.territories)
        # executemany per set of changed columns (bulk UPDATE by primary key).
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in updates:
            groups.setdefault(tuple(sorted(u)), []).append(u)
        for group in groups.values():
            db.session.execute(update(Account), group)
        if changed_hands:  # a re-import moved these pins into another territory
            db.session.flush()
            record_moves(changed_hands, user_id=self.user_id, reason="import: pin moved",
                         now=now)

    def flag_missing(self) -> None:
        """A snapshot's accounts that the file no longer has: flagged, never deleted."""
        missing = self.plan.missing
        if not missing:
            return
        db.session.execute(update(Account), [{"id": i, "missing_since": self.now}
                                             for i in missing])
        for i in missing:
            self.audit(i, {**self.origin(None), "missing_since": [None, self.now.isoformat()]})


def _versions(ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in chunks(sorted(set(ids)), 900):
        out.update(db.session.execute(
            select(Account.id, Account.version).where(Account.id.in_(chunk))).all())
    return out


def _write_records(plan: Plan, new: Mapping[str, Sequence[Any]], batch_id: int,
                   source: str, now: datetime) -> None:
    """The source records: of new accounts (``new``: their columns, the values as JSON
    text), of first matches, and changed values."""
    same = {"source": source, "batch_id": batch_id, "imported_at": now}
    count = len(new.get("account_id", ()))
    if count:
        with indexes_rebuilt(SourceRecord.__table__, count):
            insert_columns(db.session, SourceRecord.__table__, new, json_text=("values",),
                           same=same)
    if plan.records:
        bulk_insert(db.session, SourceRecord.__table__, [
            {"account_id": r["account_id"], "external_id": r["external_id"],
             "values": json_text(r["values"]), "row": r["row"]} for r in plan.records],
            json_text=("values",), same=same)
    if plan.record_updates:
        db.session.execute(update(SourceRecord), [
            {"id": rid, "values": u["values"], "row": u["row"], "batch_id": batch_id,
             "imported_at": now} for rid, u in plan.record_updates.items()])


def json_text(value: Any) -> str:
    """A JSON-ready value as the text a JSON column stores (orjson: a tenth of the time of
    ``json.dumps`` at 100,000 source records; both engines read it back alike)."""
    return orjson.dumps(value).decode()


def _write_conflicts(plan: Plan, batch_id: int, source: str, now: datetime) -> None:
    """New conflicts; an open one of the same field is superseded by the newer word."""
    if not plan.conflicts:
        return
    for chunk in chunks(sorted({c.account for c in plan.conflicts}), 900):
        db.session.execute(
            update(ImportConflict)
            .where(ImportConflict.account_id.in_(chunk), ImportConflict.status == "open",
                   ImportConflict.field.in_({c.field for c in plan.conflicts}))
            .values(status="superseded", resolved_at=now)
            .execution_options(synchronize_session=False))
    bulk_insert(db.session, ImportConflict.__table__, [
        {"account_id": c.account, "batch_id": batch_id, "source": source,
         "external_id": c.external_id, "row": c.row, "field": c.field, "current": c.current,
         "imported": c.imported, "status": "open", "created_at": now, "resolved_by_id": None,
         "resolved_at": None} for c in plan.conflicts])


#: Rows an insert must add before :func:`indexes_rebuilt` considers it (a small import
#: updates the indexes faster than it could rebuild them).
REBUILD_FROM = 10_000


@contextmanager
def indexes_rebuilt(table: Table, adding: int, *,
                    meanwhile: Callable[[], None] | None = None) -> Iterator[None]:
    """On SQLite, when ``adding`` rows at least double ``table``, drop its secondary
    indexes for the insert and build them again after it, in the same transaction.

    Building an index from sorted rows is cheaper than updating it at 100,000 random
    keys (measured: the accounts insert of the import benchmark ~25 % less CPU). DDL is
    transactional in SQLite: a failed import rolls back to the same indexes, and other
    connections only ever see the committed schema. Unique indexes stay (they guard the
    rows as they go in). Other engines: nothing changes.

    ``meanwhile`` is work in Python alone (it must not touch the database) that runs after
    the block. While it runs, a second thread builds the indexes: ``CREATE INDEX`` is one
    long step of SQLite's, run without the GIL, so on a second core it costs no wall time
    (100,000 accounts: nine indexes, the source records' JSON beside them).
    """
    conn = db.session.connection()
    indexes = _rebuildable_indexes(conn, table, adding)
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    if indexes:
        beside(conn.connection.driver_connection, [sql for _, sql in indexes], meanwhile)
    elif meanwhile is not None:
        meanwhile()


def _rebuildable_indexes(conn: Any, table: Table, adding: int) -> list[tuple[str, str]]:
    """The secondary indexes (name, SQL) :func:`indexes_rebuilt` drops and builds again;
    none unless SQLite gets at least :data:`REBUILD_FROM` rows that double the table."""
    if conn.dialect.name != "sqlite" or adding < REBUILD_FROM:
        return []
    existing = conn.execute(select(func.count()).select_from(table)).scalar_one()
    if existing * 2 > adding:
        return []
    return [(name, sql) for name, sql in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL", (table.name,)) if not sql.upper().startswith("CREATE UNIQUE")]


def beside(driver_connection: Any, statements: list[str],
           meanwhile: Callable[[], None] | None) -> None:
    """Run ``statements`` on the SQLite connection in a second thread while ``meanwhile``
    runs in this one; return when both are done, raising the first failure.

    Only long statements belong here (an index build): each step the thread ends waits
    for the GIL. ``meanwhile`` must not use the connection (SQLite would make it wait for
    the thread, and the session's state is this thread's). SQLAlchemy opens file
    databases without the driver's same-thread check, and SQLite serialises the calls.
    """
    if meanwhile is None:
        _execute_all(driver_connection, statements)
        return
    failure: list[BaseException] = []
    here: list[bool] = []  # the connection refuses other threads: built here, after

    def build() -> None:
        try:
            cursor = driver_connection.cursor()
        except sqlite3.ProgrammingError as exc:  # opened with check_same_thread=True
            if "thread" not in str(exc):
                failure.append(exc)
            here.append(True)
            return
        try:
            _execute_all(driver_connection, statements, cursor)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=build, name="sqlite-index-build")
    thread.start()
    try:
        meanwhile()
    finally:
        thread.join()  # the connection is free again before anything else (a rollback)
    if failure:
        raise failure[0]
    if here:
        _execute_all(driver_connection, statements)


def _execute_all(driver_connection: Any, statements: list[str], cursor: Any = None) -> None:
    cursor = cursor if cursor is not None else driver_connection.cursor()
    try:
        for sql in statements:
            cursor.execute(sql)
    finally:
        cursor.close()


def _reserve_account_ids(n: int) -> list[int]:
    """``n`` fresh account ids: from the sequence on PostgreSQL, after max(id) on SQLite."""
    if n == 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(
            select(func.nextval(func.pg_get_serial_sequence("accounts", "id")))
            .select_from(func.generate_series(1, n))
        ))
    start = (db.session.scalar(select(func.max(Account.id))) or 0) + 1
    return list(range(start, start + n))


def _write_tags(accounts: list[int], names: list[str]) -> None:
    """Tag links, ``accounts[i]`` tagged ``names[i]``; tags not known yet are made."""
    if not names:
        return
    distinct = sorted(set(names))
    known = dict(db.session.execute(
        select(Tag.name, Tag.id).where(Tag.name.in_(distinct))).all())
    fresh = [n for n in distinct if n not in known]
    if fresh:
        db.session.execute(insert(Tag), [{"name": n} for n in fresh])
        known.update(db.session.execute(
            select(Tag.name, Tag.id).where(Tag.name.in_(fresh))).all())
    insert_columns(db.session, account_tags,
                   {"account_id": accounts, "tag_id": list(map(known.__getitem__, names))})
