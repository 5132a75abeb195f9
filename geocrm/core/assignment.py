"""Territory assignment: which territory a point belongs to, and who owned what since when.

Every change of an account's territory — a territory redrawn, a pin moved by hand, by a
check-in, by a merge or by an import — goes through :func:`record_moves`, so the
assignment history is kept the same way whatever moved the account. The overlap rule
itself (higher priority, then the smaller area, then the lower id) lives in
:mod:`geocrm.spatial` and the pure :mod:`territories` library.

These functions write into the caller's transaction (they execute and flush) and never
commit: the entry point does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, select, update

from geocrm.bulk import bulk_insert
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, Territory, utcnow
from geocrm.spatial import SpatialRepository, assign_points

# IN lists are sent in chunks: SQLite caps bound parameters, PostgreSQL plans them better.
CHUNK = 5000

#: (account id, territory before, territory after)
Move = tuple[int, int | None, int | None]


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (for IN lists)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def territory_at(lat: float | None, lon: float | None) -> int | None:
    """The id of the one territory a point belongs to (the overlap rule), or ``None``."""
    territory = SpatialRepository(db.session).territory_for(lat, lon)
    return territory.id if territory is not None else None


def record_moves(
    moves: Sequence[Move],
    *,
    user_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    """Set each account's territory and keep its history: close the open row, open one.

    Writes with bulk statements and then expires the session (the ORM copies of the moved
    accounts are stale): callers flush their own pending changes first.
    """
    if not moves:
        return
    db.session.execute(
        update(Account),
        [{"id": aid, "territory_id": new, "updated_at": now} for aid, _, new in moves],
    )
    moved_ids = [aid for aid, _, _ in moves]
    for chunk in chunks(moved_ids):
        db.session.execute(
            update(AssignmentHistory)
            .where(AssignmentHistory.account_id.in_(chunk), AssignmentHistory.until.is_(None))
            .values(until=now)
            .execution_options(synchronize_session=False)
        )
    targets = {new for _, _, new in moves if new is not None}
    names = dict(db.session.execute(
        select(Territory.id, Territory.name).where(Territory.id.in_(targets))).all()
    ) if targets else {}
    bulk_insert(
        db.session,
        AssignmentHistory.__table__,
        [{"account_id": aid, "territory_id": new, "territory_name": names.get(new),
          "since": now, "until": None, "changed_by_id": user_id, "reason": reason[:60]}
         for aid, _, new in moves],
    )
    db.session.expire_all()


def moves_for_points(
    rows: Sequence[dict[str, Any]], territories: Sequence[Territory]
) -> list[Move]:
    """Assign each row (``id``, ``lat``, ``lon``) its territory; the rows that change hands.

    The bulk form of re-placing pins (the import moves thousands at once): sets
    ``row["territory_id"]`` on every row, and answers the moves to hand to
    :func:`record_moves` once the rows are written.
    """
    if not rows:
        return []
    tids = assign_points([r["lat"] for r in rows], [r["lon"] for r in rows], territories)
    held = territories_of([r["id"] for r in rows])
    moves: list[Move] = []
    for row, tid in zip(rows, tids, strict=True):
        row["territory_id"] = tid
        if held.get(row["id"]) != tid:
            moves.append((row["id"], held.get(row["id"]), tid))
    return moves


def territories_of(ids: Sequence[int]) -> dict[int, int | None]:
    """Each account's territory as stored now."""
    held: dict[int, int | None] = {}
    for chunk in chunks(ids, 900):  # below SQLite's bound-parameter limit
        held.update({aid: tid for aid, tid in db.session.execute(
            select(Account.id, Account.territory_id).where(Account.id.in_(chunk)))})
    return held


def reassign_area(
    area: BaseGeometry | None,
    territory_ids: Iterable[int],
    *,
    user_id: int | None,
    reason: str,
    exclude_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> dict[int, int | None]:
    """Re-assign the accounts ``area`` covers or ``territory_ids`` hold; record the moves.

    Returns account id → previous territory id for every account that moved. Accounts
    without coordinates keep their territory unless it is in ``exclude_ids`` (being
    deleted). Runs in the caller's transaction; the caller commits.
    """
    now = now or utcnow()
    ids = sorted(set(territory_ids))
    excluded = set(exclude_ids)
    rows: dict[int, tuple[float | None, float | None, int | None]] = {}
    cols = (Account.id, Account.lat, Account.lon, Account.territory_id)
    if area is not None and not area.is_empty:
        inside = SpatialRepository(db.session).account_ids_within(area)
        for chunk in chunks(inside):
            for r in db.session.execute(select(*cols).where(Account.id.in_(chunk))):
                rows[r[0]] = (r[1], r[2], r[3])
    for chunk in chunks(ids):
        for r in db.session.execute(select(*cols).where(Account.territory_id.in_(chunk))):
            rows[r[0]] = (r[1], r[2], r[3])
    if not rows:
        return {}
    account_ids = sorted(rows)
    lats = [rows[i][0] for i in account_ids]
    lons = [rows[i][1] for i in account_ids]
    located = [la is not None and lo is not None for la, lo in zip(lats, lons, strict=True)]
    valid_lats = [la for la, ok in zip(lats, located, strict=True) if ok]
    candidates: list[Territory] = []
    if valid_lats:
        valid_lons = [lo for lo, ok in zip(lons, located, strict=True) if ok]
        box = and_(Territory.min_lon <= max(valid_lons), Territory.max_lon >= min(valid_lons),
                   Territory.min_lat <= max(valid_lats), Territory.max_lat >= min(valid_lats))
        stmt = select(Territory).where(box)
        if excluded:
            stmt = stmt.where(Territory.id.not_in(excluded))
        candidates = list(db.session.scalars(stmt))
    new = assign_points(lats, lons, candidates)
    moves: list[Move] = []
    for aid, ok, tid in zip(account_ids, located, new, strict=True):
        old = rows[aid][2]
        target = tid if ok else (None if old in excluded else old)
        if target != old:
            moves.append((aid, old, target))
    record_moves(moves, user_id=user_id, reason=reason, now=now)
    return {aid: old for aid, old, _ in moves}
