"""Where a territory's name goes on a map: a point well inside its polygon.

A centroid can fall outside a concave or ring-shaped territory (or inside a neighbour), so
the label sits at the *pole of inaccessibility* of the territory's largest part
(``shapely.ops.polylabel``): the interior point farthest from every edge, where the name has
the most room. Coordinates are WGS84 (x = lon, y = lat); the answer is ``(lat, lon)`` for
Leaflet.
"""

from __future__ import annotations

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

#: About 10 m at mid latitudes: precise enough for a label, and fast on big polygons.
TOLERANCE_DEG = 0.0001


def label_point(geom: BaseGeometry | None) -> tuple[float, float] | None:
    """``(lat, lon)`` inside ``geom``'s largest polygon; None for an empty or non-areal one."""
    if geom is None or geom.is_empty:
        return None
    parts: list[Polygon]
    if isinstance(geom, Polygon):
        parts = [geom]
    elif isinstance(geom, MultiPolygon):
        parts = list(geom.geoms)
    else:
        parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    if not parts:
        return None
    largest = max(parts, key=lambda p: p.area)
    try:
        point = polylabel(largest, tolerance=TOLERANCE_DEG)
    except Exception:  # shapely rejects some invalid rings: any interior point will do
        point = largest.representative_point()
    if not largest.contains(point):
        point = largest.representative_point()
    return float(point.y), float(point.x)
