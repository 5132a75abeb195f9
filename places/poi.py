"""The region's places: named businesses and organisations, read once from the extract.

Prospecting looks for the next customers among what OpenStreetMap maps: shops, cafés, offices,
workshops, hotels, clinics. :func:`read_pois` streams an ``.osm.pbf`` / ``.osm`` with pyosmium
once and keeps, for every *named* object carrying one of :data:`KEYS` (a bench or a parking
lot is not a business, see :data:`NOT_BUSINESSES`):

* its OSM type and id (``node/123``, ``way/456``, ``relation/789``): the external id a prospect
  keeps, so adding a place twice doubles nothing and a newer extract can tell what closed;
* its category as ``key=value`` (the first of :data:`KEYS` it has, e.g. ``amenity=cafe``);
* ``name`` and ``name:ko`` / ``name:ja`` / ``name:en`` (and the reading ``name:ja-Hira``/
  ``name:ja_kana``) where present, ``addr:*``, ``opening_hours``, ``phone``, ``website``, ``email``;
* its position: a node's, or the centroid of a way's or a multipolygon's outer ring.

The same business mapped twice (a node inside its building, both named) is kept once, the
node; the other reference stays as an alias of it (:meth:`PoiIndex.find`), so an account
made from either is still found. :func:`save_pois` writes one ``.npz`` (numbers as arrays,
the rest as one JSON document) to a temporary file and moves it over the old one, like the
road graph and the address index: a reader sees the old region or the new one.
:func:`load_pois` reads it back.

The search (:func:`rank`) is numpy over the arrays: a category weight per place, an area or
radius mask, the distance to the nearest anchor (the customers) with a KD-tree in a local
metric frame. It knows nothing of accounts: the application says which categories weigh what,
where the customers are and which places it already has.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from places.geocode.index import _centroid
from places.roads import RegionError, _atomic

FORMAT = 1
#: The keys that make a named object a business or an organisation, in order of precedence.
KEYS = ("shop", "amenity", "office", "craft", "tourism", "healthcare", "leisure")
#: Values of those keys that are furniture or infrastructure, not somebody to sell to.
NOT_BUSINESSES: dict[str, frozenset[str]] = {
    "amenity": frozenset({
        "bench", "parking", "parking_space", "parking_entrance", "bicycle_parking",
        "motorcycle_parking", "waste_basket", "waste_disposal", "recycling", "toilets",
        "drinking_water", "shelter", "post_box", "telephone", "vending_machine", "atm",
        "charging_station", "fountain", "clock", "bicycle_rental", "grit_bin", "bbq",
        "hunting_stand", "loading_dock", "taxi", "bus_station", "ferry_terminal",
        "bicycle_repair_station", "letter_box", "water_point", "watering_place",
        "smoking_area", "lounger", "compressed_air",
        "car_sharing", "boat_sharing", "kick-scooter_rental", "parcel_locker", "dog_toilet",
    }),
    "tourism": frozenset({"attraction", "artwork", "viewpoint", "information", "picnic_site",
                          "camp_pitch", "yes"}),
    "leisure": frozenset({"park", "playground", "pitch", "garden", "common", "nature_reserve",
                          "track", "slipway", "picnic_table", "firepit", "dog_park", "marina",
                          "bleachers", "swimming_area", "outdoor_seating", "yes"}),
    "shop": frozenset({"vacant", "no"}),
    "office": frozenset({"vacant", "no"}),
}
NAME_TAGS = ("name", "name:ko", "name:ja", "name:en", "name:ja-Hira", "name:ja_kana",
             "name:ja-Latn")
DETAIL_TAGS = ("opening_hours", "phone", "website", "email")
OSM_TYPES = ("node", "way", "relation")
_TAGS = frozenset(NAME_TAGS) | frozenset(DETAIL_TAGS) | frozenset(KEYS)
_DUPLICATE_M = 60.0  # a node and a way of one name closer than this are one place


def category_of(tags: Mapping[str, str]) -> str | None:
    """``key=value`` of the first business key a named object carries, or None."""
    if not tags.get("name"):
        return None
    for key in KEYS:
        value = (tags.get(key) or "").strip()
        if not value:
            continue
        first = value.split(";")[0].strip()
        if first and first not in NOT_BUSINESSES.get(key, frozenset()):
            return f"{key}={first}"
        return None
    return None


def _keep(tags: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: tags[k].strip() for k in NAME_TAGS + DETAIL_TAGS
                           if tags.get(k, "").strip()}
    addr = {k[5:]: v.strip() for k, v in tags.items() if k.startswith("addr:") and v.strip()}
    if addr:
        out["addr"] = addr
    return out


@dataclass
class PoiIndex:
    """The region's places (see the module doc): arrays by place, details as dicts."""

    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    osm_type: npt.NDArray[np.uint8]  # index into OSM_TYPES
    osm_id: npt.NDArray[np.int64]
    category: npt.NDArray[np.int32]  # index into categories
    categories: list[str]  # "key=value"
    details: list[dict[str, Any]]  # name, name:ko..., addr {street, housenumber...}, hours...
    meta: dict[str, Any] = field(default_factory=dict)
    #: the same business mapped again (a named building around its node): ref -> kept place
    aliases: dict[str, int] = field(default_factory=dict)
    #: businesses mapped as relations without an area to place them (a tram that is a pub, a
    #: site relation): in the extract, so not closed, but not offered (no position)
    unplaced: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.lon)
        if not (len(self.lat) == len(self.osm_type) == len(self.osm_id) == len(self.category)
                == len(self.details) == n):
            raise RegionError("places index: arrays differ in length")
        self._refs: dict[str, int] | None = None
        self._unplaced: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self.lon)

    def ref(self, i: int) -> str:
        """The place's OpenStreetMap reference, ``node/123``: the prospect's external id."""
        return f"{OSM_TYPES[int(self.osm_type[i])]}/{int(self.osm_id[i])}"

    def find(self, ref: str) -> int | None:
        """The position of the place ``node/123`` (or ``way/...``), or None."""
        if self._refs is None:
            self._refs = {self.ref(i): i for i in range(len(self))}
        found = self._refs.get(ref)
        return self.aliases.get(ref) if found is None else found

    def mapped(self, ref: str) -> bool:
        """Whether the extract has the business ``ref`` at all (placed or not)."""
        if self.find(ref) is not None:
            return True
        if self._unplaced is None:
            self._unplaced = frozenset(self.unplaced)
        return ref in self._unplaced

    def category_name(self, i: int) -> str:
        return self.categories[int(self.category[i])]

    def place(self, i: int) -> dict[str, Any]:
        """One place as plain values (for a page, a test or an import row)."""
        return {"ref": self.ref(i), "category": self.category_name(i),
                "lon": float(self.lon[i]), "lat": float(self.lat[i]), **self.details[i]}


