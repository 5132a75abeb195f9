"""What is wrong with a set of territories: overlaps, gaps, split territories, odd shapes.

Areas and perimeters are measured in a local metric projection (the UTM zone of the data),
so square metres mean square metres wherever the territories are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from territories.assignment import assign
from territories.errors import CRSError


def to_metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame as is when projected, else in its UTM zone (metres)."""
    if frame.crs is None:
        raise CRSError("territories need a CRS")
    if frame.crs.is_projected:
        return frame
    return frame.to_crs(frame.estimate_utm_crs())


def polsby_popper(frame: gpd.GeoDataFrame) -> pd.Series:
    """4πA/P² per territory: 1 for a circle, π/4 for a square, near 0 for a ribbon."""
    metric = to_metric(frame)
    area = metric.geometry.area.to_numpy()
    perimeter = metric.geometry.length.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(perimeter > 0, 4 * math.pi * area / perimeter**2, 0.0)
    return pd.Series(score, index=frame.index, name="polsby_popper")


def overlaps(frame: gpd.GeoDataFrame, accounts: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Each overlapping pair: labels, overlap area in m² and accounts inside the overlap."""
    metric = to_metric(frame)
    geoms = metric.geometry.values
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    rows = []
    pts = accounts.to_crs(metric.crs).geometry.values if accounts is not None else None
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        if i >= j:
            continue
        inter = shapely.intersection(geoms[i], geoms[j])
        area = float(shapely.area(inter))
        if area <= 0.01:  # touching along a border is not an overlap
            continue
        inside = int(shapely.covers(inter, pts).sum()) if pts is not None and len(pts) else 0
        rows.append({"a": frame.index[i], "b": frame.index[j], "area_m2": area,
                     "accounts": inside})
    return pd.DataFrame(rows, columns=["a", "b", "area_m2", "accounts"])


def gaps(
    frame: gpd.GeoDataFrame, service_area: BaseGeometry, *, min_area_m2: float = 1.0
) -> gpd.GeoDataFrame:
    """The parts of ``service_area`` (in the frame's CRS) that no territory covers."""
    metric = to_metric(frame)
    area = gpd.GeoSeries([service_area], crs=frame.crs).to_crs(metric.crs).iloc[0]
    rest = shapely.difference(area, shapely.union_all(metric.geometry.values))
    parts = [p for p in getattr(rest, "geoms", [rest]) if not p.is_empty and p.area >= min_area_m2]
    out = gpd.GeoDataFrame({"area_m2": [p.area for p in parts]}, geometry=parts, crs=metric.crs)
    return out.to_crs(frame.crs)


def parts(frame: gpd.GeoDataFrame) -> pd.Series:
    """Number of separate pieces per territory (more than one: not contiguous)."""
    return pd.Series(shapely.get_num_geometries(frame.geometry.values), index=frame.index,
                     name="parts")


@dataclass(frozen=True)
class Diagnosis:
    """Everything :func:`diagnose` found."""

    overlaps: pd.DataFrame
    gaps: gpd.GeoDataFrame | None
    non_contiguous: list[object]
    compactness: pd.Series
    unassigned_accounts: int | None


def diagnose(
    frame: gpd.GeoDataFrame,
    *,
    service_area: BaseGeometry | None = None,
    accounts: gpd.GeoDataFrame | None = None,
) -> Diagnosis:
    """Overlaps, gaps in the service area, split territories, compactness, unassigned accounts."""
    pieces = parts(frame)
    unassigned = None
    if accounts is not None:
        unassigned = int(assign(accounts, frame).isna().sum())
    return Diagnosis(
        overlaps=overlaps(frame, accounts),
        gaps=gaps(frame, service_area) if service_area is not None else None,
        non_contiguous=[label for label, n in pieces.items() if n > 1],
        compactness=polsby_popper(frame),
        unassigned_accounts=unassigned,
    )
