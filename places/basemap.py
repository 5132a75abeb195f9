"""The region's vector basemap: one PMTiles archive of Mapbox Vector Tiles built from the extract.

Why here and why this way: a rep on a plane, or a company that must not lean on the public OSM
tile server, needs streets, water and names drawn from data the app already holds. One
``.osm.pbf`` is read once with pyosmium (:func:`read_basemap`), every feature is projected to
Web Mercator, and each zoom is cut into tiles with shapely (simplified to the tile's resolution,
slivers below a couple of pixels dropped) and encoded by ``mapbox-vector-tile``; the ``pmtiles``
writer makes one file that a browser reads with HTTP range requests (:func:`build_basemap`).

The layers and properties follow the Protomaps basemap schema (``earth``, ``water``,
``landuse``, ``roads``, ``buildings``, ``places``; ``kind``, ``kind_detail``, ``name``,
``name:xx``, ``min_zoom``), so protomaps-leaflet's own light theme draws it, and a PMTiles file
a company takes from a Protomaps build draws the same way. Tiles go from z0 to ``max_zoom``
(15 by default); the map overzooms the last level. Buildings start at z14, paths at z14, minor
roads at z12. The sea is cut out of the land by the extract's coastlines (OSM draws land on the
left of a coastline), so a harbour city is not one beige square.

The archive is written to a temporary file beside the target and moved over it with
``os.replace``: a reader sees the old basemap or the new one, never half of one.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import numpy.typing as npt
import osmium
import shapely
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import (
    Compression,
    TileType,
    deserialize_directory,
    tileid_to_zxy,
    zxy_to_tileid,
)
from pmtiles.writer import Writer
from shapely.geometry.base import BaseGeometry

from places.roads import RegionError

EARTH_R = 6_378_137.0
WORLD = 2 * math.pi * EARTH_R  # width of the Web Mercator square, metres
MAX_LAT = 85.05112878
EXTENT = 4096  # tile coordinate units (the MVT default)
BUFFER = 64  # units drawn beyond the tile edge, so lines and outlines join across tiles
ATTRIBUTION = "© OpenStreetMap contributors"
LANGS = ("en", "ko", "ja")  # name:xx kept beside name (the app's languages)
LAYERS = ("earth", "water", "landuse", "roads", "buildings", "places")

# highway=* -> (kind, first zoom); Protomaps' road kinds.
ROADS: dict[str, tuple[str, int]] = {
    "motorway": ("highway", 5), "motorway_link": ("highway", 11),
    "trunk": ("major_road", 7), "trunk_link": ("major_road", 12),
    "primary": ("major_road", 8), "primary_link": ("major_road", 12),
    "secondary": ("major_road", 10), "secondary_link": ("major_road", 13),
    "tertiary": ("major_road", 11), "tertiary_link": ("major_road", 13),
    "residential": ("minor_road", 12), "unclassified": ("minor_road", 12),
    "road": ("minor_road", 12), "living_street": ("minor_road", 12),
    "service": ("minor_road", 13),
    "pedestrian": ("path", 14), "footway": ("path", 14), "path": ("path", 14),
    "cycleway": ("path", 14), "steps": ("path", 15), "track": ("path", 14),
    "bridleway": ("path", 15),
}
RAIL_MINZOOM = 11
# (key, value) -> landuse kind, as the Protomaps light theme colours them.
LANDUSE: dict[tuple[str, str], str] = {
    ("leisure", "park"): "park", ("leisure", "garden"): "park",
    ("landuse", "recreation_ground"): "park", ("leisure", "playground"): "playground",
    ("leisure", "golf_course"): "golf_course", ("leisure", "nature_reserve"): "nature_reserve",
    ("landuse", "cemetery"): "cemetery", ("amenity", "grave_yard"): "cemetery",
    ("landuse", "forest"): "forest", ("natural", "wood"): "wood",
    ("landuse", "grass"): "grass", ("natural", "grassland"): "grassland",
    ("landuse", "meadow"): "grassland", ("natural", "scrub"): "scrub",
    ("natural", "beach"): "beach", ("natural", "sand"): "sand",
    ("landuse", "industrial"): "industrial", ("amenity", "hospital"): "hospital",
    ("amenity", "school"): "school", ("amenity", "university"): "university",
    ("amenity", "college"): "college", ("highway", "pedestrian"): "pedestrian",
    ("place", "square"): "pedestrian", ("man_made", "pier"): "pier", ("tourism", "zoo"): "zoo",
    ("landuse", "military"): "military", ("aeroway", "aerodrome"): "aerodrome",
    ("landuse", "allotments"): "allotments", ("landuse", "village_green"): "village_green",
}
WATER_AREAS: dict[tuple[str, str], str] = {
    ("natural", "water"): "water", ("waterway", "riverbank"): "water",
    ("waterway", "dock"): "water", ("landuse", "reservoir"): "water",
    ("landuse", "basin"): "water", ("natural", "bay"): "bay",
}
WATER_LINES: dict[str, int] = {"river": 11, "canal": 12, "stream": 14, "ditch": 15, "drain": 15}
# place=* -> (kind, first zoom). Districts are written as localities (their own place value
# stays in kind_detail): protomaps-leaflet's themes label only localities, and a rep reads a
# city map by its districts. Their later first zoom sorts them after the towns.
PLACES: dict[str, tuple[str, int]] = {
    "city": ("locality", 4), "town": ("locality", 8), "village": ("locality", 11),
    "hamlet": ("locality", 13), "suburb": ("locality", 11),
    "quarter": ("locality", 13), "neighbourhood": ("locality", 14),
}
BUILDINGS_MINZOOM = 14


@dataclass
class _Layer:
    """One layer's features while reading: lon/lat geometries, properties, first zoom."""

    geoms: list[BaseGeometry] = field(default_factory=list)
    props: list[dict[str, Any]] = field(default_factory=list)
    minzoom: list[int] = field(default_factory=list)

    def add(self, geom: BaseGeometry, props: dict[str, Any], minzoom: int) -> None:
        if geom.is_empty:
            return
        self.geoms.append(geom)
        self.props.append(props)
        self.minzoom.append(minzoom)


