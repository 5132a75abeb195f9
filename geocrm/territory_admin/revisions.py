"""Every territory change as a revision: snapshots first, then the moves, then undo.

A :class:`Change` snapshots the territories it touches before they change, and
:meth:`Change.record` re-assigns the accounts of the affected area (history and all, through
:mod:`geocrm.core.assignment`) and writes a :class:`TerritoryRevision`. Undo replays a
revision's snapshot and re-assigns again, so an undone change leaves no trace in the
accounts. Everything flushes; the entry point commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from geocrm.core.assignment import reassign_area
from geocrm.errors import ConflictError, NotFoundError
from geocrm.extensions import db
from geocrm.models import AssignmentHistory, Role, Territory, User, utcnow
from geocrm.models.territory_admin import TerritoryRevision
from geocrm.territory_admin import notes as tn
from geocrm.territory_admin.scope import can_edit

# --- changes and revisions --------------------------------------------------------------


def snapshot(t: Territory) -> dict[str, Any]:
    """What undo needs to put a territory back exactly as it was."""
    return {
        "id": t.id, "name": t.name, "color": t.color, "priority": t.priority,
        "manager_id": t.manager_id, "reps": sorted(u.id for u in t.reps),
        "geom": shapely.to_wkb(t.geom, hex=True),
    }


def id_runs(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as ``[first, last]`` runs of consecutive ids.

    History rows are written in bulk, so a territory's rows come in long runs: a deleted
    territory with 100,000 history rows is a handful of runs in its revision, not a list
    of 100,000 numbers.
    """
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        elif not runs or i > runs[-1][1]:
            runs.append([i, i])
    return runs


def relink_history(territory_id: int, runs: Sequence[Sequence[int]]) -> int:
    """Give back ``territory_id`` to the history rows its deletion nulled; how many."""
    total = 0
    for start in range(0, len(runs), 200):  # a few hundred ranges per statement at most
        ranges = [AssignmentHistory.id.between(int(a), int(b))
                  for a, b in runs[start:start + 200]]
        result = db.session.execute(
            update(AssignmentHistory)
            .where(or_(*ranges), AssignmentHistory.territory_id.is_(None))
            .values(territory_id=territory_id)
            .execution_options(synchronize_session=False)
        )
        total += int(getattr(result, "rowcount", 0) or 0)
    return total


@dataclass
class Change:
    """One territory change in the making: snapshots first, then one commit with the moves."""

    kind: str
    user: User
    before: dict[int, dict[str, Any]] = field(default_factory=dict)
    created: list[Territory] = field(default_factory=list)
    deleted: list[Territory] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)  # coded (geocrm.territory_admin.notes)
    reassign: bool = True

    def touch(self, t: Territory) -> Territory:
        """Remember ``t`` as it is now, before the caller changes it."""
        if t.id not in self.before and t not in self.created:
            self.before[t.id] = snapshot(t)
        return t

    def create(self, **fields: Any) -> Territory:
        geom = fields.pop("geom")
        t = Territory(**fields)
        t.set_geometry(geom)
        db.session.add(t)
        self.created.append(t)
        return t

    def delete(self, t: Territory) -> None:
        self.touch(t)
        self.deleted.append(t)

    def record(self, summary: tn.Note) -> TerritoryRevision:
        """Re-assign the affected accounts and write the revision; flushes, never commits.

        ``summary`` is a coded note (:mod:`geocrm.territory_admin.notes`): the history shows
        it in its reader's language; the English text is kept beside it for logs and the
        accounts' assignment history.

        The entry point commits the whole change (or rolls it all back): a view with
        :func:`~geocrm.core.transaction.commits`, or the job runner for a background job.
        """
        db.session.flush()
        text = tn.english(summary)
        now = utcnow()
        area_parts = [shapely.from_wkb(b["geom"]) for b in self.before.values()]
        area_parts += [t.geom for t in self.created]
        area_parts += [t.geom for t in db.session.scalars(
            select(Territory).where(Territory.id.in_(list(self.before))))]
        touched = sorted(set(self.before) | {t.id for t in self.created})
        moved: dict[int, int | None] = {}
        if self.reassign and area_parts:
            area = shapely.union_all(area_parts)
            moved = reassign_area(area, touched, user_id=self.user.id,
                                  reason=f"{self.kind}: {text}",
                                  exclude_ids=[t.id for t in self.deleted], now=now)
        for t in self.deleted:
            # The database nulls the history rows that name a deleted territory (ON
            # DELETE SET NULL); remember which, so that undo can give them their id back.
            self.before[t.id]["history"] = id_runs(db.session.scalars(
                select(AssignmentHistory.id).where(AssignmentHistory.territory_id == t.id)
                .order_by(AssignmentHistory.id)))
            db.session.delete(t)
        revision = TerritoryRevision(
            kind=self.kind, summary=text[:300], summary_note=summary, created_by_id=self.user.id,
            created_at=now, territory_ids=touched, before=list(self.before.values()),
            created=[t.id for t in self.created],
            moved={str(k): v for k, v in moved.items()}, notes=self.notes[:200],
        )
        db.session.add(revision)
        db.session.flush()
        return revision


