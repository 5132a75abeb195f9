"""The outbox replay: each client-generated id is applied exactly once.

The phone sends its queued writes in order; each one runs in its own transaction together
with the :class:`SyncRecord` that claims its ``id``. The unique constraint on
``client_id`` makes the second of two concurrent replays fail to insert, roll back, and
answer the first one's stored result. Rejected writes (4xx) are stored too, so a replay
gets the same answer instead of a different one.
"""

from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.exc import DataError, IntegrityError

from geocrm.access import get_account_or_404
from geocrm.accounts.services import update_account
from geocrm.core.accounts import EDITABLE
from geocrm.errors import GeocrmError, ValidationError
from geocrm.extensions import db
from geocrm.field import services
from geocrm.models import Account, AuditEntry, Interaction, Task, User
from geocrm.models.field import SyncConflict, SyncRecord

MAX_BATCH = 2000


def interaction_json(i: Interaction) -> dict[str, Any]:
    """What the API and the phone see of an interaction."""
    return {
        "uuid": i.uuid,
        "account_id": i.account_id,
        "kind": i.kind.value if i.kind else None,
        "occurred_at": i.occurred_at.isoformat() if i.occurred_at else None,
        "checkin_at": i.checkin_at.isoformat() if i.checkin_at else None,
        "checkout_at": i.checkout_at.isoformat() if i.checkout_at else None,
        "checkin_accuracy_m": i.checkin_accuracy_m,
        "distance_m": i.distance_m,
        "location_flag": i.location_flag,
        "verification": i.verification,
        "outcome": i.outcome,
        "notes": i.notes,
        "next_step": i.next_step,
    }


def task_json(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "uuid": t.uuid,
        "title": t.title,
        "notes": t.notes,
        "account_id": t.account_id,
        "due_date": t.due_date.isoformat() if t.due_date else None,
        "status": t.status.value,
    }


def _checkin(user: User, data: dict[str, Any]) -> dict[str, Any]:
    return {"interaction": interaction_json(services.check_in(user, data))}


def _checkout(user: User, data: dict[str, Any]) -> dict[str, Any]:
    return {"interaction": interaction_json(services.check_out(user, data))}


def _interaction(user: User, data: dict[str, Any]) -> dict[str, Any]:
    return {"interaction": interaction_json(services.log_interaction(user, data))}


def _task(user: User, data: dict[str, Any]) -> dict[str, Any]:
    return {"task": task_json(services.create_task(user, data))}


def _task_done(user: User, data: dict[str, Any]) -> dict[str, Any]:
    return {"task": task_json(services.complete_task(user, data))}


def _account_create(user: User, data: dict[str, Any]) -> dict[str, Any]:
    account = services.add_account_here(user, data)
    return {
        "account": {
            "id": account.id,
            "name": account.name,
            "lat": account.lat,
            "lon": account.lon,
            "territory_id": account.territory_id,
        }
    }


def _replan(user: User, data: dict[str, Any]) -> dict[str, Any]:
    # Imported here: planning builds on the field models this module's callers load first.
    from geocrm.field.replan import replan_from_phone

    return replan_from_phone(user, data)


HANDLERS: dict[str, Callable[[User, dict[str, Any]], dict[str, Any]]] = {
    "checkin": _checkin,
    "checkout": _checkout,
    "interaction": _interaction,
    "task": _task,
    "task_done": _task_done,
    "account_create": _account_create,
    "replan": _replan,
}
OPS = (*HANDLERS, "account_edit")


def last_field_changes(account_id: int) -> dict[str, datetime]:
    """When each field of an account last changed on the server, from the audit trail."""
    stamps: dict[str, datetime] = {}
    for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "account", AuditEntry.entity_id == account_id)
    ):
        for field in (entry.changes or {}).keys():
            if field not in stamps or stamps[field] < entry.at:
                stamps[field] = entry.at
    return stamps


