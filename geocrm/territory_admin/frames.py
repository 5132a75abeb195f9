"""What the map and the stats panel show: territories, accounts and rep homes as frames."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import false, func, select

import territories as terr
from geocrm.access import scope_accounts
from geocrm.colours import safe_colour
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, Territory, User
from geocrm.region.travel import workload_model
from geocrm.spatial import SpatialRepository
from geocrm.territory_admin.scope import can_edit, visible_territories
from territories.geodesy import area_m2
from territories.labels import label_point

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
        load = terr.workload(frame, held, homes=rep_homes(items), model=workload_model())
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
                "editable": editable, "label": label_point(t.geom), **stats.get(t.id, {}),
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
