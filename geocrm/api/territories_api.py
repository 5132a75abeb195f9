"""/api/v1/territories (issue 18): territories as GeoJSON, in and out, by the editor's rules.

Every read is scoped like the territory map (:func:`geocrm.access.scope_territories`: reps
their own territories, managers the ones they manage, admins and planners all); every write
goes through the map editor's services (:mod:`geocrm.territory_admin.services`), so an API
change is a revision with its re-assigned accounts and its undo, like a drawn one.

A Feature's ``properties`` carry the territory's fields; members the server owns (``id``,
``created_at``, ``updated_at``) are ignored on the way in, so a GET, edit, PATCH round trip
works as is. Positions are ``[longitude, latitude]`` as GeoJSON says; a file with the two
swapped, or a polygon that crosses itself, is a 422 that names the feature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import mapping
from sqlalchemy import select

from geocrm.access import roles_required, scope_territories
from geocrm.api import bp
from geocrm.api.object_lists import (
    Ids,
    PageQuery,
    SortKey,
    Text,
    check_if_match,
    content_etag,
    etag_answer,
    iso,
    keyset_page,
    utc_naive,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.api.territory_geojson import check_not_swapped, feature_label
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.limits import MAX_DB_ID
from geocrm.models import Territory, territory_reps
from geocrm.territory_admin import services as svc

SORT_KEYS = {"id": SortKey(Territory.id), "name": SortKey(Territory.name, "str"),
             "updated_at": SortKey(Territory.updated_at, "time")}
SORTS = Literal["id", "-id", "name", "-name", "updated_at", "-updated_at"]


class GeometryIn(BaseModel):
    """A GeoJSON Polygon or MultiPolygon, positions ``[longitude, latitude]``."""

    model_config = ConfigDict(extra="allow")  # ``bbox`` and other foreign members
    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(max_length=10_000)


class TerritoryProperties(BaseModel):
    """What a Feature's ``properties`` may set; read-only members are ignored."""

    model_config = ConfigDict(extra="ignore")
    name: Text | None = Field(None, min_length=1, max_length=120)
    color: Text | None = Field(None, max_length=7, description="#rrggbb")
    priority: int | None = Field(None, ge=-1000, le=1000,
                                 description="overlap rule: the higher wins")
    manager_id: int | None = Field(None, ge=0, le=MAX_DB_ID,
                                   description="admins only; managers manage what they make")
    rep_ids: Ids | None = Field(None, max_length=500, description="the reps who work it")


class TerritoryFeatureIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["Feature"]
    geometry: GeometryIn
    properties: TerritoryProperties


class TerritoryCreate(BaseModel):
    """A Feature (one territory) or a FeatureCollection (several, all or nothing)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["Feature", "FeatureCollection"]
    geometry: GeometryIn | None = None
    properties: TerritoryProperties | None = None
    features: list[TerritoryFeatureIn] | None = Field(None, min_length=1, max_length=200)


class TerritoryPatch(BaseModel):
    """A Feature with what changes: a new ``geometry``, and/or ``properties`` to set."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["Feature"] = "Feature"
    geometry: GeometryIn | None = None
    properties: TerritoryProperties | None = None


class WriteOptions(Schema):
    carve: bool = Field(False, description="cut the shape out of the overlapping territories "
                        "you manage (else overlaps stay and the overlap rule decides)")
    repair: bool = Field(False, description="repair a self-crossing polygon (make_valid) "
                         "instead of refusing it")


class TerritoryListQuery(PageQuery):
    q: Text | None = Field(None, max_length=100, description="words of the name")
    manager: Ids = Field(default_factory=list, max_length=100)
    rep: Ids = Field(default_factory=list, max_length=100)
    updated_since: datetime | None = Field(
        None, description="only territories changed at or after this time")
    geometry: bool = Field(True, description="false: properties only (geometry null)")
    sort: SORTS = "id"
    limit: int = Field(50, ge=1, le=500)


class TerritoryFeature(Loose):
    type: Literal["Feature"]
    id: int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class TerritoryCollection(Loose):
    type: Literal["FeatureCollection"]
    features: list[TerritoryFeature]
    total: int | None = None
    next_cursor: str | None = None


def territory_feature(t: Territory, *, geometry: bool = True) -> dict[str, Any]:
    """The territory as a GeoJSON Feature (the shape the API takes back)."""
    return {
        "type": "Feature",
        "id": t.id,
        "geometry": mapping(t.geom) if geometry else None,
        "properties": {
            "id": t.id, "name": t.name, "color": t.color, "priority": t.priority,
            "manager_id": t.manager_id, "rep_ids": sorted(u.id for u in t.reps),
            "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
        },
    }


def _etag(t: Territory) -> str:
    return content_etag(territory_feature(t))


def _answer(t: Territory, status: int = 200) -> Any:
    return etag_answer(territory_feature(t), status)


