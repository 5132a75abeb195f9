"""Merging two accounts: one transaction, every row re-pointed, the user's pick per field.

Every row of every table that points at the merged account is re-pointed to the survivor,
found through the schema's foreign keys, so a table another feature adds later is carried
along without this module knowing it. The merged account is then deleted, and an
:class:`~geocrm.models.crm.AccountMerge` plus an audit entry keep what it was and which
value the user picked for each field. What the survivor takes goes through the account
rules (:mod:`geocrm.core.accounts`); its pin moves with :func:`~geocrm.core.accounts.move_pin`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, delete, exists, func, select, update

from geocrm.access import get_account_or_404
from geocrm.core import audit
from geocrm.core.accounts import (
    FIELDS,
    account_address,
    check_coordinates,
    clean_field,
    display_one_line,
    move_pin,
    refresh_keys,
    touch,
)
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, AuditEntry, User, utcnow
from geocrm.models.crm import AccountMerge

# -- merging ----------------------------------------

# What the user chooses, field by field. A choice may carry several columns that only make
# sense together (a pin with its source and confidence; an external id with its source).
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "name_reading"),  # the reading (フリガナ) goes with its name
    # the one line and its parts (geocrm.core.addresses) together: they never disagree
    "address": ("address", "city", "postcode", "country", "region", "district", "street",
                "housenumber", "building"),
    "location": ("lat", "lon", "location_source", "location_confidence"),
    "stage": ("stage",),
    "owner_id": ("owner_id",),
    "phone": ("phone",),
    "email": ("email",),
    "website": ("website",),
    "category": ("category",),
    "opening_hours": ("opening_hours",),
    "visit_minutes": ("visit_minutes",),
    "cadence_days": ("cadence_days",),
    "priority": ("priority",),
    "value": ("value",),
    "external_id": ("source", "external_id"),
}
MERGE_LABELS = {
    "name": _l("Name"), "address": _l("Address"), "location": _l("Location (pin)"),
    "stage": _l("Stage"), "owner_id": _l("Owner"), "phone": _l("Phone"), "email": _l("Email"),
    "website": _l("Website"), "category": _l("Category"), "opening_hours": _l("Opening hours"),
    "visit_minutes": _l("Visit minutes"), "cadence_days": _l("Visit every N days"),
    "priority": _l("Priority"), "value": _l("Value"),
    "external_id": _l("Source / external id"),
}
# The merge page's history table names (a table not listed shows its name, underscores spaced).
HISTORY_LABELS = {
    "account_tags": _l("tags"), "assignment_history": _l("assignment history"),
    "contacts": _l("contacts"), "import_conflicts": _l("import conflicts"),
    "interactions": _l("interactions"), "opportunities": _l("opportunities"),
    "route_stops": _l("route stops"), "source_records": _l("source records"),
    "sync_conflicts": _l("sync conflicts"), "tasks": _l("tasks"),
    "audit_entries": _l("audit trail"),
}
SNAPSHOT_FIELDS = (
    "name", "name_key", "address", "address_key", "city", "postcode", "country", "lat", "lon",
    "name_reading", "region", "district", "street", "housenumber", "building",
    "location_source", "location_confidence", "stage", "owner_id", "territory_id",
    "opening_hours", "visit_minutes", "cadence_days", "priority", "value", "phone", "email",
    "website", "category", "source", "external_id", "custom_fields", "last_visit_at",
    "missing_since", "archived", "created_at",
)
SIDES = ("survivor", "merged")


def _empty(values: Iterable[Any]) -> bool:
    return all(v is None or v == "" for v in values)


def _display(account: Account, choice: str) -> str:
    cols = MERGE_FIELDS[choice]
    if choice == "location":
        if account.lat is None:
            return "no pin"
        src = f" ({account.location_source})" if account.location_source else ""
        return f"{account.lat:.5f}, {account.lon:.5f}{src}"
    if choice == "owner_id":
        return account.owner.name if account.owner else ""
    if choice == "address":
        return display_one_line(account_address(account))
    if choice == "external_id":
        return f"{account.source}: {account.external_id}" if account.external_id else ""
    value = getattr(account, cols[0])
    value = audit.jsonable(value)
    return "" if value is None else str(value)


def default_choice(survivor: Account, merged: Account, choice: str) -> str:
    """Keep the survivor's value unless it is empty and the merged one is not."""
    cols = MERGE_FIELDS[choice]
    mine = [getattr(survivor, c) for c in cols[:2]]
    theirs = [getattr(merged, c) for c in cols[:2]]
    if choice == "external_id":
        mine, theirs = [survivor.external_id], [merged.external_id]
    return "merged" if _empty(mine) and not _empty(theirs) else "survivor"


