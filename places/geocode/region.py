"""Forward and reverse geocoding from the region's own address index (no server, no network).

:class:`RegionGeocoder` folds the index once when it is built
(:class:`places.geocode.prepared.PreparedIndex`) and then answers from dictionaries and
KD-trees:

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
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from places.geocode.index import AddressIndex
from places.geocode.prepared import LEVEL, PreparedIndex, loc_key
from places.geocode.text import (
    COUNTRY_WORDS,
    fold,
    has_cjk,
    number_key,
    number_parts,
    parse_text,
    postcode_key,
)
from places.geocode.types import AddressQuery, Confidence, GeocodeResult

MAX_GAP = 20  # house numbers farther apart than this are not interpolated between
MAX_SPAN_M = 400.0  # nor two addresses farther apart than this
AMBIGUOUS_M = 1500.0  # two answers farther apart than this, and nothing to choose: no answer
REVERSE_ADDRESS_M = 60.0
REVERSE_STREET_M = 300.0
SOURCE = "region"
RANK = {c: c.rank for c in Confidence}  # Confidence.rank, looked up once


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
    extra: dict[str, str] | None = None  # postcode and city of an interpolation line


class RegionGeocoder(PreparedIndex):
    """The :class:`~places.geocode.types.Geocoder` over one region's :class:`AddressIndex`.

    ``country`` (ISO alpha-2) is how free text is read when a query does not say (default: the
    country most of the region's addresses name, ``index.meta["country"]``); build one per
    loaded region and share it (answers never change it, except inside :meth:`excluding`).
    """

    name = SOURCE

    def __init__(self, index: AddressIndex, *, country: str | None = None) -> None:
        super().__init__(index)
        country = country or index.meta.get("country")
        self.country = str(country).upper() if country else None

    @contextmanager
    def excluding(self, entries: Sequence[int]) -> Iterator[None]:
        """Answer as if these addresses were not in the index (leave-one-out measurement)."""
        before = self._hidden
        self._hidden = frozenset(entries)
        try:
            yield
        finally:
            self._hidden = before

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
            where.city_key = loc_key(q.city)
            where.city = self._find_locality(q.city)
        elif localities:
            # free text: the parts the index knows say where; an unknown last part is a city
            # the region does not have (unless it is the country)
            known = [(p, self._find_locality(p)) for p in localities]
            hits = [(p, k) for p, k in known if k]
            if hits:
                where.city_key, where.city = loc_key(hits[-1][0]), hits[-1][1]
                if len(hits) > 1:
                    where.district_key, where.district = loc_key(hits[0][0]), hits[0][1]
            else:
                tail = localities[-1]
                if fold(tail) not in COUNTRY_WORDS and not readings:
                    return readings, None
                if fold(tail) not in COUNTRY_WORDS and not re.search(r"\d", tail):
                    where.city_key, where.city = loc_key(tail), []
        if q.district:
            where.district_key = loc_key(q.district)
            where.district = self._find_locality(q.district)
        if region:
            where.region = self._find_locality(region) or None
        return [(s, n) for s, n in readings if s or n], where

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
        scored: list[tuple[int, int, float, _Answer]] = []
        nkey = number_key(number) if number else ""
        for s in streets:
            st = self._streets[s]
            if where.city and st.cities and where.city_key not in st.cities:
                # a namesake whose addresses all name another town: checked at its middle
                # before its numbers are looked at (a common name is in dozens of towns)
                mx, my = st.middle(self._ex, self._ey)
                if not self._fits(where, mx, my, st.cities, st.postcodes)[0]:
                    continue
            answer = self._on_street(s, nkey)
            if answer.entry is None and answer.grade is Confidence.STREET and where.city \
                    and len(st.x):
                # a long street through several towns: its part nearest the asked one
                d = np.min(np.hypot(
                    st.x[:, None] - np.asarray([self._localities[k].x for k in where.city]),
                    st.y[:, None] - np.asarray([self._localities[k].y for k in where.city])),
                    axis=1)
                k = int(np.argmin(d))
                answer = _Answer(float(st.x[k]), float(st.y[k]), Confidence.STREET, s, None)
            if answer.entry is not None:
                f = self.index.fields[answer.entry]
                cities: Counter[str] | set[str] = {loc_key(f["city"])} if f.get("city") \
                    else st.cities
                postcodes = {postcode_key(f["postcode"])} if f.get("postcode") else st.postcodes
            else:
                cities, postcodes = st.cities, st.postcodes
            own = loc_key(self.index.fields[answer.entry].get("city", "")) \
                if answer.entry is not None and answer.grade is Confidence.EXACT else ""
            ok, agree = self._fits(where, answer.x, answer.y, cities, postcodes, own)
            if ok:
                scored.append((RANK[answer.grade], -agree, self._from_town(where, answer),
                               answer))
        if not scored:
            return None
        scored.sort(key=lambda t: t[:3])
        grade, agree, dist, best = scored[0]
        # a rival: as well supported by the query, far away, as sure (a house on one street
        # and an interpolated number on its namesake are both believable), and not clearly
        # farther from the town asked for
        level = max(grade, RANK[Confidence.INTERPOLATED])
        rivals = [a for g, ag, d, a in scored[1:] if ag == agree and g <= level
                  and d < 2 * dist + 500.0
                  and math.hypot(a.x - best.x, a.y - best.y) > AMBIGUOUS_M]
        if rivals:
            return False
        return best

    def _from_town(self, where: _Where, a: _Answer) -> float:
        """Metres from an answer to the nearest centre of the town asked for (0 without one)."""
        if not where.city:
            return 0.0
        return min(math.hypot(self._localities[k].x - a.x, self._localities[k].y - a.y)
                   for k in where.city)

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
        if len(hits) == 1:
            x, y = float(self._ex[hits[0]]), float(self._ey[hits[0]])
        else:
            x = statistics.median(float(self._ex[i]) for i in hits)
            y = statistics.median(float(self._ey[i]) for i in hits)
        buildings = [i for i in hits if self.index.kind[i] == 1]
        entry = buildings[0] if buildings else hits[0]
        return _Answer(x, y, grade, s, nkey if grade is Confidence.EXACT
                       else self._numkeys[entry], entry)

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
            extra = {k: str(itp[k]) for k in ("postcode", "city") if itp.get(k)}
            return _Answer(px, py, Confidence.INTERPOLATED, s, nkey, None, extra)
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
                label = " ".join(v for v in (code, city) if v)
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
        for k in ("postcode", "city", "province", "quarter", "neighbourhood", "block_number",
                  "country"):
            if f.get(k) and (a.grade is Confidence.EXACT or k in ("postcode", "city", "country")):
                address[k] = f[k]
        for k, v in (a.extra or {}).items():
            address.setdefault(k, v)
        if "city" not in address:
            city = self._locality_at(a.x, a.y)
            if city:
                address["city"] = city
        return GeocodeResult(lon, lat, a.grade, _label(address, self.country), SOURCE, address)

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
                                         _label(address, self.country), SOURCE, address)
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
                return GeocodeResult(plon, plat, Confidence.STREET,
                                     _label(address, self.country), SOURCE, address)
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
                    "block_number", "country"):
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


# Where the number comes before the street ("12 Main Street", "12 rue de la Paix").
NUMBER_FIRST = {"US", "CA", "GB", "IE", "AU", "NZ", "FR", "BE", "LU", "MC", "IL", "PH", "SG"}


def _label(a: dict[str, str], country: str | None = None) -> str:
    """One line as people of the address's country write it."""
    street = a.get("street", "")
    if has_cjk(street + a.get("city", "")):
        if "block_number" in a or a.get("quarter"):
            parts = [a.get("province", ""), a.get("city", ""), street,
                     a.get("housenumber", "")]
            text = "".join(p for p in parts if p)
            return f"〒{a['postcode']} {text}" if a.get("postcode") else text
        return " ".join(p for p in (a.get("city", ""), street, a.get("housenumber", "")) if p)
    order = (a.get("housenumber", ""), street) if (a.get("country") or country or "").upper() \
        in NUMBER_FIRST else (street, a.get("housenumber", ""))
    first = " ".join(p for p in order if p)
    second = " ".join(p for p in (a.get("postcode", ""), a.get("city", "")) if p)
    return ", ".join(p for p in (first, second) if p)
