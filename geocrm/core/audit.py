"""The audit trail: who changed which field of what, from which value to which, when.

Every service that edits a record calls :func:`record_changes` (or :func:`record`) in the
same transaction as the edit, so the trail can never say something happened that was
rolled back, nor miss something that was committed. Values are stored JSON-ready
(decimals and dates as strings, enums as their values) so the trail reads the same on
both database engines.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from geocrm.bulk import bulk_insert, insert_columns
from geocrm.extensions import db
from geocrm.models import AuditEntry, User


def jsonable(value: Any) -> Any:
    """A value as the audit trail stores it (JSON types only)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``obj``, JSON-ready (what a record looked like)."""
    return {name: jsonable(getattr(obj, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Field-level changes ``{field: [old, new]}`` between two snapshots (JSON-ready)."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = jsonable(before.get(key)), jsonable(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def record(
    user: User | None,
    entity: str,
    entity_id: int,
    action: str,
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry to the session (the caller commits with its own change)."""
    entry = AuditEntry(
        user_id=user.id if user is not None and user.is_authenticated else None,
        entity=entity,
        entity_id=entity_id,
        action=action,
        changes=jsonable(dict(changes or {})),
    )
    db.session.add(entry)
    return entry


def record_many(rows: Iterable[Mapping[str, Any]], *, user: User | None, at: datetime,
                ready: bool = False, serialized: bool = False) -> None:
    """Add many audit entries in one statement (an import's thousands of changes).

    Each row has ``entity``, ``entity_id``, ``action`` and ``changes`` (made JSON-ready
    here, unless the caller says they are ``ready``: at 100,000 rows the walk costs a
    second; or already ``serialized``, the ``json.dumps`` text of a JSON-ready mapping,
    which saves the encoder run per row); like :func:`record`, it is written in the
    caller's transaction.
    """
    user_id = user.id if user is not None and user.is_authenticated else None
    bulk_insert(db.session, AuditEntry.__table__, [
        {"user_id": user_id, "entity": r["entity"], "entity_id": r["entity_id"],
         "action": r["action"],
         "changes": r["changes"] if ready or serialized else jsonable(dict(r["changes"])),
         "at": at}
        for r in rows], json_text=("changes",) if serialized else ())


def record_created(entity: str, ids: Sequence[int], changes: Sequence[str], *,
                   user: User | None, at: datetime, action: str = "create") -> None:
    """Add one ``action`` entry per id of ``entity`` in one statement, ``changes[i]`` being
    the ``json.dumps`` text of entry ``i``'s JSON-ready changes (an import's 100,000 new
    accounts: what they share is given once, no dict per entry but the row's own two
    values); written in the caller's transaction like :func:`record`."""
    if len(ids) != len(changes):
        raise ValueError(f"{len(ids)} ids but {len(changes)} changes")
    user_id = user.id if user is not None and user.is_authenticated else None
    insert_columns(db.session, AuditEntry.__table__, {"entity_id": ids, "changes": changes},
                   json_text=("changes",),
                   same={"user_id": user_id, "entity": entity, "action": action, "at": at})


def record_changes(
    user: User | None,
    entity: str,
    entity_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    action: str = "update",
) -> AuditEntry | None:
    """Audit what differs between ``before`` and ``after``; nothing when nothing changed."""
    changes = diff(before, after)
    if not changes:
        return None
    return record(user, entity, entity_id, action, changes)


def trail(entity: str, entity_id: int, *, limit: int = 200) -> list[tuple[AuditEntry, str]]:
    """The newest ``limit`` entries of one record, with the name of who made each."""
    rows = db.session.execute(
        select(AuditEntry, User.name)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    ).all()
    return [(entry, name or "system") for entry, name in rows]