def merge_account_edit(user: User, data: dict[str, Any], client_id: str) -> dict[str, Any]:
    """Merge an offline edit field by field: the later writer wins each field.

    ``edited_at`` is when the rep made the edit on the phone; ``seen_at`` when the phone
    last fetched the account. A field changed on the server after ``seen_at`` is a
    conflict: whichever change is later wins, and the conflict is recorded either way.
    """
    account = get_account_or_404(services.int_field(data, "account_id", required=True) or 0, user)
    changes = data.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise ValidationError("changes", _("must be a non-empty object of field: value"))
    for key in changes:
        if key not in EDITABLE:
            raise ValidationError(f"changes.{key}", _("is not an editable field"))
    edited_at = services.time_field(data, "edited_at")
    seen_at = services.time_field(data, "seen_at") if data.get("seen_at") else edited_at
    stamps = last_field_changes(account.id)
    apply: dict[str, Any] = {}
    conflicts = []
    for key, value in changes.items():
        server_at = stamps.get(key)
        if server_at is None or server_at <= seen_at:
            apply[key] = value
            continue
        current = services_value(account, key)
        if current == value:
            continue
        winner = "client" if edited_at >= server_at else "server"
        if winner == "client":
            apply[key] = value
        conflicts.append(
            SyncConflict(
                client_id=client_id,
                account_id=account.id,
                user_id=user.id,
                field=key,
                client_value=value,
                server_value=current,
                client_edited_at=edited_at,
                server_edited_at=server_at,
                winner=winner,
            )
        )
    for c in conflicts:
        db.session.add(c)
    if apply:
        # Same rules, re-placing and audit as the form and the API; it flushes, and this
        # write's unit (see _Unit) commits it together with its sync record.
        account = update_account(account.id, user, apply)
    db.session.flush()
    return {
        "account": {"id": account.id, "version": account.version},
        "applied": sorted(k for k in apply),
        "conflicts": [{"field": c.field, "winner": c.winner} for c in conflicts],
    }


def services_value(account: Account, key: str) -> Any:
    value = getattr(account, key)
    if hasattr(value, "value"):
        return value.value
    if value is not None and key == "value":
        return str(value)
    return value


class _Unit:
    """One write's transaction.

    On PostgreSQL a SAVEPOINT inside the batch's transaction (one durable commit per chunk
    instead of one per write); on SQLite a transaction of its own, because the pysqlite
    driver's savepoints are unreliable and SQLite commits are cheap anyway. Either way
    the sync record and the write it stands for are kept or dropped together.
    """

    def __init__(self, nested: bool) -> None:
        self.nested = nested
        self.savepoint = db.session.begin_nested() if nested else None

    def rollback(self) -> None:
        if self.savepoint is not None:
            self.savepoint.rollback()
        else:
            db.session.rollback()

    def done(self) -> None:
        if self.savepoint is not None:
            self.savepoint.commit()
        else:
            db.session.commit()


def apply_op(
    user: User, op: Any, known: dict[str, SyncRecord] | None = None, *, nested: bool = False
) -> dict[str, Any]:
    """Apply one outbox write (or answer its stored result).

    ``known`` are records already looked up for a batch (saves a query per replayed write);
    ``nested`` runs the write in a savepoint and leaves the commit to the caller.
    """
    if not isinstance(op, dict):
        return _answer(None, 422, _problem("op", "must be an object"))
    raw_id = op.get("id")
    try:
        client_id = str(uuid_mod.UUID(raw_id)) if isinstance(raw_id, str) else None
    except ValueError:
        client_id = None
    if client_id is None:
        return _answer(None, 422, _problem("id", "must be a client-generated UUID"))
    stored = known.get(client_id) if known is not None else _stored(client_id)
    if stored is not None:
        return _replayed(stored, user)
    user_id = user.id
    kind = op.get("op")
    data = op.get("data")
    if kind not in OPS:
        problem = _problem("op", f"must be one of {', '.join(OPS)}")
        return _remember(client_id, user, str(kind)[:24], 422, problem, nested)
    if not isinstance(data, dict):
        return _remember(client_id, user, kind, 422, _problem("data", "must be an object"), nested)
    unit = _Unit(nested)
    record = SyncRecord(client_id=client_id, user_id=user_id, op=kind, status=0)
    try:
        db.session.add(record)
        db.session.flush()
    except IntegrityError:
        unit.rollback()
        stored = _stored(client_id)
        assert stored is not None
        return _replayed(stored, user)
    try:
        if kind == "account_edit":
            result = merge_account_edit(user, data, client_id)
        else:
            result = HANDLERS[kind](user, data)
        status = 201
    except GeocrmError as err:
        unit.rollback()
        body = {"title": type(err).__name__, "detail": err.message, **err.details}
        return _remember(client_id, user, kind, err.status, body, nested)
    except (IntegrityError, DataError) as err:
        # e.g. a task uuid already used: the data clashes, the write is refused (not a 500).
        unit.rollback()
        stored = _stored(client_id)  # a concurrent replay may have won meanwhile
        if stored is not None:
            return _replayed(stored, user)
        body = {
            "title": "ConflictError",
            "detail": "conflicts with existing data: " + type(err.orig).__name__,
        }
        return _remember(client_id, user, kind, 409, body, nested)
    record.status = status
    record.result = result
    unit.done()
    return _answer(client_id, status, result)