class _Reader:
    def __init__(self) -> None:
        self.rows: list[tuple[float, float, int, int, str, dict[str, Any]]] = []
        self.newest: datetime | None = None
        self.relations: set[int] = set()  # business relations seen
        self.placed: set[int] = set()  # ... and those an area placed

    def add(self, tags: dict[str, str], lon: float, lat: float, kind: int, osm_id: int) -> None:
        category = category_of(tags)
        if category is not None and math.isfinite(lon) and math.isfinite(lat):
            self.rows.append((lon, lat, kind, osm_id, category, _keep(tags)))


def read_pois(path: str | Path, *, name: str | None = None) -> PoiIndex:
    """The places of an extract (one pass with pyosmium; see the module doc).

    Raises :class:`RegionError` naming the file when it cannot be read. An extract without a
    single business still gives an (empty) index.
    """
    import osmium

    source = Path(path)
    if not source.is_file():
        raise RegionError(f"{source}: no such file")
    r = _Reader()
    try:
        processor = (osmium.FileProcessor(str(source))
                     .with_locations()
                     .with_areas(osmium.filter.KeyFilter(*KEYS))
                     .with_filter(osmium.filter.KeyFilter(*KEYS)))
        for obj in processor:
            if isinstance(obj, osmium.osm.Changeset):
                continue
            stamp = obj.timestamp
            if stamp is not None and stamp.year > 1970 and (r.newest is None or stamp > r.newest):
                r.newest = stamp
            tags = {t.k: t.v for t in obj.tags}
            if "name" not in tags:
                continue
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid():
                    r.add(tags, obj.location.lon, obj.location.lat, 0, obj.id)
            elif isinstance(obj, osmium.osm.Way):
                lon = [n.location.lon for n in obj.nodes if n.location.valid()]
                lat = [n.location.lat for n in obj.nodes if n.location.valid()]
                if lon:
                    r.add(tags, *_centroid(lon, lat), 1, obj.id)
            elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                _area(r, obj, tags)
            elif isinstance(obj, osmium.osm.Relation) and category_of(tags) is not None:
                r.relations.add(obj.id)
    except RuntimeError as exc:
        raise RegionError(f"{source}: not a readable OSM file ({exc})") from exc
    return _finish(r, source, name)


