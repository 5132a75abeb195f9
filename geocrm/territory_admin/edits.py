"""The edits the map editor offers: create, reshape, rename/recolour, delete, split, reps.

Each one is a :class:`~geocrm.territory_admin.revisions.Change`, so each is undoable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import shapely
from flask_babel import gettext as _
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_geometry
from sqlalchemy import func, select

import territories as terr
from geocrm.colours import check_colour, safe_colour
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Role, Territory, User
from geocrm.models.territory_admin import TerritoryRevision
from geocrm.territory_admin import notes as tn
from geocrm.territory_admin.geometry import MIN_AREA_M2, check_name, check_polygon, parse_geojson
from geocrm.territory_admin.revisions import Change
from geocrm.territory_admin.scope import can_edit, get_editable_or_404, visible_territories
from territories.geodesy import area_m2


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
            change.notes.append(tn.note("overlaps_not_managed", name=other.name))
            continue
        rest = terr.io.polygonal(shapely.make_valid(shapely.difference(other.geom, geom)))
        if rest is None or area_m2(rest) < MIN_AREA_M2:
            raise ValidationError(
                "geometry", _(
                    "the shape covers all of %(name)s: delete it instead", name=repr(other.name))
            )
        change.touch(other)
        other.set_geometry(rest)
        change.notes.append(tn.note("cut_out_of", name=other.name))


def _overlap_notes(change: Change, geom: BaseGeometry, exclude: Iterable[int]) -> None:
    for other in _overlapping(geom, exclude=exclude):
        change.notes.append(tn.note("overlaps_rule", name=other.name))


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
        raise NotFoundError(_("No such page."))
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
    revision = change.record(tn.note("created", name=clean))
    return t, revision


def _priority(value: Any) -> int:
    try:
        number = int(value or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError("priority", _("a whole number")) from exc
    if not -1000 <= number <= 1000:
        raise ValidationError("priority", _("between -1000 and 1000"))
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
        raise ValidationError("manager", _("not a user id")) from exc
    manager = db.session.get(User, mid)
    if manager is None or manager.role != Role.MANAGER:
        raise ValidationError("manager", _("user %(id)s is not a manager", id=mid))
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
    return change.record(tn.note("reshaped", name=t.name))


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
    return change.record(tn.note("edited", name=t.name))


def delete_territory(user: User, territory_id: int) -> TerritoryRevision:
    """Remove a territory; its accounts go to whatever else covers them, or unassigned."""
    t = get_editable_or_404(territory_id, user)
    change = Change("delete", user)
    change.delete(t)
    return change.record(tn.note("deleted", name=t.name))


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
        shape_, _notes = check_polygon(shape_, field_name="cutter")
        inside = terr.io.polygonal(shapely.make_valid(shapely.intersection(t.geom, shape_)))
        rest = terr.io.polygonal(shapely.make_valid(shapely.difference(t.geom, shape_)))
        if inside is None or area_m2(inside) < MIN_AREA_M2:
            raise ValidationError("cutter", _(
                "the shape does not overlap %(name)s", name=repr(t.name)))
        if rest is None or area_m2(rest) < MIN_AREA_M2:
            raise ValidationError("cutter", _(
                "the shape covers all of %(name)s: nothing to split", name=repr(t.name)))
        keep, new = rest, inside
    elif shape_.geom_type in ("LineString", "MultiLineString"):
        pieces = [p for p in split_geometry(t.geom, shape_).geoms
                  if p.geom_type == "Polygon" and area_m2(p) >= MIN_AREA_M2]
        if len(pieces) < 2:
            raise ValidationError("cutter", _(
                "the line must cross %(name)s from edge to edge", name=repr(t.name)))
        untouched = [p for p in pieces if any(p.equals(g) for g in getattr(t.geom, "geoms", []))]
        cut = [p for p in pieces if not any(p.equals(u) for u in untouched)]
        if len(cut) != 2:
            raise ValidationError(
                "cutter",
                _(
                    "the line cuts %(name)s into %(num)s pieces; draw one that cuts it in two",
                    name=repr(t.name), num=len(cut)),
            )
        cut.sort(key=area_m2, reverse=True)
        keep = shapely.union_all([cut[0], *untouched])
        new = cut[1]
    else:
        raise ValidationError("cutter", _(
            "split with a line or a polygon, not a %(kind)s", kind=shape_.geom_type))
    change = Change("split", user)
    change.touch(t)
    t.set_geometry(keep)
    name = check_name(new_name or f"{t.name} (split)")
    count = db.session.scalar(select(func.count(Territory.id))) or 0
    created = change.create(name=name, color=safe_colour(color, count), priority=t.priority,
                            manager_id=t.manager_id, geom=new)
    revision = change.record(tn.note("split", name=t.name, new=name))
    return created, revision


def set_reps(user: User, territory_id: int, rep_ids: Iterable[Any]) -> TerritoryRevision:
    """Who works a territory: active reps only; the accounts stay where they are."""
    t = get_editable_or_404(territory_id, user)
    wanted: list[int] = []
    for raw in rep_ids:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError) as exc:
            raise ValidationError("reps", _("%(value)s is not a user id", value=repr(raw))) from exc
    reps = list(db.session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
    by_id = {u.id: u for u in reps}
    for rid in wanted:
        u = by_id.get(rid)
        if u is None or u.role != Role.REP or not u.active:
            raise ValidationError("reps", _("user %(id)s is not an active rep", id=rid))
    change = Change("reps", user)
    change.reassign = False
    change.touch(t)
    t.reps = [by_id[r] for r in sorted(set(wanted))]
    names: Any = [u.name for u in t.reps] or tn.note("nobody")
    return change.record(tn.note("worked_by", name=t.name, reps=names))