@bp.route("/territories")
@roles_required(*svc.VIEW_ROLES)
@api_schema(query=TerritoryListQuery, responses={200: TerritoryCollection})
def territories(query: TerritoryListQuery) -> Any:
    """A page of the territories you may see, as a GeoJSON FeatureCollection (keyset
    ``cursor``; ``total`` and ``next_cursor`` are foreign members)."""
    stmt = scope_territories(select(Territory), current_user)
    if query.q and query.q.strip():
        stmt = stmt.where(Territory.name.icontains(query.q.strip(), autoescape=True))
    if query.manager:
        stmt = stmt.where(Territory.manager_id.in_(query.manager))
    if query.rep:
        stmt = stmt.where(Territory.id.in_(select(territory_reps.c.territory_id).where(
            territory_reps.c.user_id.in_(query.rep))))
    since = utc_naive(query.updated_since)
    if since is not None:
        stmt = stmt.where(Territory.updated_at >= since)
    rows, next_cursor, total = keyset_page(stmt, sort=query.sort, keys=SORT_KEYS,
                                           id_column=Territory.id, cursor=query.cursor,
                                           limit=query.limit)
    return jsonify({"type": "FeatureCollection",
                    "features": [territory_feature(t, geometry=query.geometry) for t in rows],
                    "total": total, "next_cursor": next_cursor})


@bp.route("/territories/<int:territory_id>")
@roles_required(*svc.VIEW_ROLES)
@api_schema(responses={200: TerritoryFeature}, headers={200: {"ETag": "the territory's state"}})
def territory(territory_id: int) -> Any:
    """One territory as a GeoJSON Feature (``ETag`` for ``If-Match``)."""
    return _answer(svc.get_territory_or_404(territory_id, current_user))


def _named(where: str, label: str, err: ValidationError) -> ValidationError:
    """A service's complaint about one feature, naming the feature (number and name)."""
    field = f"{where}.{err.field}" if where else err.field
    return ValidationError(field, _("%(feature)s: %(reason)s", feature=label,
                                    reason=err.reason))


def _create_one(feature: TerritoryFeatureIn, options: WriteOptions) -> Territory:
    props = feature.properties
    geometry = feature.geometry.model_dump()
    check_not_swapped(geometry)
    t, _revision = svc.create_territory(
        current_user, name=props.name, geometry=geometry, color=props.color,
        priority=props.priority or 0, manager_id=props.manager_id, carve=options.carve,
        repair=options.repair)
    if props.rep_ids is not None:
        svc.set_reps(current_user, t.id, props.rep_ids)
    return t


@bp.route("/territories", methods=["POST"])
@roles_required(*svc.EDIT_ROLES)
@commits
@api_schema(query=WriteOptions, body=TerritoryCreate,
            responses={201: TerritoryCollection}, errors=(403,))
def create_territories(query: WriteOptions, body: TerritoryCreate) -> Any:
    """Create territories from a GeoJSON Feature or FeatureCollection, all or nothing.

    Each is a change of the map editor (accounts re-assigned, undoable from its history).
    A bad feature answers 422 naming it (``features.2.geometry``: its number and name).
    """
    if body.type == "FeatureCollection":
        if not body.features:
            raise ValidationError("features", _("a FeatureCollection needs features"))
        features, where = body.features, "features"
    else:
        if body.geometry is None or body.properties is None:
            raise ValidationError("geometry" if body.geometry is None else "properties",
                                  _("a Feature needs a geometry and properties"))
        features = [TerritoryFeatureIn(type="Feature", geometry=body.geometry,
                                       properties=body.properties)]
        where = ""
    created = []
    for number, feature in enumerate(features):
        place = f"{where}.{number}" if where else ""
        try:
            created.append(_create_one(feature, options=query))
        except ValidationError as err:
            raise _named(place, feature_label(number, feature.properties.name, where),
                         err) from None
    response = jsonify({"type": "FeatureCollection",
                        "features": [territory_feature(t) for t in created]})
    response.status_code = 201
    return response


@bp.route("/territories/<int:territory_id>", methods=["PATCH"])
@roles_required(*svc.EDIT_ROLES)
@commits
@api_schema(query=WriteOptions, body=TerritoryPatch, responses={200: TerritoryFeature},
            errors=(403, 412), headers={200: {"ETag": "the territory's new state"}})
def patch_territory(territory_id: int, query: WriteOptions, body: TerritoryPatch) -> Any:
    """Reshape (``geometry``), rename, recolour, re-prioritise or re-staff a territory;
    412 on a stale ``If-Match``."""
    t = svc.get_editable_or_404(territory_id, current_user)
    check_if_match(_etag(t))
    props = body.properties or TerritoryProperties()
    try:
        if body.geometry is not None:
            geometry = body.geometry.model_dump()
            check_not_swapped(geometry)
            svc.update_geometry(current_user, t.id, geometry, carve=query.carve,
                                repair=query.repair)
        fields = props.model_fields_set
        if fields & {"name", "color", "priority", "manager_id"}:
            svc.update_properties(
                current_user, t.id, name=props.name, color=props.color,
                priority=props.priority,
                manager_id=props.manager_id if "manager_id" in fields else "keep")
        if props.rep_ids is not None:
            svc.set_reps(current_user, t.id, props.rep_ids)
    except ValidationError as err:
        raise _named("", feature_label(None, props.name or t.name, ""), err) from None
    db.session.flush()
    return _answer(t)


@bp.route("/territories/<int:territory_id>", methods=["DELETE"])
@roles_required(*svc.EDIT_ROLES)
@commits
@api_schema(responses={204: None}, errors=(403, 412))
def delete_territory(territory_id: int) -> Any:
    """Delete a territory; its accounts go to whatever else covers them (undoable)."""
    t = svc.get_editable_or_404(territory_id, current_user)
    check_if_match(_etag(t))
    svc.delete_territory(current_user, t.id)
    return "", 204
