"""Forward and reverse geocoding from the region's own address index (no server, no network).

:class:`RegionGeocoder` folds the index once when it is built (a few hundred ms per 100,000
addresses) and then answers from dictionaries and KD-trees:

**Forward.** The query's structured fields win; free text is parsed (:func:`places.geocode.text.
parse_text`) into readings, and the first reading whose street the index knows is used. A street
name is matched by its compact keys (case, accents, spaces, abbreviations), then by a close
spelling (rapidfuzz, only for names of six letters or more and a clear winner). Each street
found is checked against the city, district, region and postcode the query gives: a street in
another town is dropped; when none is left the answer falls back to the postcode or the
locality, and a city the region does not know at all is refused rather than guessed. The grade
then follows from the house number:

* ``EXACT``: an address point, building or entrance with that number on that street (for Japan
  the block and house number in that chōme);
* ``INTERPOLATED``: on an ``addr:interpolation`` line, between the nearest lower and higher
  numbers of the same side (same parity, at most :data:`MAX_GAP` apart and
  :data:`MAX_SPAN_M` metres), the main number of ``12b``/``110-1``, or the centre of a Japanese
  block;
* ``STREET``: the street (at its known number nearest to the one asked, else its middle);
* ``POSTCODE``: the centre of the postcode's addresses;
* ``LOCALITY``: the district or city.

When the same street and number exist in places far apart and nothing in the query tells them
apart, there is no answer: a confident wrong pin costs more than an empty one.

**Reverse.** The nearest address within :data:`REVERSE_ADDRESS_M`, else the nearest street
within :data:`REVERSE_STREET_M` (with its locality), else the locality around the point.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from places.geocode.index import AddressIndex, union_root
from places.geocode.text import (
    COUNTRY_WORDS,
    fold,
    has_cjk,
    kanji_numbers,
    number_key,
    number_parts,
    parse_text,
    postcode_key,
    street_keys,
)
from places.geocode.types import AddressQuery, Confidence, GeocodeResult
from places.roads import EARTH_M

MAX_GAP = 20  # house numbers farther apart than this are not interpolated between
MAX_SPAN_M = 400.0  # nor two addresses farther apart than this
STREET_ATTACH_M = 1000.0  # an address belongs to a street of its name this close
AMBIGUOUS_M = 1500.0  # two answers farther apart than this, and nothing to choose: no answer
REVERSE_ADDRESS_M = 60.0
REVERSE_STREET_M = 300.0
FUZZY_MIN = 88.0
PLACE_RADIUS_M = {
    "state": 250_000, "province": 250_000, "region": 250_000, "county": 60_000,
    "municipality": 20_000, "city": 20_000, "borough": 6_000, "city_district": 6_000,
    "district": 8_000, "town": 8_000, "village": 3_000, "hamlet": 1_200,
    "isolated_dwelling": 500, "suburb": 3_000, "quarter": 1_500, "neighbourhood": 1_000,
}
LEVEL = {
    "state": "region", "province": "region", "region": "region", "county": "region",
    "municipality": "settlement", "city": "settlement", "town": "settlement",
    "village": "settlement", "hamlet": "settlement", "isolated_dwelling": "settlement",
    "borough": "district", "city_district": "district", "district": "district",
    "suburb": "district", "quarter": "district", "neighbourhood": "district",
}
SOURCE = "region"
RANK = {c: c.rank for c in Confidence}  # Confidence.rank, looked up once


def _loc_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", fold(text))


# How people shorten a region's or city's name: 서울 for 서울특별시, 東京 for 東京都.
_STEMS = re.compile(r"^(.{2,}?)(?:특별자치시|특별자치도|특별시|광역시|都|府|県)$")


def _loc_keys(name: str) -> list[str]:
    key = _loc_key(name)
    m = _STEMS.match(key)
    return [key, m.group(1)] if m else [key]


@dataclass
class _Street:
    """One street (or place-named thoroughfare) with its addresses."""

    name: str
    x: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    y: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    numbers: dict[str, list[int]] = field(default_factory=dict)
    entries: list[int] = field(default_factory=list)
    cities: Counter[str] = field(default_factory=Counter)
    postcodes: set[str] = field(default_factory=set)
    interps: list[int] = field(default_factory=list)
    japanese: bool = False
    mid: tuple[float, float] | None = None
    plain: list[tuple[int, int]] | None = None

    def middle(self, ex: npt.NDArray[np.float64], ey: npt.NDArray[np.float64]
               ) -> tuple[float, float]:
        """A point on the street: its vertex nearest the centre, else its addresses' median."""
        if self.mid is None:
            self.mid = self._middle(ex, ey)
        return self.mid

    def _middle(self, ex: npt.NDArray[np.float64], ey: npt.NDArray[np.float64]
                ) -> tuple[float, float]:
        if len(self.x):
            cx, cy = float(self.x.mean()), float(self.y.mean())
            k = int(np.argmin((self.x - cx) ** 2 + (self.y - cy) ** 2))
            return float(self.x[k]), float(self.y[k])
        idx = np.asarray(self.entries)
        return float(np.median(ex[idx])), float(np.median(ey[idx]))