# --- undo ------------------------------------------------------------------------------


def revisions_for(user: User, limit: int = 50) -> list[TerritoryRevision]:
    """Latest revisions the user may see: admins all, managers their own."""
    stmt = select(TerritoryRevision).order_by(TerritoryRevision.id.desc()).limit(limit)
    if user.role != Role.ADMIN:
        stmt = stmt.where(TerritoryRevision.created_by_id == user.id)
    return list(db.session.scalars(stmt))


def get_revision(user: User, revision_id: int) -> TerritoryRevision:
    """A revision its author (or an admin) may open and undo; a 404 for anyone else, as for
    a missing one."""
    rev = db.session.get(TerritoryRevision, revision_id) if can_edit(user) else None
    if rev is None or (user.role != Role.ADMIN and rev.created_by_id != user.id):
        raise NotFoundError(_("No revision %(id)s.", id=revision_id))
    return rev


def undo(user: User, revision_id: int) -> TerritoryRevision:
    """Put back what a revision replaced, then re-assign the area; refuse stale undos.

    A revision can be undone once, by its author or an admin, and only while no later
    change touched the same territories (undo that one first): otherwise undo would
    silently throw the later work away. Flushes; the entry point commits.
    """
    rev = get_revision(user, revision_id)
    if rev.undone_at is not None:
        raise ConflictError(_(
            "Revision %(id)s was already undone.", id=revision_id))
    later = db.session.scalars(
        select(TerritoryRevision).where(TerritoryRevision.id > rev.id,
                                        TerritoryRevision.undone_at.is_(None))
    ).all()
    mine = set(rev.territory_ids)
    for other in later:
        if mine & set(other.territory_ids):
            raise ConflictError(
                _(
                    "Change #%(id)s (%(summary)s) touched the same territories later: undo it "
                    "first.", id=other.id, summary=tn.summary(other))
            )
    now = utcnow()
    gone = [t for t in (db.session.get(Territory, i) for i in rev.created) if t is not None]
    area_parts = [t.geom for t in gone]
    # Names are unique: free the created territories' names before restoring the old ones.
    for t in gone:
        t.name = f"~undo {rev.id}/{t.id}"
    db.session.flush()
    for entry in rev.before:
        geom = shapely.from_wkb(entry["geom"])
        area_parts.append(geom)
        t = db.session.get(Territory, entry["id"])
        if t is None:
            # Back with its old id: on PostgreSQL that id came from the sequence, which
            # is already past it; on SQLite it is free since the territory was deleted.
            t = Territory(id=entry["id"])
            db.session.add(t)
        else:
            area_parts.append(t.geom)
        t.name = entry["name"]
        t.color = entry["color"]
        t.priority = entry["priority"]
        t.manager_id = entry["manager_id"]
        t.set_geometry(geom)
        t.reps = list(db.session.scalars(select(User).where(User.id.in_(entry["reps"]))))
    db.session.flush()
    relinked = sum(relink_history(entry["id"], entry.get("history") or [])
                   for entry in rev.before)
    moved: dict[int, int | None] = {}
    if area_parts:
        moved = reassign_area(shapely.union_all(area_parts), set(rev.territory_ids),
                              user_id=user.id, reason=f"undo #{rev.id}",
                              exclude_ids=[t.id for t in gone], now=now)
    for t in gone:
        db.session.delete(t)
    rev.undone_at = now
    rev.undone_by_id = user.id
    note = (tn.note("undone_relinked", num=len(moved), rows=relinked) if relinked
            else tn.note("undone", num=len(moved)))
    rev.notes = [*rev.notes, note][:200]
    db.session.flush()
    return rev
