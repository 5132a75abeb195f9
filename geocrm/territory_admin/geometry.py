"""Checking what a user draws or uploads: GeoJSON, valid polygons in degrees, unique names."""

from __future__ import annotations

from typing import Any

import shapely
from flask_babel import gettext as _
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

import territories as terr
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Territory
from geocrm.territory_admin import notes as tn
from territories.geodesy import area_m2, looks_like_degrees

# Below a square metre a polygon is a drawing slip, not a territory.
MIN_AREA_M2 = 1.0

# --- geometry --------------------------------------------------------------------------


def parse_geojson(data: Any, field_name: str = "geometry") -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry, Feature or FeatureCollection (unioned)."""
    if not isinstance(data, dict) or "type" not in data:
        raise ValidationError(field_name, _("expected a GeoJSON geometry"))
    kind = data.get("type")
    try:
        if kind == "Feature":
            return parse_geojson(data.get("geometry"), field_name)
        if kind == "FeatureCollection":
            geoms = [parse_geojson(f, field_name) for f in data.get("features") or []]
            if not geoms:
                raise ValidationError(field_name, _("the collection has no features"))
            return shapely.union_all(geoms)
        geom = shape(data)
    except ValidationError:
        raise
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValidationError(field_name, _(
            "not a valid GeoJSON geometry (%(error)s)", error=exc)) from exc
    return shapely.force_2d(geom)


def check_polygon(
    geom: BaseGeometry, *, repair: bool = True, field_name: str = "geometry",
    row: int | None = None,
) -> tuple[BaseGeometry, list[tn.Note]]:
    """A valid polygon/multipolygon in lon/lat and notes on what was repaired.

    Refused with a message naming the problem: empty, not polygonal, not in degrees, zero
    area, or (with ``repair=False``) invalid. With ``repair=True`` an invalid polygon (a
    bow-tie, a ring crossing itself) goes through ``make_valid`` and the note says where
    it was invalid and what it became (a coded note, :mod:`geocrm.territory_admin.notes`).
    ``row`` is the file row a refusal names.
    """
    if geom is None or geom.is_empty:
        raise ValidationError(field_name, _("the shape is empty"), row=row)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationError(field_name, _(
            "a territory must be a polygon, not a %(kind)s", kind=geom.geom_type), row=row)
    if not looks_like_degrees(geom.bounds):
        raise ValidationError(
            field_name, _("coordinates are not longitude/latitude degrees (projected data?)"),
            row=row)
    notes: list[tn.Note] = []
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise ValidationError(field_name, _("invalid polygon: %(reason)s", reason=reason),
                                  row=row)
        fixed = terr.io.polygonal(shapely.make_valid(geom))
        if fixed is None:
            raise ValidationError(field_name, _(
                "invalid polygon with no area left: %(reason)s", reason=reason), row=row)
        pieces = len(getattr(fixed, "geoms", [fixed]))
        notes.append(tn.note("polygon_repaired", reason=reason, num=pieces))
        geom = fixed
    if area_m2(geom) < MIN_AREA_M2:
        raise ValidationError(field_name, _("the shape has no area (zero-area polygon)"),
                              row=row)
    return geom, notes


def check_name(name: Any, *, exclude_id: int | None = None, field_name: str = "name") -> str:
    """A stripped, unique territory name of at most 120 characters."""
    text = str(name or "").strip()
    if not text:
        raise ValidationError(field_name, _("a territory needs a name"))
    if len(text) > 120:
        raise ValidationError(field_name, _("at most 120 characters"))
    stmt = select(Territory.id).where(Territory.name == text)
    if exclude_id is not None:
        stmt = stmt.where(Territory.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise ValidationError(field_name, _(
            "a territory named %(name)s already exists", name=repr(text)))
    return text
