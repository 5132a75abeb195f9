"""Duplicate accounts: find likely pairs, let a user pick each field, merge keeping history.

Finding: every visible account is compared only with accounts that share a *block* (the
same normalised phone, email, external id or name, or a name token in a neighbouring
~250 m grid cell), so 100,000 accounts cost a few seconds, not 5·10⁹ comparisons. A pair
is a candidate when an identifier matches, or the names are alike and the places close.

Merging: one transaction. Every row of every table that points at the merged account is
re-pointed to the survivor, found through the schema's foreign keys, so a table another
feature adds later is carried along without this module knowing it. The merged account
is then deleted, and an :class:`~geocrm.models.crm.AccountMerge` plus an audit entry keep
what it was and which value the user picked for each field.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, exists, func, select, update

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.core import audit
from geocrm.core.accounts import (
    FIELDS,
    check_coordinates,
    clean_field,
    move_pin,
    normalise_address,
    normalise_name,
    touch,
)
from geocrm.core.names import name_similarity
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, AuditEntry, User, utcnow
from geocrm.models.crm import AccountMerge, DuplicateDismissal
from geocrm.spatial import haversine_m

MAX_DISTANCE_M = 250.0
MIN_NAME_SIMILARITY = 0.8
# Same name, one of the two without a pin: only an almost identical name is enough.
MIN_NAME_SIMILARITY_UNLOCATED = 0.95
_CELL_DEG = 0.0025  # ~280 m of latitude
_DIGITS = re.compile(r"\D+")


def normalise_phone(phone: str | None) -> str | None:
    """The last 9 digits: ``+358 40 123 4567`` and ``040-123 4567`` are the same number."""
    if not phone:
        return None
    digits = _DIGITS.sub("", phone)
    return digits[-9:] if len(digits) >= 6 else None


def normalise_email(email: str | None) -> str | None:
    text = (email or "").strip().lower()
    return text if "@" in text else None


@dataclass(frozen=True)
class Candidate:
    """A likely duplicate pair (``a_id < b_id``), how sure we are and why."""

    a_id: int
    b_id: int
    a_name: str
    b_name: str
    score: float
    name_similarity: float
    distance_m: float | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Row:
    id: int
    name: str
    key: str
    lat: float | None
    lon: float | None
    phone: str | None
    email: str | None
    external_id: str | None


def _tokens(key: str) -> set[str]:
    words = key.split()
    out = {w for w in words if len(w) >= 3} or set(words)
    compact = key.replace(" ", "")
    if len(compact) >= 4:
        out.add("^" + compact[:4])  # catches typos in every word but the start
    return out


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG)


def _score(a: _Row, b: _Row) -> Candidate | None:
    sim = name_similarity(a.key, b.key)
    distance = None
    if a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
        distance = haversine_m(a.lat, a.lon, b.lat, b.lon)
    reasons: list[str] = []
    ids = False
    if a.phone and a.phone == b.phone:
        reasons.append("same phone")
        ids = True
    if a.email and a.email == b.email:
        reasons.append("same email")
        ids = True
    if a.external_id and a.external_id == b.external_id:
        reasons.append("same external id")
        ids = True
    near = distance is not None and distance <= MAX_DISTANCE_M
    alike = (near and sim >= MIN_NAME_SIMILARITY) or (
        distance is None and sim >= MIN_NAME_SIMILARITY_UNLOCATED
    )
    if not (ids or alike):
        return None
    if sim >= 0.5:
        reasons.insert(0, f"names {sim:.0%} alike")
    if distance is not None:
        reasons.append(f"{distance:.0f} m apart")
    proximity = 0.0 if distance is None else max(0.0, 1.0 - distance / MAX_DISTANCE_M)
    score = 0.5 * sim + 0.2 * proximity + (0.3 if ids else 0.0)
    first, second = (a, b) if a.id < b.id else (b, a)
    return Candidate(
        first.id, second.id, first.name, second.name, round(score, 3), round(sim, 3),
        None if distance is None else round(distance, 1), tuple(reasons),
    )


def find_duplicates(
    user: User, *, territory_id: int | None = None, limit: int = 200
) -> list[Candidate]:
    """Likely duplicate pairs among the accounts ``user`` may see, best first.

    Pairs a user dismissed are left out. ``territory_id`` narrows the search to pairs
    with at least one account in that territory.
    """
    stmt = visible_accounts(user).where(Account.archived.is_(False)).with_only_columns(
        Account.id, Account.name, Account.name_key, Account.lat, Account.lon, Account.phone,
        Account.email, Account.external_id, Account.territory_id,
    )
    rows: list[_Row] = []
    focus: set[int] = set()
    for r in db.session.execute(stmt):
        rows.append(_Row(int(r.id), r.name, r.name_key or normalise_name(r.name), r.lat, r.lon,
                         normalise_phone(r.phone), normalise_email(r.email),
                         (r.external_id or "").strip() or None))
        if territory_id is None or r.territory_id == territory_id:
            focus.add(int(r.id))
    by_id = {r.id: r for r in rows}
    pairs: set[tuple[int, int]] = set()

    def add_group(ids: Iterable[int]) -> None:
        group = sorted(ids)
        if len(group) > 50:  # a shared switchboard number is not 50 duplicates
            return
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                pairs.add((a, b))

    for attr in ("phone", "email", "external_id", "key"):
        groups: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            value = getattr(r, attr)
            if value:
                groups[value].append(r.id)
        for ids in groups.values():
            if len(ids) > 1:
                add_group(ids)
    blocks: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for r in rows:
        if r.lat is not None and r.lon is not None and r.key:
            cell = _cell(r.lat, r.lon)
            for token in _tokens(r.key):
                blocks[(cell[0], cell[1], token)].append(r.id)
    for r in rows:
        if r.lat is None or r.lon is None or not r.key:
            continue
        cy, cx = _cell(r.lat, r.lon)
        span = max(1, math.ceil(1 / max(math.cos(math.radians(r.lat)), 0.05)))
        for token in _tokens(r.key):
            for dy in (-1, 0, 1):
                for dx in range(-span, span + 1):
                    for other in blocks.get((cy + dy, cx + dx, token), ()):
                        if other > r.id:
                            pairs.add((r.id, other))
    dismissed = {
        (int(a), int(b))
        for a, b in db.session.execute(
            select(DuplicateDismissal.account_a_id, DuplicateDismissal.account_b_id)
        )
    }
    found = []
    for a, b in pairs:
        if (a, b) in dismissed or (a not in focus and b not in focus):
            continue
        cand = _score(by_id[a], by_id[b])
        if cand is not None:
            found.append(cand)
    found.sort(key=lambda c: (-c.score, c.a_id, c.b_id))
    return found[:limit]


def dismiss_pair(user: User, a_id: int, b_id: int) -> None:
    """Remember that two accounts are not duplicates (both must be visible)."""
    if a_id == b_id:
        raise ValidationError("account", "an account is not its own duplicate")
    a, b = sorted((get_account_or_404(a_id, user).id, get_account_or_404(b_id, user).id))
    if db.session.scalar(select(DuplicateDismissal.id).where(
            DuplicateDismissal.account_a_id == a, DuplicateDismissal.account_b_id == b)) is None:
        db.session.add(DuplicateDismissal(account_a_id=a, account_b_id=b,
                                          dismissed_by_id=user.id))
        audit.record(user, "account", a, "not_duplicate", {"other": b})
        db.session.flush()


# -- merging ----------------------------------------

# What the user chooses, field by field. A choice may carry several columns that only make
# sense together (a pin with its source and confidence; an external id with its source).
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "address": ("address", "city", "postcode", "country"),
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
    "name": "Name", "address": "Address", "location": "Location (pin)", "stage": "Stage",
    "owner_id": "Owner", "phone": "Phone", "email": "Email", "website": "Website",
    "category": "Category", "opening_hours": "Opening hours", "visit_minutes": "Visit minutes",
    "cadence_days": "Visit every N days", "priority": "Priority", "value": "Value",
    "external_id": "Source / external id",
}
SNAPSHOT_FIELDS = (
    "name", "name_key", "address", "address_key", "city", "postcode", "country", "lat", "lon",
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
        return ", ".join(str(v) for v in (getattr(account, c) for c in cols) if v)
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
        raise ValidationError("merged_id", "an account cannot be merged into itself")
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
    any other row pointing at the merged account move to the survivor. All or nothing.
    """
    survivor, merged = _pair(user, survivor_id, merged_id)
    for key, side in choices.items():
        if side not in SIDES:
            raise ValidationError(key, "choose survivor or merged")
        if key not in MERGE_FIELDS and not key.startswith("custom:"):
            raise ValidationError(key, "is not a mergeable field")
    picks = {c: choices.get(c) or default_choice(survivor, merged, c) for c in MERGE_FIELDS}
    if picks["owner_id"] == "merged" and merged.owner_id is not None:
        owner = db.session.get(User, merged.owner_id)
        if owner is None:
            raise ValidationError("owner_id", "that owner no longer exists")
    before = audit.snapshot(survivor, SNAPSHOT_FIELDS)
    gone = audit.snapshot(merged, SNAPSHOT_FIELDS)
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
    survivor.name_key = normalise_name(survivor.name)
    survivor.address_key = normalise_address(survivor.address)
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