def _area(r: _Reader, area: Any, tags: dict[str, str]) -> None:
    best: tuple[list[float], list[float]] | None = None
    for ring in area.outer_rings():
        lon = [n.location.lon for n in ring if n.location.valid()]
        lat = [n.location.lat for n in ring if n.location.valid()]
        if lon and (best is None or len(lon) > len(best[0])):
            best = (lon, lat)
    if best is not None:
        r.add(tags, *_centroid(*best), 2, int(area.orig_id()))
        r.placed.add(int(area.orig_id()))


def _finish(r: _Reader, source: Path, name: str | None) -> PoiIndex:
    # Nodes first, then ways, then relations, each by id: deterministic, and of a node and
    # its building with one name the node (the business's own point) is kept.
    r.rows.sort(key=lambda row: (row[2], row[3]))
    kept: list[tuple[float, float, int, int, str, dict[str, Any]]] = []
    seen: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    aliases: dict[str, int] = {}
    for row in r.rows:
        lon, lat = row[0], row[1]
        key = (row[5]["name"].casefold(), row[4])
        near = seen.setdefault(key, [])
        same = next((k for x, y, k in near if _metres(lon, lat, x, y) < _DUPLICATE_M), None)
        if same is not None:
            aliases[f"{OSM_TYPES[row[2]]}/{row[3]}"] = same
            continue
        near.append((lon, lat, len(kept)))
        kept.append(row)
    categories = sorted({row[4] for row in kept})
    cat_index = {c: i for i, c in enumerate(categories)}
    meta = {
        "format": FORMAT,
        "name": name or source.name.split(".")[0],
        "file": source.name,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "timestamp": r.newest.astimezone(UTC).isoformat() if r.newest else None,
        "places": len(kept),
        "categories": len(categories),
    }
    return PoiIndex(
        np.asarray([k[0] for k in kept], dtype=np.float64),
        np.asarray([k[1] for k in kept], dtype=np.float64),
        np.asarray([k[2] for k in kept], dtype=np.uint8),
        np.asarray([k[3] for k in kept], dtype=np.int64),
        np.asarray([cat_index[k[4]] for k in kept], dtype=np.int32),
        categories, [k[5] for k in kept], meta, aliases,
        [f"relation/{i}" for i in sorted(r.relations - r.placed)])


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    kx = 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon1 - lon2) * kx, (lat1 - lat2) * 110_540.0)


def save_pois(index: PoiIndex, path: str | Path) -> Path:
    """Write ``index`` to ``path`` (.npz) atomically (temporary file, then ``os.replace``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = json.dumps({"meta": index.meta, "categories": index.categories,
                      "details": index.details, "aliases": index.aliases,
                      "unplaced": index.unplaced},
                     ensure_ascii=False, separators=(",", ":"))
    _atomic(target, lambda f: np.savez_compressed(
        f, lon=index.lon, lat=index.lat, osm_type=index.osm_type, osm_id=index.osm_id,
        category=index.category, doc=np.frombuffer(doc.encode("utf-8"), dtype=np.uint8)))
    return target


def load_pois(path: str | Path) -> PoiIndex:
    """Read an index written by :func:`save_pois`."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            doc = json.loads(data["doc"].tobytes().decode("utf-8"))
            meta = doc["meta"]
            if meta.get("format") != FORMAT:
                raise RegionError(f"{path}: saved by another version (format "
                                  f"{meta.get('format')}); load the region again")
            return PoiIndex(data["lon"], data["lat"], data["osm_type"], data["osm_id"],
                            data["category"], doc["categories"], doc["details"], meta,
                            doc["aliases"], doc.get("unplaced", []))
    except (OSError, KeyError, ValueError) as exc:
        if isinstance(exc, RegionError):
            raise
        raise RegionError(f"{path}: not a places index ({exc})") from exc