def _problem(field: str, reason: str) -> dict[str, Any]:
    return {"title": "ValidationError", "detail": f"{field}: {reason}", "field": field}


def _stored(client_id: str) -> SyncRecord | None:
    return db.session.scalars(
        select(SyncRecord).where(SyncRecord.client_id == client_id)
    ).one_or_none()


def _replayed(record: SyncRecord, user: User) -> dict[str, Any]:
    if record.user_id != user.id:
        return _answer(record.client_id, 409, _problem("id", "was used by another user"))
    return {**_answer(record.client_id, record.status, record.result), "replayed": True}


def _remember(
    client_id: str, user: User, kind: str, status: int, body: dict[str, Any], nested: bool
) -> dict[str, Any]:
    """Store a rejected write's answer, so its replay gets the same answer."""
    unit = _Unit(nested)
    try:
        db.session.add(
            SyncRecord(client_id=client_id, user_id=user.id, op=kind, status=status, result=body)
        )
        db.session.flush()
    except IntegrityError:
        unit.rollback()
        stored = _stored(client_id)
        assert stored is not None
        return _replayed(stored, user)
    unit.done()
    return _answer(client_id, status, body)


def _answer(client_id: str | None, status: int, body: dict[str, Any]) -> dict[str, Any]:
    ok = 200 <= status < 300
    return {
        "id": client_id,
        "status": status,
        "ok": ok,
        "replayed": False,
        ("result" if ok else "problem"): body,
    }


COMMIT_EVERY = 200


def apply_batch(user: User, ops: Any) -> list[dict[str, Any]]:
    """Apply a batch in order; one bad write never blocks the others.

    The answer is sent only after everything it reports is committed, so a write the
    phone saw as applied is durable, and one it did not see is retried (and then answered
    from its record if it was in fact applied).
    """
    if not isinstance(ops, list):
        raise ValidationError("ops", _("must be a list"))
    if len(ops) > MAX_BATCH:
        raise ValidationError("ops", _("at most %(num)s writes per batch", num=MAX_BATCH))
    ids = [op["id"] for op in ops if isinstance(op, dict) and isinstance(op.get("id"), str)]
    known: dict[str, SyncRecord] = {}
    for chunk in range(0, len(ids), 500):
        for record in db.session.scalars(
            select(SyncRecord).where(SyncRecord.client_id.in_(ids[chunk : chunk + 500]))
        ):
            known[record.client_id] = record
    nested = db.session.get_bind().dialect.name == "postgresql"
    results = []
    for n, op in enumerate(ops, 1):
        if nested and n % COMMIT_EVERY == 1:
            _lock_in_order(ops[n - 1 : n - 1 + COMMIT_EVERY])
        results.append(apply_op(user, op, known, nested=nested))
        if nested and n % COMMIT_EVERY == 0:
            db.session.commit()
    if nested:
        db.session.commit()
    return results


def lock_keys(ops: list[Any]) -> list[str]:
    """What a chunk of writes may contend for with another batch: its write ids, the ids of
    the objects they create, and the accounts they touch; sorted, so every batch takes them in
    the same order."""
    keys: set[str] = set()
    for op in ops:
        if not isinstance(op, dict):
            continue
        if isinstance(op.get("id"), str):
            keys.add("op:" + op["id"][:64])
        data = op.get("data")
        if isinstance(data, dict):
            if isinstance(data.get("uuid"), str):
                keys.add("obj:" + data["uuid"][:64])
            account = data.get("account_id")
            if isinstance(account, int) and not isinstance(account, bool):
                keys.add(f"account:{account}")
    return sorted(keys)


def _lock_in_order(ops: list[Any]) -> None:
    """PostgreSQL: take the chunk's advisory locks before any write, in one global order.

    Two phones replaying the same writes in different orders used to deadlock on the unique
    indexes and account rows they both touched (each holding what the other wanted next). With
    every lock taken up front in sorted order, the second batch waits for the first to commit
    and then sees its records (a replay) and its edits (a conflict, recorded) instead.
    Transaction-scoped: released by the chunk's commit.
    """
    for key in lock_keys(ops):
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                           {"k": key})
