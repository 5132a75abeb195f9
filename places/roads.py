"""The car road graph of a region, read once from an OpenStreetMap extract.

:func:`read_roads` streams an ``.osm.pbf`` (or ``.osm`` XML) with pyosmium and keeps the ways a
car may drive: the ``highway`` classes in :data:`HIGHWAY_KMH`, minus areas, ``access=no`` /
``private`` and ``motor_vehicle``/``motorcar=no``. Every way node becomes a graph node and
every pair of consecutive nodes a directed edge in each direction the way allows (``oneway``
yes/-1, roundabouts and motorways one-way unless tagged otherwise). An edge's time is its
length at the way's speed: ``maxspeed`` when it can be read (``50``, ``30 mph``, a country's
zone such as ``FI:urban``), else a typical speed for its class; turns cost nothing.

The graph is plain numpy arrays (:class:`RoadGraph`), saved as one ``.npz`` that carries its
own metadata and replaced atomically (:func:`save_graph`: temporary file, then
``os.replace``), so a reader never sees half a region.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

EARTH_M = 6_371_008.8
FORMAT = 1  # bump when the saved arrays change meaning

# Typical free-flow km/h by highway class when a way has no usable maxspeed.
HIGHWAY_KMH: dict[str, float] = {
    "motorway": 100.0, "trunk": 80.0, "primary": 60.0, "secondary": 50.0, "tertiary": 40.0,
    "unclassified": 30.0, "residential": 30.0, "living_street": 10.0, "service": 15.0,
    "road": 30.0,
    "motorway_link": 60.0, "trunk_link": 50.0, "primary_link": 40.0, "secondary_link": 35.0,
    "tertiary_link": 30.0,
}
# Zone values of ``maxspeed`` ("FI:urban"), km/h; a country's own table first, then the
# common one. Sources: OSM wiki "Default speed limits" (2026).
ZONE_KMH: dict[str, float] = {
    "urban": 50.0, "rural": 80.0, "motorway": 120.0, "trunk": 100.0, "living_street": 20.0,
    "walk": 7.0, "school": 30.0, "zone30": 30.0, "zone20": 20.0, "bicycle_road": 30.0,
}
COUNTRY_ZONE_KMH: dict[str, dict[str, float]] = {
    "FI": {"urban": 50.0, "rural": 80.0, "motorway": 120.0, "living_street": 20.0},
    "SE": {"urban": 50.0, "rural": 70.0, "motorway": 110.0},
    "NO": {"urban": 50.0, "rural": 80.0, "motorway": 110.0},
    "DK": {"urban": 50.0, "rural": 80.0, "motorway": 130.0},
    "DE": {"urban": 50.0, "rural": 100.0, "motorway": 130.0, "living_street": 7.0},
    "AT": {"urban": 50.0, "rural": 100.0, "motorway": 130.0},
    "CH": {"urban": 50.0, "rural": 80.0, "motorway": 120.0},
    "FR": {"urban": 50.0, "rural": 80.0, "motorway": 130.0},
    "IT": {"urban": 50.0, "rural": 90.0, "motorway": 130.0},
    "ES": {"urban": 50.0, "rural": 90.0, "motorway": 120.0},
    "NL": {"urban": 50.0, "rural": 80.0, "motorway": 100.0},
    "PL": {"urban": 50.0, "rural": 90.0, "motorway": 140.0},
    "GB": {"nsl_single": 96.56, "nsl_dual": 112.65, "motorway": 112.65},
    "US": {"urban": 40.23, "rural": 88.51},
    "KR": {"urban": 50.0, "rural": 80.0, "motorway": 100.0},
    "JP": {"nsl": 60.0, "urban": 60.0, "rural": 60.0, "motorway": 100.0, "express": 100.0},
}
MPH = 1.609344
KNOTS = 1.852
CAR_BLOCKED = {"no", "private", "agricultural", "forestry", "delivery_no", "emergency"}
CAR_ALLOWED = {"yes", "designated", "permissive", "destination", "customers"}


class RegionError(ValueError):
    """The extract cannot give a usable road graph; the message names the file and why."""


def maxspeed_kmh(value: str | None) -> float | None:
    """km/h from an OSM ``maxspeed`` value, or None when it is not a usable limit.

    Reads ``50``, ``50 km/h``, ``30 mph``, ``10 knots``, the first of ``50;30``, zone values
    (``FI:urban``, ``DE:zone30``, ``DE:zone:30``, ``GB:nsl_single``) and ``walk``;
    ``none``, ``signals``, ``variable`` and garbage give None (the class speed applies).
    """
    if not value:
        return None
    first = str(value).split(";")[0].strip().lower()
    m = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*(mph|km/h|kmh|kph|knots)?", first)
    if m:
        number = float(m.group(1).replace(",", "."))
        unit = {"mph": MPH, "knots": KNOTS}.get(m.group(2) or "", 1.0)
        return number * unit if number > 0 else None
    if first == "walk":
        return ZONE_KMH["walk"]
    country, _, zone = first.rpartition(":")
    zone_m = re.fullmatch(r"(?:zone:?)?(\d+)", zone)
    if zone_m and country:  # DE:zone30, DE:zone:30
        return float(zone_m.group(1))
    if country.endswith(":zone"):
        country = country[: -len(":zone")]
    table = COUNTRY_ZONE_KMH.get(country.upper(), {})
    return table.get(zone, ZONE_KMH.get(zone))


def road_speed_kmh(highway: str, maxspeed: str | None) -> float:
    """The way's speed: its readable ``maxspeed``, else its class's typical speed."""
    return maxspeed_kmh(maxspeed) or HIGHWAY_KMH.get(highway, 30.0)


def directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """(forward, backward) a car may drive along a way, from its tags.

    ``oneway=yes/true/1`` forward, ``-1/reverse`` backward, ``no`` both; without one,
    roundabouts and motorways (and their links) are one-way forward. ``reversible`` ways
    change direction by the clock: neither (a plan cannot count on them).
    """
    value = (tags.get("oneway") or "").strip().lower()
    if value in ("yes", "true", "1"):
        return True, False
    if value in ("-1", "reverse"):
        return False, True
    if value == "reversible":
        return False, False
    if value in ("no", "false", "0", "alternating"):
        return True, True
    if tags.get("junction") in ("roundabout", "circular"):
        return True, False
    if tags.get("highway") in ("motorway", "motorway_link"):
        return True, False
    return True, True


def drivable(tags: Mapping[str, str]) -> bool:
    """Whether a car may use a way at all (class, area, access tags)."""
    if tags.get("highway") not in HIGHWAY_KMH or tags.get("area") == "yes":
        return False
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        value = (tags.get(key) or "").strip().lower()
        if value in CAR_ALLOWED:
            return True
        if value in CAR_BLOCKED:
            return False
    return True


@dataclass
class RoadGraph:
    """A directed car graph: node positions and, per edge, its ends, metres and seconds.

    ``meta`` says where it came from (the extract's name, bbox, timestamp, counts); it is saved
    with the arrays so the two can never disagree.
    """

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    tail: npt.NDArray[np.int32]
    head: npt.NDArray[np.int32]
    length_m: npt.NDArray[np.float64]
    time_s: npt.NDArray[np.float64]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.lat), len(self.tail)
        if len(self.lon) != n:
            raise RegionError("lat and lon differ in length")
        for name in ("head", "length_m", "time_s"):
            if len(getattr(self, name)) != m:
                raise RegionError(f"{name} has {len(getattr(self, name))} rows, tail has {m}")
        if m and (min(int(self.tail.min()), int(self.head.min())) < 0
                  or max(int(self.tail.max()), int(self.head.max())) >= n):
            raise RegionError("an edge names a node that does not exist")
        if m and ((self.time_s <= 0).any() or (self.length_m < 0).any()):
            raise RegionError("edge times must be positive and lengths not negative")

    @property
    def nodes(self) -> int:
        return len(self.lat)

    @property
    def edges(self) -> int:
        return len(self.tail)


def haversine_m(lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike,
                lon2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Great-circle metres, element-wise (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))), dtype=np.float64)


def read_roads(path: str | Path, *, name: str | None = None) -> RoadGraph:
    """The car road graph of an ``.osm.pbf`` / ``.osm`` extract (one pass with pyosmium).

    Raises :class:`RegionError` naming the file when it cannot be read or has no drivable road.
    """
    import osmium

    source = Path(path)
    if not source.is_file():
        raise RegionError(f"{source}: no such file")
    index: dict[int, int] = {}
    lat: list[float] = []
    lon: list[float] = []
    tail: list[int] = []
    head: list[int] = []
    speed: list[float] = []
    ways = 0
    newest: datetime | None = None
    try:
        processor = (osmium.FileProcessor(str(source))
                     .with_locations()
                     .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                     .with_filter(osmium.filter.KeyFilter("highway")))
        for way in processor:
            if not isinstance(way, osmium.osm.Way):
                continue
            tags = {t.k: t.v for t in way.tags}
            if not drivable(tags):
                continue
            forward, backward = directions(tags)
            if not (forward or backward):
                continue
            ids: list[int] = []
            for ref in way.nodes:
                if not ref.location.valid():
                    continue  # a node outside the extract's cut
                k = index.get(ref.ref)
                if k is None:
                    k = index[ref.ref] = len(lat)
                    lat.append(ref.location.lat)
                    lon.append(ref.location.lon)
                ids.append(k)
            if len(ids) < 2:
                continue
            ways += 1
            stamp = way.timestamp
            if stamp is not None and stamp.year > 1970 and (newest is None or stamp > newest):
                newest = stamp
            kmh = road_speed_kmh(tags["highway"], tags.get("maxspeed"))
            for a, b in zip(ids[:-1], ids[1:], strict=True):
                if a == b:
                    continue
                for u, v, ok in ((a, b, forward), (b, a, backward)):
                    if ok:
                        tail.append(u)
                        head.append(v)
                        speed.append(kmh)
        header = osmium.io.Reader(str(source), osmium.osm.osm_entity_bits.NOTHING)
        box = header.header().box()
        replication = header.header().get("osmosis_replication_timestamp")
        header.close()
    except RuntimeError as exc:  # libosmium's parse and I/O errors
        raise RegionError(f"{source}: not a readable OSM file ({exc})") from exc
    if not tail:
        raise RegionError(f"{source}: no drivable roads in the extract")
    la, lo = np.asarray(lat), np.asarray(lon)
    t, h = np.asarray(tail, dtype=np.int32), np.asarray(head, dtype=np.int32)
    metres = haversine_m(la[t], lo[t], la[h], lo[h])
    seconds = np.maximum(metres / (np.asarray(speed) / 3.6), 0.01)
    if box.valid():
        bbox = [box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat]
    else:
        bbox = [float(lo.min()), float(la.min()), float(lo.max()), float(la.max())]
    meta = {
        "format": FORMAT,
        "name": name or source.name.split(".")[0],
        "file": source.name,
        "file_bytes": source.stat().st_size,
        "bbox": [round(float(x), 7) for x in bbox],
        "timestamp": replication or (newest.astimezone(UTC).isoformat() if newest else None),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ways": ways,
        "nodes": len(lat),
        "edges": len(tail),
        "road_km": round(float(metres.sum()) / 1000, 1),
    }
    return RoadGraph(la, lo, t, h, metres, seconds, meta)


def save_graph(graph: RoadGraph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` (.npz) atomically; a ``.json`` beside it says what it is.

    The arrays and the metadata travel in the one ``.npz``, written to a temporary file in the
    same folder and moved over the old one with ``os.replace``: readers see the old region or
    the new one, never a mix. The ``.json`` is a readable copy of the metadata.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(graph.meta, sort_keys=True)
    _atomic(target, lambda f: np.savez(
        f, lat=graph.lat, lon=graph.lon, tail=graph.tail, head=graph.head,
        length_m=graph.length_m.astype(np.float32), time_s=graph.time_s.astype(np.float32),
        meta=np.array(meta)))
    _atomic(target.with_suffix(".json"), lambda f: f.write(meta.encode() + b"\n"))
    return target


def load_graph(path: str | Path) -> RoadGraph:
    """Read a graph written by :func:`save_graph`."""
    with np.load(Path(path), allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != FORMAT:
            raise RegionError(f"{path}: saved by another version (format {meta.get('format')}); "
                              "load the region again")
        return RoadGraph(
            data["lat"].astype(np.float64), data["lon"].astype(np.float64),
            data["tail"].astype(np.int32), data["head"].astype(np.int32),
            data["length_m"].astype(np.float64), data["time_s"].astype(np.float64), meta)


def _atomic(target: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
