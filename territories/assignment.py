"""Point-in-territory assignment, vectorised, deterministic on borders and overlaps.

The rule, applied wherever a point is covered by more than one territory (a shared border
or an overlap): the higher ``priority`` wins (a column of the polygons, when present), then
the smaller area, then the lower position in the polygons frame. The same point therefore
always lands in the same territory, whatever order the rows come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territories.errors import CRSError, TerritoryError


def _check_crs(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> None:
    if points.crs is None or polygons.crs is None:
        raise CRSError("both frames need a CRS (set one with .set_crs(...))")
    if not points.crs.equals(polygons.crs):
        raise CRSError(
            f"CRS mismatch: points are {points.crs.to_string()}, polygons are "
            f"{polygons.crs.to_string()}; reproject one with .to_crs(...) first"
        )


def _ranks(polygons: gpd.GeoDataFrame, priority: str | None) -> np.ndarray:
    """Position of each polygon in the resolution order (0 wins)."""
    n = len(polygons)
    if priority is not None and priority in polygons.columns:
        prio = pd.to_numeric(polygons[priority], errors="coerce").fillna(0).to_numpy(float)
    else:
        prio = np.zeros(n)
    area = shapely.area(polygons.geometry.values)
    try:  # the last tie-break is the label, so row order never matters
        label_rank = np.argsort(np.argsort(np.asarray(polygons.index), kind="stable"))
    except TypeError:  # labels of mixed types: fall back to row order
        label_rank = np.arange(n)
    order = np.lexsort((label_rank, area, -prio))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    return ranks


def _pairs(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(point position, polygon position) for every point covered by a polygon (border too)."""
    geoms = polygons.geometry.values
    tree = shapely.STRtree(geoms)
    pts = points.geometry.values
    valid = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    idx = np.nonzero(valid)[0]
    pi, gi = tree.query(np.asarray(pts)[idx], predicate="intersects")
    return idx[pi], gi


@dataclass(frozen=True)
class AssignReport:
    """The assignment and what needed a rule: points in no territory, points in several."""

    assignment: pd.Series
    unassigned: pd.Index
    contested: pd.DataFrame  # point, candidates (labels), chosen


def assign(
    points: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    priority: str | None = "priority",
    **options: Any,
) -> pd.Series:
    """The territory of each point: the polygons' index label, missing when none.

    Parameters
    ----------
    points, polygons
        GeoDataFrames in the same CRS. Points without geometry are unassigned.
    priority
        Column of ``polygons`` whose higher values win overlaps (ignored when absent).

    Returns
    -------
    pandas.Series
        Aligned with ``points.index``; values are labels of ``polygons.index`` (nullable
        integer dtype when those labels are integers), ``<NA>`` for unassigned points.
    """
    return assign_report(points, polygons, priority=priority, **options).assignment


def assign_report(
    points: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    priority: str | None = "priority",
    **options: Any,
) -> AssignReport:
    """Like :func:`assign`, and say which points were unassigned or contested."""
    if options:
        raise TerritoryError(f"unknown option(s): {', '.join(sorted(options))}")
    if not isinstance(points, gpd.GeoDataFrame) or not isinstance(polygons, gpd.GeoDataFrame):
        raise TerritoryError("points and polygons must be GeoDataFrames")
    _check_crs(points, polygons)
    n = len(points)
    chosen = np.full(n, -1, dtype=np.int64)
    contested = pd.DataFrame(columns=["point", "candidates", "chosen"])
    if n and len(polygons):
        pi, gi = _pairs(points, polygons)
        if len(pi):
            ranks = _ranks(polygons, priority)
            order = np.lexsort((ranks[gi], pi))
            pi, gi = pi[order], gi[order]
            first = np.ones(len(pi), dtype=bool)
            first[1:] = pi[1:] != pi[:-1]
            chosen[pi[first]] = gi[first]
            multi = np.nonzero(~first)[0]
            if len(multi):
                labels = polygons.index
                many = np.unique(pi[multi])
                rows = []
                for p in many[:10_000]:
                    cand = gi[pi == p]
                    rows.append({"point": points.index[p],
                                 "candidates": [labels[c] for c in cand],
                                 "chosen": labels[cand[0]]})
                contested = pd.DataFrame(rows, columns=["point", "candidates", "chosen"])
    labels = polygons.index
    hit = chosen >= 0
    if not len(labels):
        values: Any = pd.array([pd.NA] * n, dtype="Int64")
    elif pd.api.types.is_integer_dtype(labels.dtype):
        values = pd.array(np.where(hit, np.asarray(labels)[np.maximum(chosen, 0)], 0),
                          dtype="Int64")
        values[~hit] = pd.NA
    else:
        arr = np.asarray(labels, dtype=object)[np.maximum(chosen, 0)]
        arr[~hit] = None
        values = arr
    assignment = pd.Series(values, index=points.index, name="territory")
    return AssignReport(assignment, points.index[~hit], contested)
