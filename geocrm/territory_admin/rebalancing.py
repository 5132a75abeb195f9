"""Rebalancing: move the fewest units between today's territories to reach the target.

Only units that change hands change the map; every territory keeps its name, colour and reps.
Unlike a balance from scratch (:mod:`~geocrm.territory_admin.balancing`), the units are grouped
into catchments first (:func:`_catchments`), so the territories do not end up as ribbons.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask_babel import gettext as _
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

import territories as terr
from geocrm.errors import ValidationError
from geocrm.models import Territory, User
from geocrm.models.territory_admin import BalanceProposal
from geocrm.region.travel import workload_model
from geocrm.territory_admin import services as svc
from geocrm.territory_admin.proposals import (
    BalanceRequest,
    before_table,
    moved_accounts,
    rounded,
    store_proposal,
    workload_ratio,
)


def _grid_units(request: BalanceRequest, area: BaseGeometry, k: int) -> gpd.GeoDataFrame:
    series = gpd.GeoSeries([area], crs="EPSG:4326")
    metric = series.estimate_utm_crs()
    area_m = series.to_crs(metric).iloc[0]
    size = request.cell_km * 1000 if request.cell_km else math.sqrt(area_m.area / (50 * k))
    cells = terr.grid(area_m, size, "square" if request.units == "square" else "hex")
    return gpd.GeoDataFrame(geometry=cells, crs=metric).to_crs("EPSG:4326")


def preview_rebalance(
    user: User, request: BalanceRequest, area: BaseGeometry, replaced: list[Territory],
    reps: list[User], units: gpd.GeoDataFrame | None, accounts: gpd.GeoDataFrame,
    homes: gpd.GeoSeries,
) -> BalanceProposal:
    """Move the fewest units between today's territories to reach the target.

    Each unit starts in the territory holding its representative point. Only units that
    change hands change the map: a territory becomes what it was, minus every unit that
    moved, plus the units it gained; borders elsewhere stay exactly where they were, and
    every territory keeps its name, colour and reps.
    """
    if len(replaced) < 2:
        raise ValidationError("territories", _("choose at least two territories to rebalance"))
    units = units if units is not None else _grid_units(request, area, len(replaced))
    units = units.reset_index(drop=True)
    grid_units = len(units)
    units, current = _catchments(units, _holders(units, replaced), accounts)
    try:
        result = terr.rebalance(units, pd.Series(current), accounts, homes,
                                target=request.target, model=workload_model())
    except terr.TerritoryError as exc:
        raise ValidationError("territories", str(exc)) from exc
    region = result.units["territory"].to_numpy(dtype=int)
    changed = region != current
    moved_geoms = units.geometry.values[changed]
    moved_all = shapely.union_all(moved_geoms) if len(moved_geoms) else None
    moved_area = (terr.io.polygonal(shapely.make_valid(shapely.intersection(moved_all, area)))
                  if moved_all is not None else None)
    proposal = _reshaped(replaced, reps, units, changed, region, moved_all, area, accounts)
    before_rows = before_table(replaced, accounts)
    moved, newly = moved_accounts(accounts, replaced, proposal)
    stats = {
        "mode": "rebalance",
        "before": before_rows,
        "before_max_min": rounded(workload_ratio([b["workload_hours"] or 0 for b in before_rows])),
        "after_max_min": rounded(workload_ratio([p["workload_hours"] or 0 for p in proposal])),
        "contiguous": bool(result.contiguous),
        "moved_accounts": moved,
        "newly_assigned": newly,
        "moved_units": int(changed.sum()),
        # What changes hands, for the preview map (the rest of every border stays put).
        "moved_area": mapping(moved_area) if moved_area is not None else None,
        "accounts": len(accounts),
        "units": len(units),
        "cells": grid_units,
        "deleted": [],
    }
    return store_proposal(user, request, replaced, proposal, stats)


def _holders(units: gpd.GeoDataFrame, replaced: list[Territory]) -> np.ndarray:
    """Each unit's territory today (index into ``replaced``): the one holding its
    representative point, or for a sliver outside every territory the nearest one."""
    frame = svc.territory_frame(replaced)
    points = gpd.GeoDataFrame(geometry=units.geometry.representative_point(), crs="EPSG:4326")
    owner = terr.assign(points, frame)
    position = {t.id: i for i, t in enumerate(replaced)}
    holder = []
    for label, point in zip(owner.tolist(), points.geometry, strict=True):
        if pd.isna(label):
            holder.append(min(range(len(replaced)),
                              key=lambda i: replaced[i].geom.distance(point)))
        else:
            holder.append(position[int(label)])
    return np.asarray(holder, dtype=int)


def _reshaped(
    replaced: list[Territory], reps: list[User], units: gpd.GeoDataFrame, changed: np.ndarray,
    region: np.ndarray, moved_all: BaseGeometry | None, area: BaseGeometry,
    accounts: gpd.GeoDataFrame,
) -> list[dict[str, Any]]:
    """Each territory minus the units it lost plus those it gained, with its workload,
    compactness and the accounts it gains and loses (the rows of the preview table)."""
    proposal = []
    new_geoms = []
    for r, (t, rep) in enumerate(zip(replaced, reps, strict=True)):
        geom = t.geom if moved_all is None else shapely.difference(t.geom, moved_all)
        gained = units.geometry.values[changed & (region == r)]
        if len(gained):  # clipped: grid cells made in metres overhang the outline by mm
            geom = shapely.union(geom, shapely.intersection(shapely.union_all(gained), area))
        geom = terr.io.polygonal(shapely.make_valid(geom))
        if geom is None:
            raise ValidationError("territories", _("%(name)s would be left empty", name=t.name))
        geom, _notes = svc.check_polygon(geom, field_name="proposal")
        new_geoms.append(geom)
        proposal.append({
            "rep_id": rep.id, "rep_name": ", ".join(u.name for u in t.reps) or rep.name,
            "territory_id": t.id, "name": t.name, "geometry": mapping(geom),
            "keep_reps": True,
        })
    after = gpd.GeoDataFrame(geometry=new_geoms, index=pd.Index([t.id for t in replaced]),
                             crs="EPSG:4326")
    load = terr.workload(after, accounts, homes=svc.rep_homes(replaced),
                         model=workload_model())
    compact = terr.polsby_popper(after)
    now_in = terr.assign(accounts, after)
    was_in = pd.to_numeric(accounts["territory_id"], errors="coerce")
    for p in proposal:
        tid = p["territory_id"]
        p.update(workload_hours=rounded(load.loc[tid, "workload_hours"]),
                 accounts=int(load.loc[tid, "accounts"]), compactness=rounded(compact.loc[tid]),
                 gains=int(((now_in == tid) & (was_in != tid)).sum()),
                 loses=int(((was_in == tid) & (now_in != tid)).sum()))
    return proposal


def _catchments(units: gpd.GeoDataFrame, current: np.ndarray, accounts: gpd.GeoDataFrame
                ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Units regrouped so that every unit of a territory with accounts holds some.

    :func:`territories.rebalance` moves the units with the fewest accounts first, so a unit
    without accounts costs nothing to move; and moving one always helps a little (less
    area, less travel for the heavier territory). Fed plain grid cells, it strips the
    heavier territory of every empty cell it can reach before it moves one account, and
    the territories end up as ribbons wrapped round each other (Polsby-Popper 0.7 -> 0.05
    on two squares). So each empty unit joins the nearest unit with accounts of the same
    territory, nearest in steps through neighbouring units (a breadth-first search from
    all of them at once, so each group is in one piece): a group moves with its accounts,
    and the border still follows the cells' edges. Units of a territory with no account at
    all stay as they are. Returns the grouped units (positions 0..m-1) and their territory.
    """
    n = len(units)
    where = terr.assign(accounts, units[["geometry"]]) if len(accounts) else pd.Series(
        [], dtype=float)
    placed = where.dropna().astype(int).to_numpy()
    count = np.bincount(placed, minlength=n) if len(placed) else np.zeros(n, dtype=int)
    metric = units.geometry.to_crs(units.estimate_utm_crs()).values
    # Neighbours share a stretch of border: the same test as territories.balancing's.
    grown = shapely.buffer(metric, 0.5, quad_segs=2)
    a, b = shapely.STRtree(grown).query(grown, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.area(shapely.intersection(grown[a], grown[b])) > 2.0
    neighbours: list[list[int]] = [[] for _i in range(n)]
    for i, j in zip(a[shared].tolist(), b[shared].tolist(), strict=True):
        if current[i] == current[j]:
            neighbours[i].append(j)
            neighbours[j].append(i)
    group = np.full(n, -1, dtype=int)
    queue = deque(int(u) for u in np.nonzero(count > 0)[0])
    for u in queue:
        group[u] = u
    while queue:
        u = queue.popleft()
        for v in sorted(neighbours[u]):
            if group[v] < 0:
                group[v] = group[u]
                queue.append(v)
    alone = group < 0
    group[alone] = np.nonzero(alone)[0]
    labels, position = np.unique(group, return_inverse=True)
    if len(labels) == n:
        return units, current
    geoms = [shapely.union_all(units.geometry.values[position == g]) for g in range(len(labels))]
    grouped = gpd.GeoDataFrame(geometry=geoms, crs=units.crs)
    return grouped, current[labels]