@dataclass
class MergeRow:
    field: str
    label: str
    survivor: str
    merged: str
    default: str
    differs: bool


@dataclass
class MergePreview:
    survivor: Account
    merged: Account
    rows: list[MergeRow]
    custom_conflicts: list[tuple[str, str, str]]  # key, survivor value, merged value
    history: dict[str, tuple[int, int]]  # table → (survivor rows, merged rows)


def _references() -> list[tuple[Table, Any]]:
    """Every (table, column) with a foreign key to ``accounts.id``, from the schema itself."""
    accounts = Account.__table__
    out = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is accounts and fk.column.name == "id":
                out.append((table, fk.parent))
    return out


def merge_preview(user: User, survivor_id: int, merged_id: int) -> MergePreview:
    """Both accounts side by side with the default pick per field and their history counts."""
    survivor, merged = _pair(user, survivor_id, merged_id)
    rows = []
    for choice in MERGE_FIELDS:
        s, m = _display(survivor, choice), _display(merged, choice)
        rows.append(MergeRow(choice, MERGE_LABELS[choice], s, m,
                             default_choice(survivor, merged, choice), s != m))
    sc, mc = survivor.custom_fields or {}, merged.custom_fields or {}
    conflicts = [(k, str(sc[k]), str(mc[k])) for k in sorted(set(sc) & set(mc)) if sc[k] != mc[k]]
    history = {}
    for table, column in _references():
        if table.name in ("duplicate_dismissals", "account_merges"):
            continue
        counts = dict(db.session.execute(
            select(column, func.count()).select_from(table)
            .where(column.in_([survivor.id, merged.id])).group_by(column)
        ).all())
        history[table.name] = (int(counts.get(survivor.id, 0)), int(counts.get(merged.id, 0)))
    audits = dict(db.session.execute(
        select(AuditEntry.entity_id, func.count()).where(
            AuditEntry.entity == "account", AuditEntry.entity_id.in_([survivor.id, merged.id])
        ).group_by(AuditEntry.entity_id)
    ).all())
    history["audit_entries"] = (int(audits.get(survivor.id, 0)), int(audits.get(merged.id, 0)))
    return MergePreview(survivor, merged, rows, conflicts, history)


def _pair(user: User, survivor_id: int, merged_id: int) -> tuple[Account, Account]:
    if survivor_id == merged_id:
        raise ValidationError("merged_id", _l("an account cannot be merged into itself"))
    survivor = get_account_or_404(survivor_id, user)
    merged = get_account_or_404(merged_id, user)
    return survivor, merged


