"""The region's address index: read once from the OpenStreetMap extract, kept as one file.

:func:`read_addresses` streams an ``.osm.pbf`` / ``.osm`` (also ``.osm.gz``) with pyosmium once
and keeps what a geocoder needs, raw (the geocoder folds it when it loads, so a better folding
rule needs no new load):

* **addresses**: nodes, buildings (ways and multipolygons, at their centroid) and entrances with
  ``addr:housenumber`` (or Japan's ``addr:block_number``), with their ``addr:*`` fields;
* **streets**: named ``highway`` ways and named squares, grouped per name into streets that hang
  together (two "Koulukatu" in two towns are two streets), with their lines for interpolation and
  reverse geocoding, and every name they carry (``name``, ``name:fi``, ``name:sv``, ``name:ko``,
  ``alt_name``, ``old_name`` ...);
* **interpolations**: ``addr:interpolation`` ways cut at their numbered nodes;
* **places**: city, town, village, hamlet, suburb, quarter, neighbourhood, borough and the like,
  with all their names.

:func:`save_addresses` writes one ``.npz`` (numbers as arrays, the rest as one JSON document)
to a temporary file and moves it over the old one, like the road graph: a reader sees the old
region or the new one. :func:`load_addresses` reads it back.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from places.roads import RegionError, _atomic

FORMAT = 1
KEEP = {"street", "housenumber", "postcode", "city", "suburb", "district", "subdistrict",
        "place", "quarter", "neighbourhood", "block_number", "province", "state", "hamlet",
        "county", "country"}
NAME_KEYS = ("name", "alt_name", "official_name", "old_name", "short_name", "loc_name")
PLACE_KINDS = {
    "state", "province", "region", "county", "municipality", "city", "borough", "city_district",
    "district", "town", "village", "hamlet", "isolated_dwelling", "suburb", "quarter",
    "neighbourhood",
}
NOT_STREETS = {"platform", "bus_stop", "construction", "proposed", "elevator", "corridor",
               "abandoned", "razed", "services", "rest_area"}
ADDRESS_KINDS = ("point", "building", "entrance")
CLUSTER_M = 250.0  # ways of one name closer than this are one street


@dataclass
class AddressIndex:
    """Everything the region geocoder needs, as read from the extract (see the module doc)."""

    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    kind: npt.NDArray[np.uint8]  # index into ADDRESS_KINDS
    fields: list[dict[str, str]]  # addr:* without the prefix
    street_names: list[dict[str, str]]  # per street: its name tags
    street_ways: npt.NDArray[np.int64]  # street i's ways are way_start[street_ways[i]:...[i+1]]
    way_start: npt.NDArray[np.int64]  # way j's vertices are vlon[way_start[j]:way_start[j+1]]
    vlon: npt.NDArray[np.float64]
    vlat: npt.NDArray[np.float64]
    interpolations: list[dict[str, Any]]  # street, from, to, type, start, end (into ilon/ilat)
    ilon: npt.NDArray[np.float64]
    ilat: npt.NDArray[np.float64]
    places: list[dict[str, Any]]  # names, kind, lon, lat
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.lon)
        if not (len(self.lat) == len(self.kind) == len(self.fields) == n):
            raise RegionError("address index: entry arrays differ in length")
        if len(self.street_ways) != len(self.street_names) + 1:
            raise RegionError("address index: street offsets do not match the streets")

    @property
    def addresses(self) -> int:
        return len(self.lon)

    @property
    def streets(self) -> int:
        return len(self.street_names)

    def street_lines(self, street: int) -> list[tuple[npt.NDArray[np.float64],
                                                      npt.NDArray[np.float64]]]:
        """(lon, lat) arrays of each way of one street."""
        out = []
        for w in range(int(self.street_ways[street]), int(self.street_ways[street + 1])):
            a, b = int(self.way_start[w]), int(self.way_start[w + 1])
            out.append((self.vlon[a:b], self.vlat[a:b]))
        return out


def _names(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items()
            if v and (k in NAME_KEYS or (k.startswith("name:") and ":" not in k[5:])
                      or k.startswith(("alt_name:", "old_name:", "official_name:")))}


def _addr(tags: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in tags.items():
        if k.startswith("addr:") and v:
            key = k[5:]
            if key in KEEP or key.startswith(("street:", "city:", "place:", "quarter:",
                                              "suburb:", "neighbourhood:")):
                out[key] = v.strip()
    return out


def _centroid(lon: list[float], lat: list[float]) -> tuple[float, float]:
    """Area centroid of a ring (shoelace), or the mean of the points of a line or a sliver."""
    x, y = np.asarray(lon), np.asarray(lat)
    if len(x) >= 4 and x[0] == x[-1] and y[0] == y[-1]:
        x0, y0 = float(x.mean()), float(y.mean())
        dx, dy = x - x0, y - y0
        cross = dx[:-1] * dy[1:] - dx[1:] * dy[:-1]
        area = float(cross.sum()) / 2
        if abs(area) > 1e-14:
            cx = float(((dx[:-1] + dx[1:]) * cross).sum()) / (6 * area)
            cy = float(((dy[:-1] + dy[1:]) * cross).sum()) / (6 * area)
            return x0 + cx, y0 + cy
    return float(x.mean()), float(y.mean())


class _Reader:
    """State of the one pass over the extract."""

    def __init__(self) -> None:
        self.lon: list[float] = []
        self.lat: list[float] = []
        self.kind: list[int] = []
        self.fields: list[dict[str, str]] = []
        self.node_entry: dict[int, int] = {}
        self.ways: list[tuple[dict[str, str], list[float], list[float]]] = []
        self.interp: list[tuple[dict[str, str], list[int], list[float], list[float]]] = []
        self.places: list[dict[str, Any]] = []
        self.newest: datetime | None = None

    def entry(self, tags: dict[str, str], lon: float, lat: float, kind: int) -> int:
        self.lon.append(lon)
        self.lat.append(lat)
        self.kind.append(kind)
        self.fields.append(_addr(tags))
        return len(self.lon) - 1

    def place(self, tags: dict[str, str], lon: float, lat: float) -> None:
        names = _names(tags)
        if names:
            self.places.append({"names": names, "kind": tags["place"],
                                "lon": round(lon, 7), "lat": round(lat, 7)})


def _is_address(tags: dict[str, str]) -> bool:
    return bool(tags.get("addr:housenumber") or tags.get("addr:block_number"))


def read_addresses(path: str | Path, *, name: str | None = None) -> AddressIndex:
    """The address index of an extract (one pass with pyosmium; see the module doc).

    Raises :class:`RegionError` naming the file when it cannot be read. An extract without a
    single address still gives an index (streets and places answer at their grades).
    """
    import osmium

    source = Path(path)
    if not source.is_file():
        raise RegionError(f"{source}: no such file")
    r = _Reader()
    try:
        processor = (osmium.FileProcessor(str(source))
                     .with_locations()
                     .with_areas(osmium.filter.KeyFilter("addr:housenumber", "addr:block_number",
                                                         "place"))
                     .with_filter(osmium.filter.KeyFilter(
                         "addr:housenumber", "addr:block_number", "addr:interpolation",
                         "highway", "place")))
        for obj in processor:
            if isinstance(obj, osmium.osm.Changeset):
                continue
            stamp = obj.timestamp
            if stamp is not None and stamp.year > 1970 and (r.newest is None or stamp > r.newest):
                r.newest = stamp
            tags = {t.k: t.v for t in obj.tags}
            if isinstance(obj, osmium.osm.Node):
                _node(r, obj, tags)
            elif isinstance(obj, osmium.osm.Way):
                _way(r, obj, tags)
            elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                _area(r, obj, tags)
    except RuntimeError as exc:
        raise RegionError(f"{source}: not a readable OSM file ({exc})") from exc
    return _finish(r, source, name)


def _node(r: _Reader, node: Any, tags: dict[str, str]) -> None:
    if not node.location.valid():
        return
    lon, lat = node.location.lon, node.location.lat
    if _is_address(tags):
        kind = 2 if "entrance" in tags else 0
        r.node_entry[node.id] = r.entry(tags, lon, lat, kind)
    if tags.get("place") in PLACE_KINDS:
        r.place(tags, lon, lat)


def _way(r: _Reader, way: Any, tags: dict[str, str]) -> None:
    refs: list[int] = []
    lon: list[float] = []
    lat: list[float] = []
    for n in way.nodes:
        if n.location.valid():
            refs.append(n.ref)
            lon.append(n.location.lon)
            lat.append(n.location.lat)
    if not lon:
        return
    if "addr:interpolation" in tags and len(lon) >= 2:
        r.interp.append((tags, refs, lon, lat))
        return
    if _is_address(tags):
        x, y = _centroid(lon, lat)
        r.entry(tags, x, y, 1)
    highway = tags.get("highway")
    named = _names(tags)
    if named and ((highway and highway not in NOT_STREETS) or tags.get("place") == "square"):
        r.ways.append((named, lon, lat))
    elif tags.get("place") in PLACE_KINDS and way.is_closed():
        x, y = _centroid(lon, lat)
        r.place(tags, x, y)


def _area(r: _Reader, area: Any, tags: dict[str, str]) -> None:
    best: tuple[list[float], list[float]] | None = None
    for ring in area.outer_rings():
        lon = [n.location.lon for n in ring if n.location.valid()]
        lat = [n.location.lat for n in ring if n.location.valid()]
        if lon and (best is None or len(lon) > len(best[0])):
            best = (lon, lat)
    if best is None:
        return
    x, y = _centroid(*best)
    if _is_address(tags):
        r.entry(tags, x, y, 1)
    if tags.get("place") in PLACE_KINDS:
        r.place(tags, x, y)


def union_root(parent: list[int], a: int) -> int:
    """Union-find: the root of ``a``, halving the path on the way."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def _cluster_ways(ways: list[tuple[dict[str, str], list[float], list[float]]]
                  ) -> list[list[int]]:
    """Ways grouped into streets: same folded name, bounding boxes within CLUSTER_M."""
    from places.geocode.text import fold

    by_name: dict[str, list[int]] = {}
    for i, (names, _, _) in enumerate(ways):
        primary = names.get("name") or next(iter(names.values()))
        by_name.setdefault(fold(primary), []).append(i)
    groups: list[list[int]] = []
    for members in by_name.values():
        boxes = []
        for i in members:
            lon, lat = ways[i][1], ways[i][2]
            pad_lat = CLUSTER_M / 111_000.0
            pad_lon = pad_lat / max(0.05, float(np.cos(np.radians(lat[0]))))
            boxes.append((min(lon) - pad_lon, min(lat) - pad_lat,
                          max(lon) + pad_lon, max(lat) + pad_lat))
        parent = list(range(len(members)))
        order = sorted(range(len(members)), key=lambda k: boxes[k][0])
        for pos, a in enumerate(order):  # sweep along longitude
            for b in order[pos + 1:]:
                if boxes[b][0] > boxes[a][2]:
                    break
                if boxes[b][1] <= boxes[a][3] and boxes[a][1] <= boxes[b][3]:
                    parent[union_root(parent, a)] = union_root(parent, b)
        split: dict[int, list[int]] = {}
        for k, i in enumerate(members):
            split.setdefault(union_root(parent, k), []).append(i)
        groups.extend(split.values())
    return groups


