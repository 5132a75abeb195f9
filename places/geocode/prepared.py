"""The region's address index made ready to answer: folded keys, streets, towns, KD-trees.

:class:`PreparedIndex` reads an :class:`~places.geocode.index.AddressIndex` once: every street
and place name to its compact keys (:mod:`places.geocode.text`), each address hung on the
street of its name nearest to it (two Koulukatu in two towns stay two streets; addresses whose
street has no way in the extract form streets of their own), the towns, suburbs and quarters
from place nodes and from the ``addr:city``/``addr:suburb`` the addresses name, the postcodes'
centres, and KD-trees of the addresses and of points every 15 m along the streets. The answering
rules live in :class:`places.geocode.region.RegionGeocoder`, which builds on it.

Where a town is: a place node's radius by its kind (:data:`PLACE_RADIUS_M`), and not much
nearer another place of its level (:meth:`PreparedIndex._near`); a town named by addresses
reaches as far as they do.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from places.geocode.index import AddressIndex, union_root
from places.geocode.text import fold, has_cjk, kanji_numbers, number_key, postcode_key, street_keys
from places.roads import EARTH_M

STREET_ATTACH_M = 1000.0  # an address belongs to a street of its name this close
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


@lru_cache(maxsize=100_000)
def loc_key(text: str) -> str:
    """A town's or district's name as compared: folded, letters and digits only."""
    return re.sub(r"[\W_]+", "", fold(text))


# How people shorten a region's or city's name: 서울 for 서울특별시, 東京 for 東京都.
_STEMS = re.compile(r"^(.{2,}?)(?:특별자치시|특별자치도|특별시|광역시|都|府|県)$")


def loc_keys(name: str) -> list[str]:
    """The keys a locality is found by: its name, and its short form where people use one."""
    key = loc_key(name)
    m = _STEMS.match(key)
    return [key, m.group(1)] if m else [key]


@dataclass
class Street:
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
class Locality:
    name: str
    x: float
    y: float
    radius: float
    kind: str  # a place=* value, or the addr:* role it was named by (city, suburb...)
    from_addresses: bool = False


class PreparedIndex:
    """An :class:`AddressIndex` folded for answering (see the module doc); build once per region."""

    def __init__(self, index: AddressIndex) -> None:
        self.index = index
        lat = index.lat if len(index.lat) else np.zeros(0)
        self._lat0 = float(np.median(np.concatenate([lat, index.vlat]))) \
            if len(lat) + len(index.vlat) else 0.0
        self._kx = EARTH_M * math.cos(math.radians(self._lat0)) * math.pi / 180
        self._ky = EARTH_M * math.pi / 180
        self._ex = index.lon * self._kx
        self._ey = index.lat * self._ky
        self._hidden: frozenset[int] = frozenset()
        self._town_cache: dict[tuple[int, int], str] = {}
        self._streets: list[Street] = []
        self._by_key: dict[str, list[int]] = {}
        self._by_old_key: dict[str, list[int]] = {}
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
        self._localities: list[Locality] = []
        self._loc_by_key: dict[str, list[int]] = {}
        for p in self.index.places:
            x, y = self._xy(float(p["lon"]), float(p["lat"]))
            names = p["names"]
            k = len(self._localities)
            self._localities.append(Locality(names.get("name") or next(iter(names.values())),
                                              x, y, PLACE_RADIUS_M.get(p["kind"], 3000), p["kind"]))
            for v in names.values():
                for key in loc_keys(v):
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
            self._localities.append(Locality(name, cx, cy,
                                              float(np.percentile(d, 95)) + 1000.0, role, True))
            for key in loc_keys(name):
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
            street = Street(names.get("name") or next(iter(names.values())), xs, ys)
            self._streets.append(street)
            for tag, value in names.items():
                # a former name finds the street only when no street has it now
                table = self._by_old_key if tag.startswith("old_name") else self._by_key
                for v in {value, *value.split(";")}:  # "A; B": a way with two names
                    for key in street_keys(v.strip())[:1]:
                        bucket = table.setdefault(key, [])
                        if s not in bucket:
                            bucket.append(s)
        self._street_way_count = len(self._streets)
        # Each address hangs on the nearest street of its name within STREET_ATTACH_M,
        # measured to points every 50 m along the street; addresses that share their
        # candidate streets are measured together (one KD-tree query per street and group).
        ways_of: list[list[str]] = [self._thoroughfares(f) for f in ix.fields]
        groups: dict[tuple[int, ...], list[int]] = {}
        loose: dict[str, list[int]] = {}
        for i, ways in enumerate(ways_of):
            if not ways:
                continue
            cands = tuple(sorted({c for name in ways for k in street_keys(name)[:1]
                                  for c in self._by_key.get(k, ())}))
            if cands:
                groups.setdefault(cands, []).append(i)
            else:
                loose.setdefault(street_keys(ways[0])[0] if street_keys(ways[0]) else "",
                                 []).append(i)
        trees: dict[int, cKDTree] = {}
        for cands, members in groups.items():
            pts = np.column_stack([self._ex[members], self._ey[members]])
            best_d = np.full(len(members), np.inf)
            best_s = np.full(len(members), -1, dtype=np.int64)
            for c in cands:
                if c not in trees:
                    trees[c] = cKDTree(np.column_stack(self._points_along(c, 50.0)))
                d, _ = trees[c].query(pts, distance_upper_bound=STREET_ATTACH_M)
                better = d < best_d
                best_d[better] = d[better]
                best_s[better] = c
            for i, found in zip(members, best_s.tolist(), strict=True):
                if found >= 0:
                    self._add_entry(found, i, ways_of[i])
                else:
                    keys = street_keys(ways_of[i][0])
                    loose.setdefault(keys[0] if keys else "", []).append(i)
        for key, members in loose.items():
            if key:
                self._loose_streets(key, members)
        for j, itp in enumerate(ix.interpolations):
            keys = street_keys(str(itp["street"]))
            cands_ = [c for c in (self._by_key.get(keys[0], []) if keys else [])
                      if c < self._street_way_count]
            if not cands_:
                continue
            mx = float(ix.ilon[itp["start"]:itp["end"]].mean()) * self._kx
            my = float(ix.ilat[itp["start"]:itp["end"]].mean()) * self._ky
            best = min(cands_, key=lambda c: float(np.min(np.hypot(
                self._streets[c].x - mx, self._streets[c].y - my))))
            self._streets[best].interps.append(j)

    def _points_along(self, s: int, step: float
                      ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(x, y) of street ``s``'s vertices and points at most ``step`` metres apart between
        them, every way of it."""
        xs: list[npt.NDArray[np.float64]] = []
        ys: list[npt.NDArray[np.float64]] = []
        for lo, la in self.index.street_lines(s):
            x, y = lo * self._kx, la * self._ky
            if len(x) == 1:
                xs.append(x)
                ys.append(y)
                continue
            seg = np.hypot(np.diff(x), np.diff(y))
            steps = np.maximum(1, np.ceil(seg / step)).astype(np.int64)
            start = np.repeat(np.arange(len(seg)), steps)
            within = np.arange(int(steps.sum())) - np.repeat(np.cumsum(steps) - steps, steps)
            t = within / np.repeat(steps, steps)
            xs.append(np.append(x[start] + (x[start + 1] - x[start]) * t, x[-1]))
            ys.append(np.append(y[start] + (y[start + 1] - y[start]) * t, y[-1]))
        return np.concatenate(xs), np.concatenate(ys)

    def _add_entry(self, s: int, i: int, names: list[str]) -> None:
        st = self._streets[s]
        st.entries.append(i)
        f = self.index.fields[i]
        if "block_number" in f:
            st.japanese = True
        key = self._numkeys[i]
        if key:
            st.numbers.setdefault(key, []).append(i)
            for part in re.split(r"[;,]", key) if (";" in key or "," in key) else ():
                st.numbers.setdefault(part, []).append(i)
        if f.get("city"):
            st.cities[loc_key(f["city"])] += 1
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
            self._streets.append(Street(names[0]))
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
        """A KD-tree of points every ~15 m along the streets, so a long straight segment is
        found from its middle too."""
        xs: list[npt.NDArray[np.float64]] = []
        ys: list[npt.NDArray[np.float64]] = []
        owner: list[npt.NDArray[np.int64]] = []
        for s in range(self._street_way_count):
            px, py = self._points_along(s, 15.0)
            xs.append(px)
            ys.append(py)
            owner.append(np.full(len(px), s, dtype=np.int64))
        self._street_owner = np.concatenate(owner) if owner else np.zeros(0, dtype=np.int64)
        self._street_tree = cKDTree(np.column_stack([np.concatenate(xs), np.concatenate(ys)])) \
            if xs else None

    def _find_locality(self, name: str) -> list[int]:
        key = loc_key(name)
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
        for table in (self._by_key, self._by_old_key):
            for key in keys:
                hits = table.get(key)
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

    def _numbered(self, s: int, parity: int | None) -> list[tuple[int, int]]:
        """(number, entry) of the street's plain numbers (no letter or sub-number)."""
        st = self._streets[s]
        if st.plain is None:
            st.plain = sorted((int(key), i) for key, ids in st.numbers.items()
                              if key.isdigit() for i in ids)
        hidden = self._hidden
        return [(n, i) for n, i in st.plain
                if (parity is None or n % 2 == parity) and i not in hidden]
