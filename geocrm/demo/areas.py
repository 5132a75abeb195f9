"""The demo's territories: k-means clusters of the places as Voronoi cells that tile the
service area exactly, each named after the district it lies in.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geocrm.demo.places import Place
from geocrm.spatial import haversine_m

# District and area centres (approximate, WGS84), used only to give territories local names.
# Töölönlahti is an area (the bay with Oodi, Kiasma, Musiikkitalo), not an official district.
DISTRICTS = {
    "Kluuvi": (60.1712, 24.9470), "Kaartinkaupunki": (60.1660, 24.9480),
    "Kamppi": (60.1685, 24.9330), "Punavuori": (60.1615, 24.9410),
    "Kruununhaka": (60.1725, 24.9560), "Hakaniemi": (60.1790, 24.9510),
    "Töölönlahti": (60.1745, 24.9385), "Etu-Töölö": (60.1740, 24.9310),
    "Ullanlinna": (60.1600, 24.9500),
}
_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)  # ETRS-TM35FIN metres
_TO_DEG = Transformer.from_crs("EPSG:3067", "EPSG:4326", always_xy=True)


def _to_degrees(geom: BaseGeometry) -> BaseGeometry:
    def to_deg(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(_TO_DEG.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, to_deg)


def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 50) -> np.ndarray:
    """Plain k-means with k-means++ seeding; returns the k centres."""
    centres = [xy[rng.integers(len(xy))]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(xy[rng.choice(len(xy), p=d2 / d2.sum())])
    c = np.array(centres)
    for _ in range(rounds):
        label = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([xy[label == j].mean(0) if np.any(label == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def _metres(places: tuple[Place, ...]) -> np.ndarray:
    xs, ys = _TO_M.transform([p.lon for p in places], [p.lat for p in places])
    return np.column_stack([xs, ys])


def _service_area_m(xy: np.ndarray) -> BaseGeometry:
    # The convex hull of the places, 150 m wider so no place sits on a territory's edge.
    return shapely.MultiPoint(xy).convex_hull.buffer(150, quad_segs=4)


def service_area(lats: list[float], lons: list[float]) -> BaseGeometry:
    """The area the territories of these places tile (WGS84); tests check union == this."""
    xs, ys = _TO_M.transform(lons, lats)
    return _to_degrees(_service_area_m(np.column_stack([xs, ys])))


def build_territories(places: tuple[Place, ...], k: int, rng: np.random.Generator) -> list[
    tuple[str, BaseGeometry]
]:
    """k Voronoi cells of clustered places, clipped to the service area: they tile it exactly."""
    xy = _metres(places)
    centres = _kmeans(xy, k, rng)
    area_m = _service_area_m(xy)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=area_m)
    # Clip in degrees (cells and area converted first): the projection bends straight lines,
    # so clipping in metres and converting afterwards would leave hairline slivers along the
    # edge of the stored service area. Neighbouring cells share vertices, hence edges.
    area = _to_degrees(area_m)
    shapes = []
    for centre in centres:
        cell = next(g for g in cells.geoms if g.contains(shapely.Point(centre)))
        shapes.append(_to_degrees(cell).intersection(area))
    # Honest names: each territory is named after the district centre nearest its centroid.
    # When two territories share a nearest district (the dense core does), they are told apart
    # by where they lie relative to each other ("Kluuvi West", "Kluuvi East") rather than
    # being handed a district they are not in.
    centroids = [g.centroid for g in shapes]
    nearest = [
        min(DISTRICTS, key=lambda d, c=c: haversine_m(c.y, c.x, *DISTRICTS[d])) for c in centroids
    ]
    names = list(nearest)
    for district in set(nearest):
        group = [i for i, n in enumerate(nearest) if n == district]
        if len(group) < 2:
            continue
        xs = [centroids[i].x for i in group]
        ys = [centroids[i].y for i in group]
        # Compare spreads in metres (a degree of longitude is half a degree of latitude here).
        east_west = (max(xs) - min(xs)) * 0.5 >= max(ys) - min(ys)
        group.sort(key=lambda i: centroids[i].x if east_west else centroids[i].y)
        labels = {2: ["West", "East"], 3: ["West", "Central", "East"]} if east_west else {
            2: ["South", "North"], 3: ["South", "Central", "North"]}
        for k, i in enumerate(group):
            label = labels.get(len(group), [str(n + 1) for n in range(len(group))])[k]
            names[i] = f"{district} {label}"
    out = list(zip(names, shapes, strict=True))
    return sorted(out, key=lambda t: t[0])