def merge_accounts(
    user: User, survivor_id: int, merged_id: int, choices: Mapping[str, str]
) -> AccountMerge:
    """Merge ``merged_id`` into ``survivor_id``: the user's pick per field, all history kept.

    ``choices`` maps a :data:`MERGE_FIELDS` key (or ``custom:<key>`` for a custom field both
    accounts have with different values) to ``"survivor"`` or ``"merged"``; a missing key
    takes :func:`default_choice`. Interactions, tasks, opportunities, contacts, tags,
    assignment history, route stops, sync conflicts, earlier merges, the audit trail and
    any other row pointing at the merged account move to the survivor. All or nothing:
    it flushes, the view commits.
    """
    survivor, merged = _pair(user, survivor_id, merged_id)
    picks = _picks(survivor, merged, choices)
    before = audit.snapshot(survivor, SNAPSHOT_FIELDS)
    gone = audit.snapshot(merged, SNAPSHOT_FIELDS)
    new_values, custom_picks = _taken(survivor, merged, picks, choices)
    merged_source, merged_external = merged.source, merged.external_id
    merged_name, merged_key = merged.name, merged.id
    moved = _repoint(survivor.id, merged.id)
    now = utcnow()
    # The merged account's open assignment row ends now; the survivor's stays the open one.
    db.session.execute(
        update(AssignmentHistory)
        .where(AssignmentHistory.account_id == survivor.id, AssignmentHistory.until.is_(None),
               AssignmentHistory.id.in_(moved.pop("_assignment_ids", [])))
        .values(until=now, reason="merged")
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    # Deleted before the survivor takes its values: (source, external_id) is unique.
    db.session.execute(delete(Account).where(Account.id == merged_key))
    db.session.flush()
    survivor = db.session.get(Account, survivor_id)
    assert survivor is not None
    for col, value in new_values.items():
        setattr(survivor, col, value)
    refresh_keys(survivor)
    if picks["location"] == "merged":
        # The merge's own audit entry below spans the pin too.
        move_pin(survivor, survivor.lat, survivor.lon, user=user,
                 source=survivor.location_source, confidence=survivor.location_confidence,
                 reason="merge: the merged account's pin", now=now, audit_action=None)
    touch(survivor, now)
    record = AccountMerge(
        survivor_id=survivor.id, merged_id=merged_key, merged_name=merged_name,
        merged_source=merged_source, merged_external_id=merged_external, snapshot=gone,
        choices={**picks, **custom_picks}, moved=moved, merged_by_id=user.id, at=now,
    )
    db.session.add(record)
    changes = audit.diff(before, audit.snapshot(survivor, SNAPSHOT_FIELDS))
    audit.record(user, "account", survivor.id, "merge",
                 {**changes, "merged_account": [merged_key, merged_name], "moved": moved})
    db.session.flush()
    return record


def _picks(survivor: Account, merged: Account, choices: Mapping[str, str]) -> dict[str, str]:
    """Each mergeable field's side: the user's choice, else :func:`default_choice`."""
    for key, side in choices.items():
        if side not in SIDES:
            raise ValidationError(key, _l("choose survivor or merged"))
        if key not in MERGE_FIELDS and not key.startswith("custom:"):
            raise ValidationError(key, _l("is not a mergeable field"))
    picks = {c: choices.get(c) or default_choice(survivor, merged, c) for c in MERGE_FIELDS}
    if picks["owner_id"] == "merged" and merged.owner_id is not None:
        owner = db.session.get(User, merged.owner_id)
        if owner is None:
            raise ValidationError("owner_id", _l("that owner no longer exists"))
    return picks


def _taken(
    survivor: Account, merged: Account, picks: Mapping[str, str], choices: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The survivor's new values (through the account rules) and the custom-field picks."""
    new_values: dict[str, Any] = {}
    for choice, side in picks.items():
        if side == "merged":
            for col in MERGE_FIELDS[choice]:
                new_values[col] = getattr(merged, col)
    custom = dict(merged.custom_fields or {})
    custom.update(survivor.custom_fields or {})
    custom_picks = {}
    for key in set(survivor.custom_fields or {}) & set(merged.custom_fields or {}):
        side = choices.get(f"custom:{key}", "survivor")
        custom_picks[f"custom:{key}"] = side
        if side == "merged":
            custom[key] = (merged.custom_fields or {})[key]
    new_values["custom_fields"] = custom
    last_visits = [v for v in (survivor.last_visit_at, merged.last_visit_at) if v]
    new_values["last_visit_at"] = max(last_visits) if last_visits else None
    if survivor.missing_since is None or merged.missing_since is None:
        new_values["missing_since"] = None  # one of the two is still in its import
    new_values.update(check_taken(new_values))
    return new_values, custom_picks


def check_taken(values: Mapping[str, Any]) -> dict[str, Any]:
    """What the survivor takes from the merged account, through the account rules.

    Older rows (or another system's) may hold values no door accepts today, such as an
    email without a domain; a merge must not carry them into the survivor. Refused
    before anything is written, naming the field as the form and the API would; the
    answer is the cleaned values.
    """
    clean: dict[str, Any] = {}
    for column, value in values.items():
        if column in FIELDS and column not in ("lat", "lon") and value is not None:
            clean[column] = clean_field(column, value)
    if values.get("lat") is not None or values.get("lon") is not None:
        coords = check_coordinates(values.get("lat"), values.get("lon"))
        clean["lat"], clean["lon"] = coords if coords else (None, None)
    return clean


def _repoint(survivor_id: int, merged_id: int) -> dict[str, Any]:
    """Move every row that points at ``merged_id`` to ``survivor_id``; count per table.

    Link tables whose key includes the account (tags) keep one row per pair: rows the
    survivor already has are left for the cascade. Dismissed-duplicate pairs of the merged
    account are dropped (they described a record that no longer exists).
    """
    moved: dict[str, Any] = {}
    for table, column in _references():
        if table.name == "duplicate_dismissals":
            continue
        pk = list(table.primary_key.columns)
        if column in pk and len(pk) > 1:
            others = [c for c in pk if c is not column]
            twin = table.alias("twin")
            dup = exists().where(
                twin.c[column.name] == survivor_id,
                *[twin.c[c.name] == c for c in others],
            )
            stmt = update(table).where(column == merged_id, ~dup).values({column.name: survivor_id})
        else:
            if table.name == "assignment_history":
                ids = list(db.session.scalars(
                    select(table.c.id).where(column == merged_id, table.c.until.is_(None))
                ))
                moved["_assignment_ids"] = ids
            stmt = update(table).where(column == merged_id).values({column.name: survivor_id})
        result = db.session.execute(stmt.execution_options(synchronize_session=False))
        if result.rowcount:
            moved[table.name] = moved.get(table.name, 0) + int(result.rowcount)
    result = db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.entity == "account", AuditEntry.entity_id == merged_id)
        .values(entity_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        moved["audit_entries"] = int(result.rowcount)
    return moved
