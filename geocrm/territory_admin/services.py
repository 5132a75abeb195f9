"""Territory management rules: scope, validation, every change with its revision and moves.

Every change goes through a :class:`Change`: it snapshots the territories it touches
before they change, and on :meth:`Change.record` re-assigns the accounts of the affected
area with :func:`geocrm.spatial.assign_points` (the same overlap rule as
:func:`territories.assign`), records who owned what when in ``AssignmentHistory`` and
writes a :class:`TerritoryRevision`, all in one transaction. Undo replays a revision's
snapshot and re-assigns again, so an undone change leaves no trace in the accounts.

The web views, the JSON endpoints of the map editor, the import and the balance wizard
all call these functions; none of them builds a query of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_geometry
from sqlalchemy import false, func, or_, select, update

import territories as terr
from geocrm.access import scope_accounts, scope_territories
from geocrm.colours import check_colour, safe_colour
from geocrm.core.assignment import reassign_area
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, Role, Territory, User, utcnow
from geocrm.models.territory_admin import TerritoryRevision
from geocrm.spatial import SpatialRepository
from territories.geodesy import area_m2 as area_m2

EDIT_ROLES = (Role.ADMIN, Role.MANAGER)
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER, Role.REP)
# Below a square metre a polygon is a drawing slip, not a territory.
MIN_AREA_M2 = 1.0


# --- scope -----------------------------------------------------------------------------


def can_edit(user: User) -> bool:
    """Admins edit every territory, managers the ones they manage; others only look."""
    return bool(user.is_authenticated and user.role in EDIT_ROLES)


def visible_territories(user: User) -> list[Territory]:
    """The territories ``user`` may see, by name."""
    stmt = scope_territories(select(Territory), user).order_by(Territory.name, Territory.id)
    return list(db.session.scalars(stmt))


def get_territory_or_404(territory_id: int, user: User) -> Territory:
    """A territory in ``user``'s scope; missing and out-of-scope both answer 404."""
    stmt = scope_territories(select(Territory).where(Territory.id == territory_id), user)
    found = db.session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFoundError(f"No territory {territory_id}.")
    return found


def get_editable_or_404(territory_id: int, user: User) -> Territory:
    """A territory ``user`` may change: in scope, and the user edits at all (else 404)."""
    if not can_edit(user):
        raise NotFoundError(f"No territory {territory_id}.")
    return get_territory_or_404(territory_id, user)


