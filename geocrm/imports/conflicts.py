"""Reviewing import conflicts: a field the import left alone because a person changed it.

A conflict is resolved by a person: *take* applies the file's value through the account
rules (the same verdict as the form; a pin through :func:`~geocrm.core.accounts.move_pin`),
*keep* leaves the account as it is. Either way the conflict is closed and the account's
audit trail says who decided. Taking the value makes the source own the field again (the
account now holds what the source last said), so its next change applies by itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from geocrm.access import scope_accounts
from geocrm.core import audit
from geocrm.core.accounts import check_coordinates, clean_field, move_pin, touch
from geocrm.core.names import normalise_address, normalise_name, normalise_reading
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, User, utcnow
from geocrm.models.provenance import ImportConflict

PAGE = 100


def open_conflicts(user: User, *, page: int = 1,
                   batch_id: int | None = None) -> tuple[list[ImportConflict], int]:
    """One page of the open conflicts on accounts ``user`` may see, and how many in all."""
    stmt = scope_accounts(
        select(ImportConflict).join(Account, Account.id == ImportConflict.account_id), user
    ).where(ImportConflict.status == "open")
    if batch_id is not None:
        stmt = stmt.where(ImportConflict.batch_id == batch_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(ImportConflict.id).limit(PAGE).offset(max(page - 1, 0) * PAGE)).all()
    return list(rows), int(total)


def resolve(user: User, conflict_id: int, action: str) -> ImportConflict:
    """``take`` the imported value or ``keep`` the account's; flushes, the view commits.

    The conflict is looked up in the user's scope before the action is read, so a conflict
    on an account they may not see is a 404 whatever the form says (issue 18's sweep)."""
    conflict = db.session.scalars(
        scope_accounts(select(ImportConflict).join(
            Account, Account.id == ImportConflict.account_id), user)
        .where(ImportConflict.id == conflict_id)).one_or_none()
    if conflict is None:
        raise NotFoundError(f"No conflict {conflict_id}.")
    if action not in ("take", "keep"):
        raise ValidationError("action", "choose take or keep")
    if conflict.status != "open":
        raise ValidationError("action", f"this conflict is already {conflict.status}")
    account = conflict.account
    now = utcnow()
    if action == "take":
        _take(user, account, conflict.field, conflict.imported, conflict.id)
        touch(account, now)
    conflict.status = "taken" if action == "take" else "kept"
    conflict.resolved_by_id, conflict.resolved_at = user.id, now
    db.session.flush()
    return conflict


def _take(user: User, account: Account, field: str, value: Any, conflict_id: int) -> None:
    extra = {"import_conflict": conflict_id}
    if field == "location":
        lat, lon = check_coordinates(*(value or (None, None))) or (None, None)
        move_pin(account, lat, lon, user=user, source="import", reason="import conflict taken",
                 audit_action="update", audit_extra=extra)
        return
    before = {field: getattr(account, field)}
    setattr(account, field, clean_field(field, value))
    if field == "name":
        account.name_key = normalise_name(account.name)
    if field == "address":
        account.address_key = normalise_address(account.address)
    if field == "name_reading":
        account.reading_key = normalise_reading(account.name_reading)
    entry = audit.record_changes(user, "account", account.id, before,
                                 {field: getattr(account, field)})
    if entry is not None:
        entry.changes = {**entry.changes, **extra}