# -- the search ---------------------------------------------------------------------------
def category_weights(index: PoiIndex, weights: Mapping[str, float]) -> npt.NDArray[np.float64]:
    """Per place, the weight of its category. A weight's key is ``key=value`` or the bare
    value (an account's category "cafe" fits ``amenity=cafe``); keys are case-insensitive."""
    folded = {k.strip().casefold(): float(v) for k, v in weights.items() if k and k.strip()}
    per_category = np.zeros(len(index.categories) + 1, dtype=np.float64)
    for i, cat in enumerate(index.categories):
        value = cat.split("=", 1)[1]
        per_category[i] = max(folded.get(cat.casefold(), 0.0), folded.get(value.casefold(), 0.0))
    return per_category[index.category] if len(index) else np.zeros(0)


def within_radius(index: PoiIndex, lon: float, lat: float,
                  metres: float) -> npt.NDArray[np.bool_]:
    """Which places lie within ``metres`` of (lon, lat) (great-circle distance)."""
    return haversine_m(lon, lat, index.lon, index.lat) <= metres


def inside(index: PoiIndex, geometry: Any) -> npt.NDArray[np.bool_]:
    """Which places lie inside a shapely (multi)polygon (lon/lat), its boundary included."""
    import shapely

    west, south, east, north = geometry.bounds
    box = (index.lon >= west) & (index.lon <= east) & (index.lat >= south) & (index.lat <= north)
    out = np.zeros(len(index), dtype=bool)
    idx = np.flatnonzero(box)
    if len(idx):
        shapely.prepare(geometry)
        out[idx] = shapely.intersects_xy(geometry, index.lon[idx], index.lat[idx])
    return out


def haversine_m(lon: float, lat: float, lons: npt.NDArray[np.float64],
                lats: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Great-circle metres from one point to many."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: npt.NDArray[np.float64] = 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return out


@dataclass(frozen=True)
class Ranked:
    """A place the search proposes: its position in the index, score, fit and distance."""

    i: int
    score: float
    fit: float
    distance_m: float | None  # to the nearest anchor (customer); None without anchors


def rank(index: PoiIndex, weights: npt.NDArray[np.float64], *,
         mask: npt.NDArray[np.bool_] | None = None,
         anchors: Sequence[tuple[float, float]] = (), scale_m: float = 1500.0,
         exclude: npt.NDArray[np.bool_] | None = None) -> Iterator[Ranked]:
    """The places with a positive weight inside ``mask`` (and not ``exclude``d), best first,
    one at a time (the caller stops when it has enough, skipping what it already knows).

    score = fit × e^(−d / scale), d the distance to the nearest anchor (lon, lat): a place of
    a category the customers have, close to a customer, first. Without anchors the fit alone
    ranks. Ties: nearer first, then by OSM reference (stable across loads).
    """
    keep = weights > 0
    if mask is not None:
        keep &= mask
    if exclude is not None:
        keep &= ~exclude
    idx = np.flatnonzero(keep)
    if not len(idx):
        return
    fit = weights[idx]
    dist: npt.NDArray[np.float64] | None = None
    if anchors:
        from scipy.spatial import cKDTree

        ref_lat = float(np.mean(index.lat[idx]))
        kx, ky = 111_320.0 * math.cos(math.radians(ref_lat)), 110_540.0
        pts = np.asarray(anchors, dtype=np.float64)
        tree = cKDTree(np.column_stack((pts[:, 0] * kx, pts[:, 1] * ky)))
        dist, _ = tree.query(np.column_stack((index.lon[idx] * kx, index.lat[idx] * ky)))
        score = fit * np.exp(-np.asarray(dist) / scale_m)
    else:
        score = fit.copy()
    tie = dist if dist is not None else np.zeros(len(idx))
    order = np.lexsort((index.osm_id[idx], index.osm_type[idx], tie, -score))
    for k in order:
        yield Ranked(int(idx[k]), float(score[k]), float(fit[k]),
                     None if dist is None else float(dist[k]))