def _finish(r: _Reader, source: Path, name: str | None) -> AddressIndex:
    groups = _cluster_ways(r.ways)
    street_names: list[dict[str, str]] = []
    street_ways = [0]
    way_start = [0]
    vlon: list[float] = []
    vlat: list[float] = []
    for group in groups:
        merged: dict[str, str] = {}
        for i in group:
            for k, v in r.ways[i][0].items():
                merged.setdefault(k, v)
        street_names.append(merged)
        for i in group:
            vlon.extend(r.ways[i][1])
            vlat.extend(r.ways[i][2])
            way_start.append(len(vlon))
        street_ways.append(len(way_start) - 1)
    interpolations: list[dict[str, Any]] = []
    ilon: list[float] = []
    ilat: list[float] = []
    for tags, refs, lon, lat in r.interp:
        marks = [(k, r.node_entry[ref]) for k, ref in enumerate(refs) if ref in r.node_entry]
        for (k0, e0), (k1, e1) in zip(marks[:-1], marks[1:], strict=True):
            street = tags.get("addr:street") or r.fields[e0].get("street") \
                or r.fields[e1].get("street")
            if not street or k1 <= k0:
                continue
            start = len(ilon)
            ilon.extend(lon[k0:k1 + 1])
            ilat.extend(lat[k0:k1 + 1])
            interpolations.append({
                "street": street, "from": r.fields[e0].get("housenumber", ""),
                "to": r.fields[e1].get("housenumber", ""),
                "type": tags.get("addr:interpolation", "all"), "start": start, "end": len(ilon),
                "postcode": tags.get("addr:postcode") or r.fields[e0].get("postcode", ""),
                "city": tags.get("addr:city") or r.fields[e0].get("city", ""),
            })
    countries = Counter(f["country"].upper() for f in r.fields if f.get("country"))
    country, named = countries.most_common(1)[0] if countries else (None, 0)
    if named < 0.3 * len(r.fields):
        country = None  # a few tagged addresses do not make the region's country
    meta = {
        "format": FORMAT,
        "name": name or source.name.split(".")[0],
        "file": source.name,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "timestamp": r.newest.astimezone(UTC).isoformat() if r.newest else None,
        "addresses": len(r.lon),
        "streets": len(street_names),
        "interpolations": len(interpolations),
        "places": len(r.places),
        # the country most addresses name (addr:country): how the region's free text is read
        "country": country if country and len(country) == 2 and country.isalpha() else None,
    }
    return AddressIndex(
        np.asarray(r.lon, dtype=np.float64), np.asarray(r.lat, dtype=np.float64),
        np.asarray(r.kind, dtype=np.uint8), r.fields, street_names,
        np.asarray(street_ways, dtype=np.int64), np.asarray(way_start, dtype=np.int64),
        np.asarray(vlon, dtype=np.float64), np.asarray(vlat, dtype=np.float64),
        interpolations, np.asarray(ilon, dtype=np.float64), np.asarray(ilat, dtype=np.float64),
        r.places, meta)