@dataclass
class _Locality:
    name: str
    x: float
    y: float
    radius: float
    kind: str  # a place=* value, or the addr:* role it was named by (city, suburb...)
    from_addresses: bool = False


@dataclass
class _Where:
    """What the query says about where: locality candidates by role, and the postcode."""

    city: list[int] | None = None  # None: not given; []: given but unknown
    city_key: str = ""
    district: list[int] | None = None
    district_key: str = ""
    region: list[int] | None = None
    postcode: str = ""

    def given(self) -> bool:
        return bool(self.city_key or self.district_key or self.postcode or self.region)


@dataclass
class _Answer:
    x: float
    y: float
    grade: Confidence
    street: int | None
    number: str | None
    entry: int | None = None


class RegionGeocoder:
    """The :class:`~places.geocode.types.Geocoder` over one region's :class:`AddressIndex`.

    ``country`` (ISO alpha-2) is how free text is read when a query does not say (default: the
    country most of the region's addresses name, ``index.meta["country"]``); build one per
    loaded region and share it (answers never change it, except inside :meth:`excluding`).
    """

    name = SOURCE

    def __init__(self, index: AddressIndex, *, country: str | None = None) -> None:
        self.index = index
        country = country or index.meta.get("country")
        self.country = str(country).upper() if country else None
        lat = index.lat if len(index.lat) else np.zeros(0)
        self._lat0 = float(np.median(np.concatenate([lat, index.vlat]))) \
            if len(lat) + len(index.vlat) else 0.0
        self._kx = EARTH_M * math.cos(math.radians(self._lat0)) * math.pi / 180
        self._ky = EARTH_M * math.pi / 180
        self._ex = index.lon * self._kx
        self._ey = index.lat * self._ky
        self._hidden: frozenset[int] = frozenset()
        self._town_cache: dict[tuple[int, int], str] = {}
        self._streets: list[_Street] = []
        self._by_key: dict[str, list[int]] = {}
        self._numkeys = [self._entry_number(f) for f in index.fields]
        self._build_localities()
        self._build_streets()
        self._build_postcodes()
        # close spellings are looked for among names of the same first two letters (a typo
        # there is rare, and a whole region's names at once would cost milliseconds)
        self._fuzzy_keys: dict[str, list[str]] = {}
        for k in self._by_key:
            if len(k) >= 6:
                self._fuzzy_keys.setdefault(k[:2], []).append(k)
        self._entry_tree = cKDTree(np.column_stack([self._ex, self._ey])) if len(self._ex) \
            else None
        self._build_street_tree()

    # -- building ---------------------------------------------------------------------------

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        return lon * self._kx, lat * self._ky

    def _lonlat(self, x: float, y: float) -> tuple[float, float]:
        return x / self._kx, y / self._ky

    @staticmethod
    def _entry_number(f: dict[str, str]) -> str:
        block = f.get("block_number")
        number = f.get("housenumber", "")
        if block:
            return number_key(f"{block}-{number}" if number else block)
        return number_key(number) if number else ""

    @staticmethod
    def _thoroughfares(f: dict[str, str]) -> list[str]:
        """The names an address hangs on: its street (in every language), else its place.

        Japan: ``addr:quarter`` + ``addr:neighbourhood`` (大字 + 丁目) when there is no street.
        """
        streets = [v for k, v in f.items() if k == "street" or k.startswith("street:")]
        if streets:
            return streets
        quarter = f.get("quarter") or f.get("suburb")
        hood = f.get("neighbourhood")
        if "block_number" in f or (quarter and hood and has_cjk(quarter + hood)):
            if quarter and hood:
                return [f"{quarter}{kanji_numbers(fold(hood))}" if "丁目" in kanji_numbers(hood)
                        else f"{quarter}{hood}"]
            if quarter or hood:
                return [str(quarter or hood)]
        for key in ("place", "quarter", "neighbourhood", "suburb", "hamlet"):
            if f.get(key):
                return [f[key]]
        return []

    def _build_localities(self) -> None:
        self._localities: list[_Locality] = []
        self._loc_by_key: dict[str, list[int]] = {}
        for p in self.index.places:
            x, y = self._xy(float(p["lon"]), float(p["lat"]))
            names = p["names"]
            k = len(self._localities)
            self._localities.append(_Locality(names.get("name") or next(iter(names.values())),
                                              x, y, PLACE_RADIUS_M.get(p["kind"], 3000), p["kind"]))
            for v in names.values():
                for key in _loc_keys(v):
                    bucket = self._loc_by_key.setdefault(key, [])
                    if k not in bucket:
                        bucket.append(k)
        # Cities, suburbs and the like named by the addresses themselves (a region's extract
        # may lack their place nodes): the median of their addresses, radius from their spread.
        groups: dict[tuple[str, str], list[int]] = {}
        for i, f in enumerate(self.index.fields):
            for role in ("city", "suburb", "district", "province", "state", "quarter"):
                v = f.get(role)
                if v:
                    groups.setdefault((role, v), []).append(i)
        for (role, name), members in groups.items():
            idx = np.asarray(members)
            cx, cy = float(np.median(self._ex[idx])), float(np.median(self._ey[idx]))
            d = np.hypot(self._ex[idx] - cx, self._ey[idx] - cy)
            k = len(self._localities)
            self._localities.append(_Locality(name, cx, cy,
                                              float(np.percentile(d, 95)) + 1000.0, role, True))
            for key in _loc_keys(name):
                self._loc_by_key.setdefault(key, []).append(k)
        self._loc_keys: dict[str, list[str]] = {}
        for key in self._loc_by_key:
            self._loc_keys.setdefault(key[:2], []).append(key)
        pts = [(loc.x, loc.y) for loc in self._localities]
        self._loc_tree = cKDTree(np.asarray(pts)) if pts else None
        self._level_trees: dict[str, cKDTree] = {}
        for level in ("settlement", "district"):
            own = [(loc.x, loc.y) for loc in self._localities
                   if not loc.from_addresses and LEVEL.get(loc.kind) == level]
            if own:
                self._level_trees[level] = cKDTree(np.asarray(own))

    def _build_streets(self) -> None:
        ix = self.index
        for s, names in enumerate(ix.street_names):
            lines = ix.street_lines(s)
            xs = np.concatenate([lo for lo, _ in lines]) * self._kx
            ys = np.concatenate([la for _, la in lines]) * self._ky
            street = _Street(names.get("name") or next(iter(names.values())), xs, ys)
            self._streets.append(street)
            for v in names.values():
                for key in street_keys(v)[:1]:
                    bucket = self._by_key.setdefault(key, [])
                    if s not in bucket:
                        bucket.append(s)
        self._street_way_count = len(self._streets)
        loose: dict[str, list[int]] = {}
        for i, f in enumerate(ix.fields):
            ways = self._thoroughfares(f)
            if not ways:
                continue
            found = self._attach(i, ways)
            if found is None:
                keys = street_keys(ways[0])
                loose.setdefault(keys[0] if keys else "", []).append(i)
                continue
            self._add_entry(found, i, ways)
        for key, members in loose.items():
            if key:
                self._loose_streets(key, members)
        for j, itp in enumerate(ix.interpolations):
            keys = street_keys(str(itp["street"]))
            cands = self._by_key.get(keys[0], []) if keys else []
            if not cands:
                continue
            mx = float(ix.ilon[itp["start"]:itp["end"]].mean()) * self._kx
            my = float(ix.ilat[itp["start"]:itp["end"]].mean()) * self._ky
            best = min(cands, key=lambda c: self._dist_to_street(c, mx, my))
            self._streets[best].interps.append(j)

    def _attach(self, i: int, names: list[str]) -> int | None:
        best, best_d = None, STREET_ATTACH_M
        for name in names:
            keys = street_keys(name)
            for s in self._by_key.get(keys[0], []) if keys else []:
                d = self._dist_to_street(s, float(self._ex[i]), float(self._ey[i]))
                if d < best_d:
                    best, best_d = s, d
        return best

    def _dist_to_street(self, s: int, x: float, y: float) -> float:
        st = self._streets[s]
        if len(st.x):
            return float(np.sqrt(np.min((st.x - x) ** 2 + (st.y - y) ** 2)))
        if st.entries:
            idx = np.asarray(st.entries)
            return float(np.sqrt(np.min((self._ex[idx] - x) ** 2 + (self._ey[idx] - y) ** 2)))
        return math.inf

    def _add_entry(self, s: int, i: int, names: list[str]) -> None:
        st = self._streets[s]
        st.entries.append(i)
        f = self.index.fields[i]
        if "block_number" in f or any(has_cjk(n) for n in names):
            st.japanese = st.japanese or "block_number" in f
        key = self._numkeys[i]
        if key:
            st.numbers.setdefault(key, []).append(i)
            for part in re.split(r"[;,]", key) if (";" in key or "," in key) else ():
                st.numbers.setdefault(part, []).append(i)
        if f.get("city"):
            st.cities[_loc_key(f["city"])] += 1
        if f.get("postcode"):
            st.postcodes.add(postcode_key(f["postcode"]))
        for name in names:  # every language of the address names the street too
            for key in street_keys(name)[:1]:
                bucket = self._by_key.setdefault(key, [])
                if s not in bucket:
                    bucket.append(s)

    def _loose_streets(self, key: str, members: list[int]) -> None:
        """Addresses whose street has no way in the extract: one street per cluster of them."""
        pts = np.column_stack([self._ex[members], self._ey[members]])
        pairs = cKDTree(pts).query_pairs(STREET_ATTACH_M) if len(members) > 1 else set()
        parent = list(range(len(members)))
        for a, b in pairs:
            parent[union_root(parent, a)] = union_root(parent, b)
        groups: dict[int, list[int]] = {}
        for k, i in enumerate(members):
            groups.setdefault(union_root(parent, k), []).append(i)
        for group in groups.values():
            s = len(self._streets)
            names = self._thoroughfares(self.index.fields[group[0]])
            self._streets.append(_Street(names[0]))
            self._by_key.setdefault(key, []).append(s)
            for i in group:
                self._add_entry(s, i, self._thoroughfares(self.index.fields[i]))

    def _build_postcodes(self) -> None:
        groups: dict[str, list[int]] = {}
        for i, f in enumerate(self.index.fields):
            if f.get("postcode"):
                groups.setdefault(postcode_key(f["postcode"]), []).append(i)
        self._postcodes: dict[str, tuple[float, float, float, str]] = {}
        for code, members in groups.items():
            idx = np.asarray(members)
            cx, cy = float(np.median(self._ex[idx])), float(np.median(self._ey[idx]))
            d = np.hypot(self._ex[idx] - cx, self._ey[idx] - cy)
            self._postcodes[code] = (cx, cy, float(np.percentile(d, 95)) + 500.0,
                                     self.index.fields[members[0]]["postcode"])

    def _build_street_tree(self) -> None:
        """A KD-tree of the streets' vertices plus points every ~15 m along each segment, so
        a long straight segment is found from its middle too."""
        ix = self.index
        xs: list[npt.NDArray[np.float64]] = []
        ys: list[npt.NDArray[np.float64]] = []
        owner: list[npt.NDArray[np.int64]] = []
        for s in range(self._street_way_count):
            for lo, la in ix.street_lines(s):
                x, y = lo * self._kx, la * self._ky
                if len(x) == 1:
                    xs.append(x)
                    ys.append(y)
                    owner.append(np.full(1, s, dtype=np.int64))
                    continue
                seg = np.hypot(np.diff(x), np.diff(y))
                steps = np.maximum(1, np.ceil(seg / 15.0)).astype(np.int64)
                start = np.repeat(np.arange(len(seg)), steps)
                within = np.arange(int(steps.sum())) - np.repeat(np.cumsum(steps) - steps, steps)
                t = within / np.repeat(steps, steps)
                px = np.append(x[start] + (x[start + 1] - x[start]) * t, x[-1])
                py = np.append(y[start] + (y[start + 1] - y[start]) * t, y[-1])
                xs.append(px)
                ys.append(py)
                owner.append(np.full(len(px), s, dtype=np.int64))
        self._street_owner = np.concatenate(owner) if owner else np.zeros(0, dtype=np.int64)
        self._street_tree = cKDTree(np.column_stack([np.concatenate(xs), np.concatenate(ys)])) \
            if xs else None

    # -- leave-one-out (the benchmark) ------------------------------------------------------

    @contextmanager
    def excluding(self, entries: Sequence[int]) -> Iterator[None]:
        """Answer as if these addresses were not in the index (leave-one-out measurement)."""
        before = self._hidden
        self._hidden = frozenset(entries)
        try:
            yield
        finally:
            self._hidden = before

    # -- forward ----------------------------------------------------------------------------

    def forward_many(self, queries: list[AddressQuery]) -> list[GeocodeResult | None]:
        """``forward`` for each query, in order (repeated queries answered once)."""
        seen: dict[AddressQuery, GeocodeResult | None] = {}
        out: list[GeocodeResult | None] = []
        for q in queries:
            if q not in seen:
                seen[q] = self.forward(q)
            out.append(seen[q])
        return out

    def forward(self, query: AddressQuery) -> GeocodeResult | None:
        """The best place for ``query`` at the best grade the index supports, or None."""
        if query.is_empty():
            return None
        country = (query.country or self.country or "").upper() or None
        readings, where = self._read(query, country)
        if where is None:
            return None
        for street, number in readings:
            answer = self._street_answer(street, number, where)
            if answer is not None:
                return self._result(answer) if isinstance(answer, _Answer) else None
        return self._area_answer(where)

    def _read(self, q: AddressQuery, country: str | None
              ) -> tuple[list[tuple[str, str | None]], _Where | None]:
        """(street, number) readings, best first, and where the query says it is."""
        readings: list[tuple[str, str | None]] = []
        postcode = q.postcode
        localities: list[str] = []
        region = q.region
        asian = country in ("KR", "JP") or has_cjk(" ".join(
            v for v in (q.street, q.housenumber, q.text) if v))
        if q.street:
            if asian:
                parsed = parse_text(f"{q.street} {q.housenumber or ''}".strip(), country)
                readings.extend(parsed.streets)
            readings.append((q.street, q.housenumber))
            if "," in q.street:  # "Kaivopiha, Mannerheimintie": a building, then the street
                readings.append((q.street.rsplit(",", 1)[1].strip(), q.housenumber))
        if q.text:
            parsed = parse_text(q.text, country)
            if not q.street:
                readings.extend(parsed.streets)
            postcode = postcode or parsed.postcode
            region = region or parsed.region
            if not q.city:
                localities = [p for p in parsed.localities if p != parsed.region]
        elif not q.street and q.housenumber:
            readings.append(("", q.housenumber))
        where = _Where(postcode=postcode_key(postcode) if postcode else "")
        if q.city:
            where.city_key = _loc_key(q.city)
            where.city = self._find_locality(q.city)
        elif localities:
            # free text: the parts the index knows say where; an unknown last part is a city
            # the region does not have (unless it is the country)
            known = [(p, self._find_locality(p)) for p in localities]
            hits = [(p, k) for p, k in known if k]
            if hits:
                where.city_key, where.city = _loc_key(hits[-1][0]), hits[-1][1]
                if len(hits) > 1:
                    where.district_key, where.district = _loc_key(hits[0][0]), hits[0][1]
            else:
                tail = localities[-1]
                if fold(tail) not in COUNTRY_WORDS and not readings:
                    return readings, None
                if fold(tail) not in COUNTRY_WORDS and not re.search(r"\d", tail):
                    where.city_key, where.city = _loc_key(tail), []
        if q.district:
            where.district_key = _loc_key(q.district)
            where.district = self._find_locality(q.district)
        if region:
            where.region = self._find_locality(region) or None
        return [(s, n) for s, n in readings if s or n], where

    def _find_locality(self, name: str) -> list[int]:
        key = _loc_key(name)
        if not key:
            return []
        hits = self._loc_by_key.get(key)
        if hits:
            return hits
        pool = self._loc_keys.get(key[:2])
        if len(key) >= 5 and pool:
            best = process.extractOne(key, pool, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN)
            if best is not None:
                return self._loc_by_key[best[0]]
        return []

    def _streets_for(self, name: str) -> list[int]:
        keys = street_keys(name)
        for key in keys:
            hits = self._by_key.get(key)
            if hits:
                return hits
        key = keys[0] if keys else ""
        pool = self._fuzzy_keys.get(key[:2])
        if len(key) >= 6 and pool:
            found = process.extract(key, pool, scorer=fuzz.ratio, limit=2,
                                    score_cutoff=FUZZY_MIN)
            if found and (len(found) == 1 or found[0][1] - found[1][1] >= 3):
                return self._by_key[found[0][0]]
        return []

    def _near(self, locs: list[int], x: float, y: float) -> bool:
        """Whether (x, y) may lie in one of these localities.

        Within the locality's radius, and, for a place node, not much nearer another place of
        its level (a town's radius reaches into its neighbours: the point must be no more than
        twice as far from the named place as from the nearest one, plus a kilometre).
        """
        for k in locs:
            loc = self._localities[k]
            d = math.hypot(loc.x - x, loc.y - y)
            if d > loc.radius:
                continue
            level = LEVEL.get(loc.kind)
            tree = self._level_trees.get(level or "")
            if loc.from_addresses or tree is None:
                return True
            nearest, _ = tree.query((x, y))
            if d <= 2 * float(nearest) + 1000.0:
                return True
        return False

    def _aliases(self, a: list[int], b_key: str) -> bool:
        """Whether the locality named ``b_key`` is one of ``a`` (Helsinki / Helsingfors)."""
        names = {self._localities[k].name for k in a}
        for k in self._loc_by_key.get(b_key, ()):
            loc = self._localities[k]
            if k in a or loc.name in names:
                return True
            if not loc.from_addresses:
                continue
            if any(not self._localities[j].from_addresses and math.hypot(
                    self._localities[j].x - loc.x, self._localities[j].y - loc.y) < 2000
                    for j in a):
                return True
        return False

    def _fits(self, where: _Where, x: float, y: float, cities: Counter[str] | set[str],
              postcodes: set[str], own_city: str = "") -> tuple[bool, int]:
        """(not contradicted, how many given facts agree) for a candidate at (x, y).

        ``own_city`` is the candidate address's own ``addr:city``: another town there
        contradicts the query even when the two towns are neighbours.
        """
        agree = 0
        city_ok = False
        if where.city is not None:
            if where.city_key in cities:
                agree += 1
                city_ok = True
            elif where.city and self._near(where.city, x, y) and (
                    not own_city or self._aliases(where.city, own_city)
                    or all(LEVEL.get(self._localities[k].kind) == "district"
                           for k in where.city)):
                agree += 1
                city_ok = True
            else:
                return False, 0
        if where.district:
            if where.district_key in cities or self._near(where.district, x, y):
                agree += 1
            elif where.city is None:
                return False, 0
        if where.region:
            if not self._near(where.region, x, y):
                return False, 0
            agree += 1
        if where.postcode:
            if where.postcode in postcodes:
                agree += 1
            else:
                pc = self._postcodes.get(where.postcode)
                near = pc is not None and math.hypot(pc[0] - x, pc[1] - y) <= pc[2]
                if near:
                    agree += 1
                elif not city_ok and (postcodes or pc is not None):
                    return False, 0  # the postcode is the only say on where, and it differs
        return True, agree

    def _street_answer(self, name: str, number: str | None, where: _Where
                       ) -> _Answer | bool | None:
        """The answer on a street, False when the street exists but is ambiguous, None when
        no street of that name fits."""
        streets = self._streets_for(name) if name else []
        if not streets:
            return None
        scored: list[tuple[int, int, _Answer]] = []
        nkey = number_key(number) if number else ""
        for s in streets:
            answer = self._on_street(s, nkey)
            st = self._streets[s]
            if answer.entry is not None:
                f = self.index.fields[answer.entry]
                cities: Counter[str] | set[str] = {_loc_key(f["city"])} if f.get("city") \
                    else st.cities
                postcodes = {postcode_key(f["postcode"])} if f.get("postcode") else st.postcodes
            else:
                cities, postcodes = st.cities, st.postcodes
            own = _loc_key(self.index.fields[answer.entry].get("city", "")) \
                if answer.entry is not None and answer.grade is Confidence.EXACT else ""
            ok, agree = self._fits(where, answer.x, answer.y, cities, postcodes, own)
            if ok:
                scored.append((RANK[answer.grade], -agree, answer))
        if not scored:
            return None
        scored.sort(key=lambda t: (t[0], t[1]))
        best = scored[0]
        # a rival: as well supported by the query, far away, and as sure (a house on one street
        # and an interpolated number on its namesake are both believable)
        level = max(best[0], RANK[Confidence.INTERPOLATED])
        rivals = [a for g, ag, a in scored[1:] if ag == best[1] and g <= level
                  and math.hypot(a.x - best[2].x, a.y - best[2].y) > AMBIGUOUS_M]
        if rivals:
            return False
        return best[2]

    def _on_street(self, s: int, nkey: str) -> _Answer:
        st = self._streets[s]
        hidden = self._hidden
        if nkey:
            hits = [i for i in st.numbers.get(nkey, ()) if i not in hidden]
            if hits:
                return self._at_entries(hits, Confidence.EXACT, s, nkey)
            if st.japanese:  # the block (番) exists: its centre
                block = nkey.split("-")[0]
                near = [i for k, ids in st.numbers.items() if k.split("-")[0] == block
                        for i in ids if i not in hidden]
                if near and "-" in nkey:
                    return self._at_entries(near, Confidence.INTERPOLATED, s, nkey)
            else:
                parts = number_parts(nkey)
                if parts is not None:
                    found = self._interpolate(s, parts[0], nkey)
                    if found is not None:
                        return found
                    closest = self._closest_number(s, parts[0])
                    if closest is not None:
                        return _Answer(float(self._ex[closest]), float(self._ey[closest]),
                                       Confidence.STREET, s, None)
        x, y = st.middle(self._ex, self._ey)
        return _Answer(x, y, Confidence.STREET, s, None)

    def _at_entries(self, hits: list[int], grade: Confidence, s: int, nkey: str) -> _Answer:
        # The middle of the address's points: the building, the shops in it, its entrances
        # (one mistagged shop 150 m away does not move a median far)
        idx = np.asarray(hits)
        x, y = float(np.median(self._ex[idx])), float(np.median(self._ey[idx]))
        buildings = [i for i in hits if self.index.kind[i] == 1]
        entry = buildings[0] if buildings else int(idx[0])
        return _Answer(x, y, grade, s, nkey if grade is Confidence.EXACT
                       else self._numkeys[entry], entry)

    def _numbered(self, s: int, parity: int | None) -> list[tuple[int, int]]:
        """(number, entry) of the street's plain numbers (no letter or sub-number)."""
        st = self._streets[s]
        if st.plain is None:
            st.plain = sorted((int(key), i) for key, ids in st.numbers.items()
                              if key.isdigit() for i in ids)
        hidden = self._hidden
        return [(n, i) for n, i in st.plain
                if (parity is None or n % 2 == parity) and i not in hidden]

    def _interpolate(self, s: int, n: int, nkey: str) -> _Answer | None:
        st = self._streets[s]
        ix = self.index
        main = [i for i in st.numbers.get(str(n), ()) if i not in self._hidden]
        if main and nkey != str(n):  # 12b, 110-1: the main number's building
            return self._at_entries(main, Confidence.INTERPOLATED, s, nkey)
        for j in st.interps:
            itp = ix.interpolations[j]
            a, b = number_parts(number_key(str(itp["from"]))), number_parts(number_key(
                str(itp["to"])))
            if a is None or b is None or a[0] == b[0]:
                continue
            lo, hi = min(a[0], b[0]), max(a[0], b[0])
            kind = str(itp["type"])
            if not lo <= n <= hi or (kind in ("odd", "even") and n % 2 != lo % 2):
                continue
            x = ix.ilon[itp["start"]:itp["end"]] * self._kx
            y = ix.ilat[itp["start"]:itp["end"]] * self._ky
            px, py = _along(x, y, (n - a[0]) / (b[0] - a[0]))
            return _Answer(px, py, Confidence.INTERPOLATED, s, nkey)
        side = self._numbered(s, n % 2)
        lower = [(m, i) for m, i in side if m < n]
        upper = [(m, i) for m, i in side if m > n]
        if not lower or not upper:
            return None
        m0, i0 = max(lower)
        m1, i1 = min(upper)
        x0, y0, x1, y1 = (float(self._ex[i0]), float(self._ey[i0]), float(self._ex[i1]),
                          float(self._ey[i1]))
        if m1 - m0 > MAX_GAP or math.hypot(x1 - x0, y1 - y0) > MAX_SPAN_M:
            return None
        t = (n - m0) / (m1 - m0)
        return _Answer(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, Confidence.INTERPOLATED, s, nkey,
                       i0)

    def _closest_number(self, s: int, n: int) -> int | None:
        side = self._numbered(s, n % 2) or self._numbered(s, None)
        if not side:
            return None
        return min(side, key=lambda t: abs(t[0] - n))[1]

    def _area_answer(self, where: _Where) -> GeocodeResult | None:
        if where.postcode and where.postcode in self._postcodes:
            x, y, _, code = self._postcodes[where.postcode]
            ok, _ = self._fits(_Where(city=where.city, city_key=where.city_key,
                                      region=where.region), x, y, set(), set())
            if ok:
                lon, lat = self._lonlat(x, y)
                city = self._locality_at(x, y)
                label = ", ".join(v for v in (code, city) if v)
                return GeocodeResult(lon, lat, Confidence.POSTCODE, label, SOURCE,
                                     {k: v for k, v in (("postcode", code), ("city", city)) if v})
        for locs, role in ((where.district, "district"), (where.city, "city")):
            if locs:
                if role == "district" and where.city:
                    locs = [k for k in locs
                            if self._near(where.city, self._localities[k].x,
                                          self._localities[k].y)]
                    if not locs:
                        continue
                if where.region:
                    locs = [k for k in locs if self._near(where.region, self._localities[k].x,
                                                          self._localities[k].y)]
                if not locs:
                    continue
                # the place node is the town's own centre; the middle of the addresses that
                # name it only stands in where OpenStreetMap has no node
                best = min(locs, key=lambda k: (self._localities[k].from_addresses,
                                                self._localities[k].radius))
                spread = [k for k in locs if math.hypot(
                    self._localities[k].x - self._localities[best].x,
                    self._localities[k].y - self._localities[best].y)
                    > max(self._localities[best].radius, AMBIGUOUS_M)]
                if spread and not where.region and not (role == "district" and where.city):
                    return None  # two towns of that name, nothing to tell them apart
                loc = self._localities[best]
                lon, lat = self._lonlat(loc.x, loc.y)
                return GeocodeResult(lon, lat, Confidence.LOCALITY, loc.name, SOURCE,
                                     {role: loc.name})
        return None

    def _locality_at(self, x: float, y: float) -> str:
        """The town a point is in ("" when none): the ``addr:city`` its neighbours name, else
        the nearest city, town or village node that may contain it. Kept per 25 m cell."""
        cell = (round(x / 25.0), round(y / 25.0))
        found = self._town_cache.get(cell)
        if found is None:
            found = self._town_at(x, y)
            if len(self._town_cache) > 100_000:
                self._town_cache.clear()
            self._town_cache[cell] = found
        return found

    def _town_at(self, x: float, y: float) -> str:
        if self._loc_tree is None:
            return ""
        ranked: list[tuple[bool, float, int]] = []
        for k in self._loc_tree.query_ball_point((x, y), 30_000.0):
            loc = self._localities[k]
            if LEVEL.get(loc.kind) != "settlement" and loc.kind != "city":
                continue
            d = math.hypot(loc.x - x, loc.y - y)
            if d <= loc.radius:
                ranked.append((not loc.from_addresses, d, k))
        for _, _, k in sorted(ranked):
            if self._localities[k].from_addresses or self._near([k], x, y):
                return self._localities[k].name
        return ""

    def _result(self, a: _Answer) -> GeocodeResult:
        lon, lat = self._lonlat(a.x, a.y)
        st = self._streets[a.street] if a.street is not None else None
        f = self.index.fields[a.entry] if a.entry is not None else {}
        address: dict[str, str] = {}
        if st is not None:
            address["street"] = f.get("street") or st.name
        if a.grade in (Confidence.EXACT, Confidence.INTERPOLATED) and a.number:
            address["housenumber"] = (f.get("housenumber") if a.grade is Confidence.EXACT
                                      and f.get("housenumber") and "block_number" not in f
                                      else a.number) or a.number
        for k in ("postcode", "city", "province", "quarter", "neighbourhood", "block_number"):
            if f.get(k) and (a.grade is Confidence.EXACT or k in ("postcode", "city")):
                address[k] = f[k]
        if "city" not in address:
            city = self._locality_at(a.x, a.y)
            if city:
                address["city"] = city
        return GeocodeResult(lon, lat, a.grade, _label(address), SOURCE, address)

    # -- reverse ----------------------------------------------------------------------------

    def reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        """The nearest address within REVERSE_ADDRESS_M, else street, else locality."""
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        x, y = self._xy(lon, lat)
        if self._entry_tree is not None:
            d, i = self._entry_tree.query((x, y), k=8, distance_upper_bound=REVERSE_ADDRESS_M)
            for dist, k in zip(np.atleast_1d(d), np.atleast_1d(i), strict=True):
                if not math.isfinite(float(dist)) or int(k) in self._hidden:
                    continue
                address = self._entry_address(int(k))
                if address:
                    return GeocodeResult(float(self.index.lon[int(k)]),
                                         float(self.index.lat[int(k)]), Confidence.EXACT,
                                         _label(address), SOURCE, address)
        if self._street_tree is not None:
            dist, k = self._street_tree.query((x, y), distance_upper_bound=REVERSE_STREET_M)
            if math.isfinite(float(dist)):
                s = int(self._street_owner[int(k)])
                px, py = self._street_tree.data[int(k)]
                address = {"street": self._streets[s].name}
                city = self._locality_at(x, y)
                if city:
                    address["city"] = city
                plon, plat = self._lonlat(float(px), float(py))
                return GeocodeResult(plon, plat, Confidence.STREET, _label(address), SOURCE,
                                     address)
        city = self._locality_at(x, y)
        if city:
            return GeocodeResult(lon, lat, Confidence.LOCALITY, city, SOURCE, {"city": city})
        return None

    def _entry_address(self, i: int) -> dict[str, str]:
        """The structured address of one entry ({} when it has no street or place)."""
        f = self.index.fields[i]
        names = self._thoroughfares(f)
        number = f.get("housenumber") or ""
        if "block_number" in f:
            number = "-".join(v for v in (f["block_number"], number) if v)
        if not names or not number:
            return {}
        address = {"street": f.get("street") or names[0], "housenumber": number}
        for key in ("postcode", "city", "province", "quarter", "neighbourhood",
                    "block_number"):
            if f.get(key):
                address[key] = f[key]
        if "city" not in address:
            city = self._locality_at(float(self._ex[i]), float(self._ey[i]))
            if city:
                address["city"] = city
        return address