def rep_choices() -> list[User]:
    """Active reps, who can be assigned to territories."""
    stmt = select(User).where(User.role == Role.REP, User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


def manager_choices() -> list[User]:
    stmt = select(User).where(User.role == Role.MANAGER, User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


# --- geometry --------------------------------------------------------------------------


def _degrees(geom: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def parse_geojson(data: Any, field_name: str = "geometry") -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry, Feature or FeatureCollection (unioned)."""
    if not isinstance(data, dict) or "type" not in data:
        raise ValidationError(field_name, "expected a GeoJSON geometry")
    kind = data.get("type")
    try:
        if kind == "Feature":
            return parse_geojson(data.get("geometry"), field_name)
        if kind == "FeatureCollection":
            geoms = [parse_geojson(f, field_name) for f in data.get("features") or []]
            if not geoms:
                raise ValidationError(field_name, "the collection has no features")
            return shapely.union_all(geoms)
        geom = shape(data)
    except ValidationError:
        raise
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValidationError(field_name, f"not a valid GeoJSON geometry ({exc})") from exc
    return shapely.force_2d(geom)


def check_polygon(
    geom: BaseGeometry, *, repair: bool = True, field_name: str = "geometry"
) -> tuple[BaseGeometry, list[str]]:
    """A valid polygon/multipolygon in lon/lat and notes on what was repaired.

    Refused with a message naming the problem: empty, not polygonal, not in degrees, zero
    area, or (with ``repair=False``) invalid. With ``repair=True`` an invalid polygon (a
    bow-tie, a ring crossing itself) goes through ``make_valid`` and the note says where
    it was invalid and what it became.
    """
    if geom is None or geom.is_empty:
        raise ValidationError(field_name, "the shape is empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationError(field_name, f"a territory must be a polygon, not a {geom.geom_type}")
    if not _degrees(geom):
        raise ValidationError(
            field_name, "coordinates are not longitude/latitude degrees (projected data?)"
        )
    notes: list[str] = []
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise ValidationError(field_name, f"invalid polygon: {reason}")
        fixed = terr.io.polygonal(shapely.make_valid(geom))
        if fixed is None:
            raise ValidationError(field_name, f"invalid polygon with no area left: {reason}")
        pieces = len(getattr(fixed, "geoms", [fixed]))
        notes.append(f"invalid polygon ({reason}) repaired into {pieces} part(s)")
        geom = fixed
    if area_m2(geom) < MIN_AREA_M2:
        raise ValidationError(field_name, "the shape has no area (zero-area polygon)")
    return geom, notes


def check_name(name: Any, *, exclude_id: int | None = None, field_name: str = "name") -> str:
    """A stripped, unique territory name of at most 120 characters."""
    text = str(name or "").strip()
    if not text:
        raise ValidationError(field_name, "a territory needs a name")
    if len(text) > 120:
        raise ValidationError(field_name, "at most 120 characters")
    stmt = select(Territory.id).where(Territory.name == text)
    if exclude_id is not None:
        stmt = stmt.where(Territory.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise ValidationError(field_name, f"a territory named {text!r} already exists")
    return text


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
    notes: list[str] = field(default_factory=list)
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

    def record(self, summary: str) -> TerritoryRevision:
        """Re-assign the affected accounts and write the revision; flushes, never commits.

        The entry point commits the whole change (or rolls it all back): a view with
        :func:`~geocrm.core.transaction.commits`, or the job runner for a background job.
        """
        db.session.flush()
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
                                  reason=f"{self.kind}: {summary}",
                                  exclude_ids=[t.id for t in self.deleted], now=now)
        for t in self.deleted:
            # The database nulls the history rows that name a deleted territory (ON
            # DELETE SET NULL); remember which, so that undo can give them their id back.
            self.before[t.id]["history"] = id_runs(db.session.scalars(
                select(AssignmentHistory.id).where(AssignmentHistory.territory_id == t.id)
                .order_by(AssignmentHistory.id)))
            db.session.delete(t)
        revision = TerritoryRevision(
            kind=self.kind, summary=summary[:300], created_by_id=self.user.id,
            created_at=now, territory_ids=touched, before=list(self.before.values()),
            created=[t.id for t in self.created],
            moved={str(k): v for k, v in moved.items()}, notes=self.notes[:200],
        )
        db.session.add(revision)
        db.session.flush()
        return revision


def _overlapping(geom: BaseGeometry, *, exclude: Iterable[int] = ()) -> list[Territory]:
    """Territories whose area overlaps ``geom`` (touching borders do not count)."""
    minx, miny, maxx, maxy = geom.bounds
    stmt = select(Territory).where(
        Territory.min_lon <= maxx, Territory.max_lon >= minx,
        Territory.min_lat <= maxy, Territory.max_lat >= miny,
    )
    skip = set(exclude)
    out = []
    for t in db.session.scalars(stmt.order_by(Territory.id)):
        if t.id in skip:
            continue
        if area_m2(shapely.intersection(t.geom, geom)) >= MIN_AREA_M2:
            out.append(t)
    return out


def _carve(change: Change, geom: BaseGeometry, user: User, exclude: Iterable[int] = ()) -> None:
    """Cut ``geom`` out of the overlapping territories the user may edit; note the others."""
    editable = {t.id for t in visible_territories(user)} if can_edit(user) else set()
    for other in _overlapping(geom, exclude=exclude):
        if other.id not in editable:
            change.notes.append(f"overlaps {other.name!r}, which you do not manage: not cut")
            continue
        rest = terr.io.polygonal(shapely.make_valid(shapely.difference(other.geom, geom)))
        if rest is None or area_m2(rest) < MIN_AREA_M2:
            raise ValidationError(
                "geometry", f"the shape covers all of {other.name!r}: delete it instead"
            )
        change.touch(other)
        other.set_geometry(rest)
        change.notes.append(f"cut out of {other.name!r}")


def _overlap_notes(change: Change, geom: BaseGeometry, exclude: Iterable[int]) -> None:
    for other in _overlapping(geom, exclude=exclude):
        change.notes.append(f"overlaps {other.name!r} (the overlap rule decides its accounts)")


def create_territory(
    user: User,
    *,
    name: Any,
    geometry: Any,
    color: str | None = None,
    priority: int = 0,
    manager_id: int | None = None,
    carve: bool = True,
    repair: bool = True,
) -> tuple[Territory, TerritoryRevision]:
    """A new territory from a drawn shape; with ``carve`` it is cut out of its neighbours."""
    if not can_edit(user):
        raise NotFoundError("No such page.")
    geom, notes = check_polygon(parse_geojson(geometry), repair=repair)
    clean = check_name(name)
    change = Change("create", user, notes=notes)
    if carve:
        _carve(change, geom, user)
    count = db.session.scalar(select(func.count(Territory.id))) or 0
    t = change.create(
        name=clean, color=safe_colour(color, count), priority=_priority(priority),
        manager_id=manager_for(user, manager_id), geom=geom,
    )
    if not carve:
        _overlap_notes(change, geom, exclude=[])
    revision = change.record(f"created {clean!r}")
    return t, revision


def _priority(value: Any) -> int:
    try:
        number = int(value or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError("priority", "a whole number") from exc
    if not -1000 <= number <= 1000:
        raise ValidationError("priority", "between -1000 and 1000")
    return number


def manager_for(user: User, manager_id: Any) -> int | None:
    """Managers manage what they make; admins may name a manager (or none)."""
    if user.role == Role.MANAGER:
        return int(user.id)
    if manager_id in (None, "", 0, "0"):
        return None
    try:
        mid = int(manager_id)
    except (TypeError, ValueError) as exc:
        raise ValidationError("manager", "not a user id") from exc
    manager = db.session.get(User, mid)
    if manager is None or manager.role != Role.MANAGER:
        raise ValidationError("manager", f"user {mid} is not a manager")
    return mid


def update_geometry(
    user: User, territory_id: int, geometry: Any, *, carve: bool = False, repair: bool = True
) -> TerritoryRevision:
    """New outline for a territory (edited vertices); its accounts are re-assigned."""
    t = get_editable_or_404(territory_id, user)
    geom, notes = check_polygon(parse_geojson(geometry), repair=repair)
    change = Change("edit", user, notes=notes)
    change.touch(t)
    if carve:
        _carve(change, geom, user, exclude=[t.id])
    else:
        _overlap_notes(change, geom, exclude=[t.id])
    t.set_geometry(geom)
    return change.record(f"reshaped {t.name!r}")


def update_properties(
    user: User, territory_id: int, *, name: Any = None, color: Any = None,
    priority: Any = None, manager_id: Any = "keep",
) -> TerritoryRevision:
    """Rename, recolour, change the overlap priority or (admins) the manager."""
    t = get_editable_or_404(territory_id, user)
    change = Change("edit", user)
    change.touch(t)
    change.reassign = False
    if name is not None:
        t.name = check_name(name, exclude_id=t.id)
    if color is not None:
        t.color = check_colour(color)
    if priority is not None and _priority(priority) != t.priority:
        t.priority = _priority(priority)
        change.reassign = True  # the overlap rule depends on it
    if manager_id != "keep" and user.role == Role.ADMIN:
        t.manager_id = manager_for(user, manager_id)
    return change.record(f"edited {t.name!r}")


def delete_territory(user: User, territory_id: int) -> TerritoryRevision:
    """Remove a territory; its accounts go to whatever else covers them, or unassigned."""
    t = get_editable_or_404(territory_id, user)
    change = Change("delete", user)
    change.delete(t)
    return change.record(f"deleted {t.name!r}")


def split_territory(
    user: User, territory_id: int, cutter: Any, *, new_name: Any = None, color: Any = None
) -> tuple[Territory, TerritoryRevision]:
    """Cut a territory in two with a drawn line (edge to edge) or a drawn polygon.

    A polygon takes its intersection with the territory into a new territory; a line must
    cut the territory into exactly two pieces, and the smaller piece becomes the new one.
    """
    t = get_editable_or_404(territory_id, user)
    shape_ = parse_geojson(cutter, "cutter")
    if shape_.geom_type in ("Polygon", "MultiPolygon"):
        shape_, _ = check_polygon(shape_, field_name="cutter")
        inside = terr.io.polygonal(shapely.make_valid(shapely.intersection(t.geom, shape_)))
        rest = terr.io.polygonal(shapely.make_valid(shapely.difference(t.geom, shape_)))
        if inside is None or area_m2(inside) < MIN_AREA_M2:
            raise ValidationError("cutter", f"the shape does not overlap {t.name!r}")
        if rest is None or area_m2(rest) < MIN_AREA_M2:
            raise ValidationError("cutter", f"the shape covers all of {t.name!r}: nothing to split")
        keep, new = rest, inside
    elif shape_.geom_type in ("LineString", "MultiLineString"):
        pieces = [p for p in split_geometry(t.geom, shape_).geoms
                  if p.geom_type == "Polygon" and area_m2(p) >= MIN_AREA_M2]
        if len(pieces) < 2:
            raise ValidationError("cutter", f"the line must cross {t.name!r} from edge to edge")
        untouched = [p for p in pieces if any(p.equals(g) for g in getattr(t.geom, "geoms", []))]
        cut = [p for p in pieces if not any(p.equals(u) for u in untouched)]
        if len(cut) != 2:
            raise ValidationError(
                "cutter",
                f"the line cuts {t.name!r} into {len(cut)} pieces; draw one that cuts it in two",
            )
        cut.sort(key=area_m2, reverse=True)
        keep = shapely.union_all([cut[0], *untouched])
        new = cut[1]
    else:
        raise ValidationError("cutter", f"split with a line or a polygon, not a {shape_.geom_type}")
    change = Change("split", user)
    change.touch(t)
    t.set_geometry(keep)
    name = check_name(new_name or f"{t.name} (split)")
    count = db.session.scalar(select(func.count(Territory.id))) or 0
    created = change.create(name=name, color=safe_colour(color, count), priority=t.priority,
                            manager_id=t.manager_id, geom=new)
    revision = change.record(f"split {t.name!r}: new {name!r}")
    return created, revision


def set_reps(user: User, territory_id: int, rep_ids: Iterable[Any]) -> TerritoryRevision:
    """Who works a territory: active reps only; the accounts stay where they are."""
    t = get_editable_or_404(territory_id, user)
    wanted: list[int] = []
    for raw in rep_ids:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError) as exc:
            raise ValidationError("reps", f"{raw!r} is not a user id") from exc
    reps = list(db.session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
    by_id = {u.id: u for u in reps}
    for rid in wanted:
        u = by_id.get(rid)
        if u is None or u.role != Role.REP or not u.active:
            raise ValidationError("reps", f"user {rid} is not an active rep")
    change = Change("reps", user)
    change.reassign = False
    change.touch(t)
    t.reps = [by_id[r] for r in sorted(set(wanted))]
    names = ", ".join(u.name for u in t.reps) or "nobody"
    return change.record(f"{t.name!r} worked by {names}")


# --- undo ------------------------------------------------------------------------------


def revisions_for(user: User, limit: int = 50) -> list[TerritoryRevision]:
    """Latest revisions the user may see: admins all, managers their own."""
    stmt = select(TerritoryRevision).order_by(TerritoryRevision.id.desc()).limit(limit)
    if user.role != Role.ADMIN:
        stmt = stmt.where(TerritoryRevision.created_by_id == user.id)
    return list(db.session.scalars(stmt))


def undo(user: User, revision_id: int) -> TerritoryRevision:
    """Put back what a revision replaced, then re-assign the area; refuse stale undos.

    A revision can be undone once, by its author or an admin, and only while no later
    change touched the same territories (undo that one first): otherwise undo would
    silently throw the later work away. Flushes; the entry point commits.
    """
    if not can_edit(user):
        raise NotFoundError(f"No revision {revision_id}.")
    rev = db.session.get(TerritoryRevision, revision_id)
    if rev is None or (user.role != Role.ADMIN and rev.created_by_id != user.id):
        raise NotFoundError(f"No revision {revision_id}.")
    if rev.undone_at is not None:
        raise ConflictError(f"Revision {revision_id} was already undone.")
    later = db.session.scalars(
        select(TerritoryRevision).where(TerritoryRevision.id > rev.id,
                                        TerritoryRevision.undone_at.is_(None))
    ).all()
    mine = set(rev.territory_ids)
    for other in later:
        if mine & set(other.territory_ids):
            raise ConflictError(
                f"Change #{other.id} ({other.summary}) touched the same territories later: "
                "undo it first."
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
    note = f"undone: {len(moved)} account(s) moved back"
    if relinked:
        note += f", {relinked} history row(s) linked to their territory again"
    rev.notes = [*rev.notes, note][:200]
    db.session.flush()
    return rev


# --- what the map and the stats panel show --------------------------------------------


def territory_frame(items: Sequence[Territory]) -> gpd.GeoDataFrame:
    """Territories as a GeoDataFrame indexed by id, with the overlap priority."""
    return gpd.GeoDataFrame(
        {"name": [t.name for t in items], "priority": [t.priority or 0 for t in items]},
        geometry=[t.geom for t in items],
        index=pd.Index([t.id for t in items], name="id"),
        crs="EPSG:4326",
    )


def accounts_frame(stmt: Any) -> gpd.GeoDataFrame:
    """Located accounts of ``stmt`` (already scoped) with what the workload needs."""
    stmt = stmt.with_only_columns(
        Account.id, Account.lat, Account.lon, Account.territory_id, Account.cadence_days,
        Account.visit_minutes, Account.value,
    ).where(Account.lat.is_not(None), Account.lon.is_not(None), Account.archived.is_(False))
    rows = db.session.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["id", "lat", "lon", "territory_id", "cadence_days",
                                        "visit_minutes", "value"])
    frame["value"] = pd.to_numeric(frame["value"].astype(float), errors="coerce")
    return gpd.GeoDataFrame(
        frame.set_index("id"),
        geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
        crs="EPSG:4326",
    )


def rep_homes(items: Sequence[Territory]) -> gpd.GeoSeries:
    """Per territory, the home of its first rep with one (missing when none)."""
    homes: list[BaseGeometry | None] = []
    for t in items:
        rep = next((u for u in sorted(t.reps, key=lambda u: u.id)
                    if u.home_lat is not None and u.home_lon is not None), None)
        homes.append(shapely.Point(rep.home_lon, rep.home_lat) if rep else None)
    return gpd.GeoSeries(homes, index=pd.Index([t.id for t in items]), crs="EPSG:4326")


def service_area(items: Sequence[Territory]) -> BaseGeometry | None:
    """The area the territories are meant to cover: their union with its holes filled.

    A hole enclosed by territories is a gap; so is a hole inside one territory (an island
    nobody works). The outside of the union is not: nobody said the map goes further.
    """
    if not items:
        return None
    union = shapely.union_all([t.geom for t in items])
    polys = [shapely.Polygon(p.exterior) for p in getattr(union, "geoms", [union])
             if p.geom_type == "Polygon"]
    return shapely.union_all(polys) if polys else None


def _json_number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def editor_data(user: User) -> dict[str, Any]:
    """Everything the map editor draws and the stats panel lists, for the visible territories.

    Account counts and value come from the database (who is assigned where); the workload
    estimate, compactness, parts, overlaps and gaps come from :mod:`territories`.
    """
    items = visible_territories(user)
    editable = can_edit(user)
    features = []
    stats: dict[int, dict[str, Any]] = {}
    overlaps_out: list[dict[str, Any]] = []
    gaps_out: list[dict[str, Any]] = []
    if items:
        frame = territory_frame(items)
        ids = [t.id for t in items]
        accounts = accounts_frame(select(Account).where(Account.territory_id.in_(ids)))
        held = accounts[accounts["territory_id"].isin(ids)]
        counts = held.groupby("territory_id").agg(n=("lat", "size"), value=("value", "sum"))
        load = terr.workload(frame, held, homes=rep_homes(items))
        compact = terr.polsby_popper(frame)
        pieces = terr.parts(frame)
        for o in terr.overlaps(frame, held).itertuples():
            a, b = int(o.a), int(o.b)
            inter = shapely.intersection(frame.geometry.loc[a], frame.geometry.loc[b])
            overlaps_out.append({"a": a, "b": b, "a_name": frame.loc[a, "name"],
                                 "b_name": frame.loc[b, "name"], "area_m2": round(o.area_m2, 1),
                                 "accounts": int(o.accounts), "geometry": mapping(inter)})
        area = service_area(items)
        if area is not None:
            for g in terr.gaps(frame, area).itertuples():
                gaps_out.append({"area_m2": round(g.area_m2, 1), "geometry": mapping(g.geometry)})
        for t in items:
            n = int(counts.loc[t.id, "n"]) if t.id in counts.index else 0
            value = float(counts.loc[t.id, "value"]) if t.id in counts.index else 0.0
            w = load.loc[t.id]
            stats[t.id] = {
                "accounts": n, "value": round(value, 2),
                "workload_hours": _json_number(w["workload_hours"]),
                "visit_hours": _json_number(w["visit_hours"]),
                "travel_hours": _json_number(w["travel_hours"]),
                "compactness": _json_number(compact.loc[t.id]),
                "parts": int(pieces.loc[t.id]),
                "area_km2": _json_number(area_m2(t.geom) / 1e6),
            }
    for t in items:
        features.append({
            "type": "Feature",
            "geometry": mapping(t.geom),
            "properties": {
                "id": t.id, "name": t.name, "color": safe_colour(t.color, t.id),
                "priority": t.priority, "manager_id": t.manager_id,
                "manager": t.manager.name if t.manager else None,
                "reps": [{"id": u.id, "name": u.name} for u in sorted(t.reps, key=lambda u: u.id)],
                "editable": editable, **stats.get(t.id, {}),
            },
        })
    unassigned = 0
    if editable:
        unassigned = db.session.scalar(
            scope_accounts(select(func.count(Account.id)), user).where(
                Account.territory_id.is_(None), Account.archived.is_(False))
        ) or 0
    return {
        "territories": {"type": "FeatureCollection", "features": features},
        "overlaps": overlaps_out,
        "gaps": gaps_out,
        "unassigned": int(unassigned),
        "editable": editable,
    }


def unassigned_points(user: User, limit: int = 50_000) -> dict[str, Any]:
    """Located, live accounts in no territory (scoped), as columns for the editor's layer.

    Reps never get this layer: their scope has no unassigned accounts to place.
    """
    if not can_edit(user):
        stmt = select(Account.id).where(false())
    else:
        stmt = scope_accounts(select(Account.id, Account.lat, Account.lon, Account.name), user)
        stmt = stmt.where(Account.territory_id.is_(None), Account.archived.is_(False),
                          Account.lat.is_not(None), Account.lon.is_not(None))
    rows = db.session.execute(stmt.order_by(Account.id).limit(limit)).all()
    return {
        "count": len(rows),
        "id": [r[0] for r in rows],
        "lat": [round(float(r[1]), 6) for r in rows] if rows and len(rows[0]) > 1 else [],
        "lon": [round(float(r[2]), 6) for r in rows] if rows and len(rows[0]) > 1 else [],
        "name": [r[3] for r in rows] if rows and len(rows[0]) > 1 else [],
    }


def accounts_inside(geom: BaseGeometry, user: User) -> int:
    """How many of the user's visible accounts a shape covers (preview before saving)."""
    base = scope_accounts(select(Account), user).where(Account.archived.is_(False))
    return len(SpatialRepository(db.session).account_ids_within(geom, base=base))


def history_of(account_id: int) -> list[AssignmentHistory]:
    return list(db.session.scalars(
        select(AssignmentHistory).where(AssignmentHistory.account_id == account_id)
        .order_by(AssignmentHistory.since, AssignmentHistory.id)))