def save_addresses(index: AddressIndex, path: str | Path) -> Path:
    """Write ``index`` to ``path`` (.npz) atomically (temporary file, then ``os.replace``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = json.dumps({"meta": index.meta, "fields": index.fields,
                      "street_names": index.street_names,
                      "interpolations": index.interpolations, "places": index.places},
                     ensure_ascii=False, separators=(",", ":"))
    _atomic(target, lambda f: np.savez_compressed(
        f, lon=index.lon, lat=index.lat, kind=index.kind, street_ways=index.street_ways,
        way_start=index.way_start, vlon=index.vlon, vlat=index.vlat, ilon=index.ilon,
        ilat=index.ilat, doc=np.frombuffer(doc.encode("utf-8"), dtype=np.uint8)))
    return target


def load_addresses(path: str | Path) -> AddressIndex:
    """Read an index written by :func:`save_addresses`."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            doc = json.loads(data["doc"].tobytes().decode("utf-8"))
            meta = doc["meta"]
            if meta.get("format") != FORMAT:
                raise RegionError(f"{path}: saved by another version (format "
                                  f"{meta.get('format')}); load the region again")
            return AddressIndex(
                data["lon"], data["lat"], data["kind"], doc["fields"], doc["street_names"],
                data["street_ways"], data["way_start"], data["vlon"], data["vlat"],
                doc["interpolations"], data["ilon"], data["ilat"], doc["places"], meta)
    except (OSError, KeyError, ValueError) as exc:
        if isinstance(exc, RegionError):
            raise
        raise RegionError(f"{path}: not an address index ({exc})") from exc