def _along(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], t: float
           ) -> tuple[float, float]:
    """The point at fraction ``t`` of a polyline's length."""
    seg = np.hypot(np.diff(x), np.diff(y))
    total = float(seg.sum())
    if total <= 0:
        return float(x[0]), float(y[0])
    target = min(max(t, 0.0), 1.0) * total
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    k = min(int(np.searchsorted(cum, target, side="right")) - 1, len(seg) - 1)
    u = (target - cum[k]) / seg[k] if seg[k] > 0 else 0.0
    return float(x[k] + (x[k + 1] - x[k]) * u), float(y[k] + (y[k + 1] - y[k]) * u)


def _label(a: dict[str, str]) -> str:
    """One line as people of the address's country write it."""
    street = a.get("street", "")
    if has_cjk(street + a.get("city", "")):
        if "block_number" in a or a.get("quarter"):
            parts = [a.get("province", ""), a.get("city", ""), street,
                     a.get("housenumber", "")]
            text = "".join(p for p in parts if p)
            return f"〒{a['postcode']} {text}" if a.get("postcode") else text
        return " ".join(p for p in (a.get("city", ""), street, a.get("housenumber", "")) if p)
    first = " ".join(p for p in (street, a.get("housenumber", "")) if p)
    second = " ".join(p for p in (a.get("postcode", ""), a.get("city", "")) if p)
    return ", ".join(p for p in (first, second) if p)