@dataclass
class BasemapData:
    """Every layer's features in Web Mercator metres, ready to be cut into tiles."""

    layers: dict[str, tuple[npt.NDArray[Any], list[dict[str, Any]], npt.NDArray[np.int_]]]
    bbox: tuple[float, float, float, float]  # west, south, east, north (degrees)
    counts: dict[str, int]
    skipped: int  # broken multipolygons pyosmium could not assemble (counted, never hidden)


def _names(tags: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = tags.get("name")
    if name:
        out["name"] = name
        for lang in LANGS:
            value = tags.get(f"name:{lang}")
            if value:
                out[f"name:{lang}"] = value
    return out


def _first_match(tags: Any, table: dict[tuple[str, str], str]) -> str | None:
    for (key, value), kind in table.items():
        if tags.get(key) == value:
            return kind
    return None


def _population_rank(tags: Any) -> int:
    try:
        population = int(str(tags.get("population", "0")).replace(" ", "").replace(",", ""))
    except ValueError:
        return 0
    return max(0, min(15, int(math.log10(population) * 2))) if population > 0 else 0


class _Reader:
    """One pass over the extract, sorting OSM objects into the basemap's layers."""

    def __init__(self) -> None:
        self.layers: dict[str, _Layer] = {name: _Layer() for name in LAYERS}
        self.coast: list[BaseGeometry] = []
        self.skipped = 0
        self.wkb = osmium.geom.WKBFactory()

    def node(self, n: Any) -> None:
        place = PLACES.get(n.tags.get("place", ""))
        if place is None or "name" not in n.tags:
            return
        kind, minzoom = place
        props = {"kind": kind, "kind_detail": n.tags["place"], "min_zoom": minzoom,
                 "population_rank": _population_rank(n.tags), **_names(n.tags)}
        self.layers["places"].add(shapely.Point(n.location.lon, n.location.lat), props, minzoom)

    def way(self, w: Any) -> None:
        tags = w.tags
        if tags.get("natural") == "coastline":
            line = self._line(w)
            if not line.is_empty:
                self.coast.append(line)
            return
        highway = tags.get("highway")
        if highway in ROADS and tags.get("area") != "yes":
            kind, minzoom = ROADS[highway]
            props = {"kind": kind, "kind_detail": highway, **_names(tags)}
            if tags.get("ref"):
                props["ref"] = tags["ref"]
            self.layers["roads"].add(self._line(w), props, minzoom)
        elif tags.get("railway") == "rail" and tags.get("service") is None:
            self.layers["roads"].add(self._line(w), {"kind": "rail", "kind_detail": "rail"},
                                     RAIL_MINZOOM)
        elif tags.get("waterway") in WATER_LINES:
            kind = "river" if tags["waterway"] in ("river", "canal") else "stream"
            self.layers["water"].add(self._line(w), {"kind": kind, **_names(tags)},
                                     WATER_LINES[tags["waterway"]])

    def area(self, a: Any) -> None:
        tags = a.tags
        water = _first_match(tags, WATER_AREAS)
        landuse = None if water else _first_match(tags, LANDUSE)
        building = tags.get("building") not in (None, "no")
        if not (water or landuse or building):
            return
        try:
            geom = shapely.from_wkb(self.wkb.create_multipolygon(a))
        except (RuntimeError, osmium.InvalidLocationError):
            self.skipped += 1
            return
        if water:
            kind = "lake" if tags.get("water") == "lake" else water
            self.layers["water"].add(geom, {"kind": kind, **_names(tags)}, 0)
        elif landuse:
            self.layers["landuse"].add(geom, {"kind": landuse, **_names(tags)}, 0)
        if building:
            self.layers["buildings"].add(geom, {"kind": "building"}, BUILDINGS_MINZOOM)

    def _line(self, w: Any) -> BaseGeometry:
        """The way's line over the nodes the extract has (a clipped extract cuts ways at its
        edge: their outside nodes have no location)."""
        coords = [(n.location.lon, n.location.lat) for n in w.nodes if n.location.valid()]
        return shapely.LineString(coords) if len(coords) > 1 else shapely.LineString()


def _lonlat_to_mercator(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    lon = np.radians(coords[:, 0])
    lat = np.radians(np.clip(coords[:, 1], -MAX_LAT, MAX_LAT))
    return np.column_stack([EARTH_R * lon, EARTH_R * np.log(np.tan(np.pi / 4 + lat / 2))])


def _header_bbox(source: Path) -> tuple[float, float, float, float] | None:
    reader = osmium.io.Reader(str(source), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def read_basemap(path: str | Path) -> BasemapData:
    """Read ``path`` (``.osm.pbf``/``.osm``) once and sort its map features into layers.

    Raises :class:`RegionError` naming the file when it cannot be read or holds nothing to draw.
    """
    source = Path(path)
    if not source.is_file():
        raise RegionError(f"{source}: no such file")
    reader = _Reader()
    try:
        for obj in osmium.FileProcessor(str(source)).with_locations().with_areas():
            if isinstance(obj, osmium.osm.Area):
                reader.area(obj)
            elif isinstance(obj, osmium.osm.Way):
                reader.way(obj)
            elif isinstance(obj, osmium.osm.Node):
                reader.node(obj)
    except (RuntimeError, osmium.InvalidLocationError) as err:
        raise RegionError(f"{source.name}: not a readable OSM extract ({err})") from err
    drawn = [g for layer in reader.layers.values() for g in layer.geoms] + reader.coast
    if not drawn:
        raise RegionError(f"{source.name}: no roads, water, land use, buildings or places "
                          "to draw")
    bbox = _header_bbox(source) or tuple(shapely.total_bounds(np.array(drawn)).tolist())
    west, south, east, north = bbox
    region = shapely.box(west, south, east, north)
    land, sea = _land_and_sea(region, reader.coast)
    reader.layers["earth"].add(land, {"kind": "earth"}, 0)
    for part in sea:
        reader.layers["water"].add(part, {"kind": "ocean"}, 0)
    layers: dict[str, tuple[npt.NDArray[Any], list[dict[str, Any]], npt.NDArray[np.int_]]] = {}
    for name, layer in reader.layers.items():
        geoms, props, minzoom = layer.geoms, layer.props, layer.minzoom
        if name == "roads":
            geoms, props, minzoom = _merge_lines(geoms, props, minzoom)
        projected = shapely.transform(np.array(geoms, dtype=object), _lonlat_to_mercator)
        layers[name] = (projected, props, np.array(minzoom, dtype=int))
    counts = {name: len(layer.geoms) for name, layer in reader.layers.items()}
    return BasemapData(layers, (west, south, east, north), counts, reader.skipped)


def _merge_lines(geoms: list[BaseGeometry], props: list[dict[str, Any]],
                 minzoom: list[int]) -> tuple[list[BaseGeometry], list[dict[str, Any]], list[int]]:
    """Join touching ways of one street (same kind, class and names) into one line.

    OSM splits a street wherever a tag changes; joined, a tile has fewer features and the map
    finds room for the street's name along one long line instead of many short ones.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(props):
        groups[json.dumps(p, sort_keys=True)].append(i)
    out_g: list[BaseGeometry] = []
    out_p: list[dict[str, Any]] = []
    out_z: list[int] = []
    for members in groups.values():
        merged = shapely.line_merge(shapely.MultiLineString([geoms[i] for i in members]))
        for part in shapely.get_parts(merged):
            out_g.append(part)
            out_p.append(props[members[0]])
            out_z.append(minzoom[members[0]])
    return out_g, out_p, out_z


def _land_and_sea(region: BaseGeometry,
                  coast: list[BaseGeometry]) -> tuple[BaseGeometry, list[BaseGeometry]]:
    """Split the region's box into land and sea along the coastlines.

    The box's outline and the coastlines are noded and polygonized into faces; a face is sea
    when more probe points just right of a coastline segment (the water side in OSM) fall in
    it than probes on the left. Coastlines that end inside the box leave dangling pieces that
    polygonize ignores; with no usable coastline the whole box is land.
    """
    if not coast:
        return region, []
    lines = shapely.intersection(shapely.line_merge(shapely.MultiLineString(
        [c for g in coast for c in shapely.get_parts(g)])), region)
    noded = shapely.union_all([region.boundary, lines])
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    if len(faces) < 2:
        return region, []
    votes = np.zeros(len(faces))
    tree = shapely.STRtree(faces)
    eps = 1e-6
    for line in shapely.get_parts(lines):
        coords = shapely.get_coordinates(line)
        for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:], strict=True):
            length = math.hypot(x1 - x0, y1 - y0)
            if length < 10 * eps:
                continue
            mx, my, nx, ny = (x0 + x1) / 2, (y0 + y1) / 2, (y1 - y0) / length, (x0 - x1) / length
            for sign in (1.0, -1.0):  # right of the direction of travel is sea
                probe = shapely.Point(mx + sign * nx * eps, my + sign * ny * eps)
                for i in tree.query(probe, predicate="intersects"):
                    votes[int(i)] += sign
    sea = [f for f, v in zip(faces, votes, strict=True) if v > 0]
    land = [f for f, v in zip(faces, votes, strict=True) if v <= 0]
    return (shapely.union_all(land) if land else shapely.Polygon()), sea


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    """(x, y) of every tile at zoom ``z`` that the Mercator ``bounds`` touch."""
    n = 2 ** z
    size = WORLD / n
    minx, miny, maxx, maxy = bounds
    x0 = max(0, int((minx + WORLD / 2) // size))
    x1 = min(n - 1, int((maxx + WORLD / 2) // size))
    y0 = max(0, int((WORLD / 2 - maxy) // size))
    y1 = min(n - 1, int((WORLD / 2 - miny) // size))
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def _zoom_layer(geoms: npt.NDArray[Any], minzoom: npt.NDArray[np.int_], z: int,
                max_zoom: int, polygons_keep_all: bool) -> npt.NDArray[np.int_]:
    """Indices of the features drawn at zoom ``z``: started by then, and polygons of at least
    two pixels (smaller ones would only be noise and bytes)."""
    keep = minzoom <= z
    if not polygons_keep_all and z < max_zoom:
        pixel = WORLD / 2 ** z / 256
        areas = shapely.area(geoms)
        is_poly = np.isin(shapely.get_type_id(geoms), (3, 6))
        keep &= ~is_poly | (areas >= 2 * pixel * pixel)
    return np.flatnonzero(keep)


def _encode_tiles(data: BasemapData, z: int, max_zoom: int,
                  region: tuple[float, float, float, float]) -> Iterator[tuple[int, bytes]]:
    """Every non-empty tile of zoom ``z``: (PMTiles tile id, gzipped MVT bytes)."""
    size = WORLD / 2 ** z
    unit = size / EXTENT
    prepared: dict[str, tuple[npt.NDArray[Any], list[dict[str, Any]], shapely.STRtree]] = {}
    for name, (geoms, props, minzoom) in data.layers.items():
        idx = _zoom_layer(geoms, minzoom, z, max_zoom, name == "earth")
        if not len(idx):
            continue
        # A quarter pixel (4 units) below the last zoom cannot be seen; the last zoom is
        # overzoomed 16x (to z19), so there only half a unit, what the rounding loses anyway.
        simplified = shapely.simplify(geoms[idx], unit * (0.5 if z == max_zoom else 4.0),
                                      preserve_topology=True)
        prepared[name] = (simplified, [props[i] for i in idx], shapely.STRtree(simplified))
    for x, y in _tile_range(region, z):
        minx = -WORLD / 2 + x * size
        maxy = WORLD / 2 - y * size
        pad = BUFFER * unit
        box = (minx - pad, maxy - size - pad, minx + size + pad, maxy + pad)
        layers = []
        for name, (geoms, props, tree) in prepared.items():
            hits = tree.query(shapely.box(*box))
            if not len(hits):
                continue
            clipped = shapely.clip_by_rect(geoms[hits], *box)
            local = shapely.transform(clipped, _to_tile(minx, maxy, unit))
            # What the encoder would do per feature, for the whole tile at once: whole tile
            # units (valid output), exterior rings positive in y-down tile space (MVT 2.1).
            local = shapely.orient_polygons(shapely.set_precision(local, 1.0),
                                            exterior_cw=False)
            features = [{"geometry": g, "properties": props[int(i)]}
                        for g, i in zip(local, hits, strict=True) if not g.is_empty]
            if features:
                layers.append({"name": name, "features": features})
        if layers:
            mvt = mapbox_vector_tile.encode(layers, default_options={
                "extents": EXTENT, "y_coord_down": True, "check_winding_order": False,
                "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid})
            yield zxy_to_tileid(z, x, y), gzip.compress(mvt, compresslevel=9, mtime=0)


def _to_tile(minx: float, maxy: float,
             unit: float) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]:
    def f(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack([(coords[:, 0] - minx) / unit, (maxy - coords[:, 1]) / unit])
    return f


def _metadata(data: BasemapData, name: str, max_zoom: int) -> dict[str, Any]:
    names = {"name": "String", **{f"name:{lang}": "String" for lang in LANGS}}
    fields = {
        "earth": {"kind": "String"}, "water": {"kind": "String", **names},
        "landuse": {"kind": "String", **names},
        "roads": {"kind": "String", "kind_detail": "String", **names, "ref": "String"},
        "buildings": {"kind": "String"},
        "places": {"kind": "String", "kind_detail": "String", **names,
                   "min_zoom": "Number", "population_rank": "Number"},
    }
    return {
        "name": name, "attribution": ATTRIBUTION, "type": "baselayer", "format": "pbf",
        "description": "GeoCRM region basemap (Protomaps schema), built from an OSM extract",
        "generator": "geocrm places.basemap",
        "vector_layers": [{"id": layer, "fields": fields[layer], "minzoom": 0,
                           "maxzoom": max_zoom} for layer in LAYERS],
        "bounds": list(data.bbox),
    }


def build_basemap(path: str | Path, target: str | Path, *, name: str | None = None,
                  max_zoom: int = 15, min_zoom: int = 0) -> dict[str, Any]:
    """Build the basemap of the extract at ``path`` into the PMTiles archive ``target``.

    Replaces ``target`` atomically. Returns what was built: zooms, tile count, bytes, features
    per layer, broken areas skipped, seconds. Raises :class:`RegionError` naming the file.
    """
    started = time.perf_counter()
    data = read_basemap(path)
    west, south, east, north = data.bbox
    corners = _lonlat_to_mercator(np.array([[west, south], [east, north]], dtype=float))
    region = (float(corners[0, 0]), float(corners[0, 1]), float(corners[1, 0]),
              float(corners[1, 1]))
    tiles = sorted(t for z in range(min_zoom, max_zoom + 1)
                   for t in _encode_tiles(data, z, max_zoom, region))
    if not tiles:
        raise RegionError(f"{Path(path).name}: nothing to draw at zooms {min_zoom}-{max_zoom}")
    title = name or Path(path).name.split(".")[0]
    header: dict[str, Any] = {
        "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
        "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
        "center_zoom": max(min_zoom, max_zoom - 2),
        "center_lon_e7": int((west + east) / 2 * 1e7),
        "center_lat_e7": int((south + north) / 2 * 1e7),
    }
    _write_atomic(Path(target), tiles, header, _metadata(data, title, max_zoom))
    zooms = [tileid_to_zxy(tiles[0][0])[0], tileid_to_zxy(tiles[-1][0])[0]]
    return {"name": title, "file": Path(path).name, "tiles": len(tiles),
            "bytes": Path(target).stat().st_size, "min_zoom": zooms[0], "max_zoom": zooms[1],
            "bbox": [west, south, east, north], "features": data.counts,
            "skipped_areas": data.skipped, "seconds": round(time.perf_counter() - started, 2)}


def _write_atomic(target: Path, tiles: Iterable[tuple[int, bytes]], header: dict[str, Any],
                  metadata: dict[str, Any]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer = Writer(f)  # type: ignore[no-untyped-call]
            for tile_id, blob in tiles:
                writer.write_tile(tile_id, blob)  # type: ignore[no-untyped-call]
            writer.finalize(header, metadata)  # type: ignore[no-untyped-call]
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tile_index(get_bytes: Callable[[int, int], bytes],
                header: dict[str, Any]) -> dict[int, tuple[int, int]]:
    """tile id -> (offset, length) of every tile in an archive, directories read once."""
    index: dict[int, tuple[int, int]] = {}
    stack = [(int(header["root_offset"]), int(header["root_length"]))]
    while stack:
        offset, length = stack.pop()
        for entry in deserialize_directory(get_bytes(offset, length)):
            if entry.run_length == 0:
                stack.append((int(header["leaf_directory_offset"]) + entry.offset, entry.length))
            for i in range(entry.run_length):
                index[entry.tile_id + i] = (int(header["tile_data_offset"]) + entry.offset,
                                            entry.length)
    return index


def _ids_in(boxes: Iterable[tuple[float, float, float, float]], z: int) -> set[int]:
    ids: set[int] = set()
    for west, south, east, north in boxes:
        corners = _lonlat_to_mercator(np.array([[west, south], [east, north]], dtype=float))
        bounds = (float(corners[0, 0]), float(corners[0, 1]), float(corners[1, 0]),
                  float(corners[1, 1]))
        ids.update(zxy_to_tileid(z, x, y) for x, y in _tile_range(bounds, z))
    return ids


def offline_subset(source: str | Path, target: str | Path,
                   boxes: Iterable[tuple[float, float, float, float]], budget_bytes: int,
                   *, pad_deg: float = 0.01) -> dict[str, Any]:
    """Copy into ``target`` the tiles of ``source`` a phone keeps offline, within ``budget_bytes``.

    First every zoom of the tiles over ``boxes`` (the rep's territories, padded by ``pad_deg``),
    zoom by zoom while the budget holds; then, with what is left, whole zoom levels of the rest
    of the archive from z0 up. A zoom that does not fit whole is left out, so the map
    overzooms the last level it has instead of showing holes. Returns what was kept and what
    was left out (``territory_max_zoom``, ``region_max_zoom``, tiles, bytes).
    """
    boxes = [(w - pad_deg, s - pad_deg, e + pad_deg, n + pad_deg) for w, s, e, n in boxes]
    with open(source, "rb") as f:
        get_bytes = MmapSource(f)  # type: ignore[no-untyped-call]
        reader = Reader(get_bytes)  # type: ignore[no-untyped-call]
        header: dict[str, Any] = dict(reader.header())  # type: ignore[no-untyped-call]
        metadata = reader.metadata()  # type: ignore[no-untyped-call]
        index = _tile_index(get_bytes, header)
        zooms = range(int(header["min_zoom"]), int(header["max_zoom"]) + 1)
        region = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7,
                  header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7)
        chosen: set[int] = set()
        used = 0
        levels = {"territory_max_zoom": -1, "region_max_zoom": -1}
        for key, area in (("territory_max_zoom", boxes), ("region_max_zoom", [region])):
            for z in zooms:
                wanted = [t for t in _ids_in(area, z) if t in index and t not in chosen]
                size = sum(index[t][1] for t in wanted)
                if used + size > budget_bytes:
                    break
                chosen.update(wanted)
                used += size
                levels[key] = z
            if key == "region_max_zoom":
                levels[key] = min(levels[key], levels["territory_max_zoom"])
        tiles = [(t, bytes(get_bytes(*index[t]))) for t in sorted(chosen)]
    if not tiles:
        raise RegionError(f"{Path(source).name}: no tiles fit in {budget_bytes} bytes")
    metadata["geocrm_offline"] = {**levels, "budget_bytes": budget_bytes, "tiles": len(tiles)}
    keep = ("tile_type", "tile_compression", "min_lon_e7", "min_lat_e7", "max_lon_e7",
            "max_lat_e7", "center_zoom", "center_lon_e7", "center_lat_e7")
    _write_atomic(Path(target), tiles, {k: header[k] for k in keep}, metadata)
    return {**levels, "tiles": len(tiles), "bytes": Path(target).stat().st_size,
            "source_tiles": len(index)}
