"""Distances, areas and offsets on the Earth for lon/lat data: small, pure, shared.

The CRM's services, the import, the demo and the territory tools all need the same few
measures; they live here (no Flask, no database) so there is one formula for each and the
library's strict typing covers them. Distances use a sphere of the mean Earth radius
(haversine: well under 0.5 % from the ellipsoid, plenty for "within 50 m" and "3 km away");
areas use the WGS84 ellipsoid, because territory areas are shown and compared in m².
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8
_GEOD = Geod(ellps="WGS84")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_many_m(lat: float, lon: float, lats: npt.ArrayLike,
                     lons: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Vectorised great-circle distances from one point to many, in metres."""
    p1, p2 = np.radians(lat), np.radians(np.asarray(lats, dtype=float))
    dp, dl = p2 - p1, np.radians(np.asarray(lons, dtype=float) - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def bbox_around(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) enclosing a circle; safe near the poles."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * coslat)))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def offset_m(lat: float, lon: float, metres: float, bearing_rad: float) -> tuple[float, float]:
    """The point ``metres`` away from (lat, lon) towards ``bearing_rad`` (0 = north, clockwise).

    Great-circle destination on the same sphere as :func:`haversine_m`, so
    ``haversine_m(lat, lon, *offset_m(lat, lon, d, b)) == d`` to within rounding.
    """
    p1, l1 = math.radians(lat), math.radians(lon)
    delta = metres / EARTH_RADIUS_M
    p2 = math.asin(math.sin(p1) * math.cos(delta)
                   + math.cos(p1) * math.sin(delta) * math.cos(bearing_rad))
    l2 = l1 + math.atan2(math.sin(bearing_rad) * math.sin(delta) * math.cos(p1),
                         math.cos(delta) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def area_m2(geom: BaseGeometry | None) -> float:
    """Area in square metres of a lon/lat geometry, on the WGS84 ellipsoid.

    Geodesic rather than via a UTM zone: looking the zone up costs ~50 ms a call, which
    made checking a 91-feature import take seconds.
    """
    if geom is None or geom.is_empty:
        return 0.0
    area, _ = _GEOD.geometry_area_perimeter(geom)
    return abs(float(area))


def looks_like_degrees(bounds: Sequence[float]) -> bool:
    """Whether (minx, miny, maxx, maxy) can be longitude/latitude at all.

    Feet or metres read as degrees land far outside; a file or a drawing in degrees never does.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def latlon_bounds(geoms: Iterable[BaseGeometry | None]
                  ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((south, west), (north, east)) around lon/lat geometries, as Leaflet wants; ``None``
    when there is nothing to fit."""
    present = [g for g in geoms if g is not None and not g.is_empty]
    if not present:
        return None
    minx, miny, maxx, maxy = (float(v) for v in shapely.union_all(present).bounds)
    return (miny, minx), (maxy, maxx)
