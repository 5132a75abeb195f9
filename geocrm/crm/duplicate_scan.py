"""Finding likely duplicate accounts among columns of account data: blocking, comparing,
scoring. No database and no request here (:mod:`geocrm.crm.duplicates` reads the
accounts through the user's scope and shows the results).

Finding never compares every account with every other (5·10⁹ pairs at 100,000 accounts).
Accounts are *blocked* first, and only accounts in a shared block are compared:

* **Name and place.** Each pinned account goes into a grid cell of about the duplicate
  radius (0.0025° of latitude, ~278 m; cells are as many degrees wide, and a search
  spans as many cells east and west as that latitude needs for 250 m, so a pair across a
  cell border, or two cells apart in the north, is still seen), once per *name token*:
  each word of its normalised key (:mod:`geocrm.core.names`), the first and last three
  letters of the key without spaces (a typo everywhere but the start, or the end), and for
  Korean, Japanese and Chinese, written without spaces, every two-letter piece. Two
  accounts are compared when they share a token in the same or a neighbouring cell — a
  chain's hundred shops far apart never meet, nor do two different names next door.
* **Identifiers.** The same normalised phone, email or external id, anywhere (a group of
  more than 50 is a switchboard, not 50 duplicates).
* **No pin.** An account without coordinates meets the accounts with its exact name key
  when the name is rare (at most five accounts: a chain's unpinned shop is not a
  duplicate of each of its hundred shops), and the accounts at its address.

The block pairs become numpy index arrays, distances are computed at once, and the names
of the pairs close enough are scored by rapidfuzz in C++
(:class:`geocrm.core.names.SimilarityTable`, the same rule as ``name_similarity``).
Memory stays bounded: pairs are expanded in chunks and only the matches are kept, so
even thousands of accounts geocoded to one town centre cost time, not gigabytes.
Results come best first in a fixed order (score, then ids), so pages are stable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from geocrm.core.names import SimilarityTable
from geocrm.spatial import EARTH_RADIUS_M, haversine_many_m

MAX_DISTANCE_M = 250.0
MIN_NAME_SIMILARITY = 0.8
# Same name, one of the two without a pin: only an almost identical name is enough.
MIN_NAME_SIMILARITY_UNLOCATED = 0.95
#: A name shared by more accounts than this is a chain: an unpinned one is paired by name
#: only with those at the same address.
MAX_UNLOCATED_NAME_GROUP = 5
#: More accounts than this with one phone, email, external id (or name and address) are a
#: switchboard or a default value, not that many duplicates.
MAX_IDENTIFIER_GROUP = 50
#: More pinned accounts than this with one name word in one cell (thousands geocoded to a
#: town centre) are not compared by that word — their rarer words still meet; the page
#: says how many accounts that concerns.
MAX_BLOCK = 500
#: A stored scan keeps at most this many pairs, best first (the page says so when cut).

_CELL_DEG = 0.0025  # ~278 m of latitude: one cell is at least the radius
_CELL_M = math.radians(_CELL_DEG) * EARTH_RADIUS_M
_NX = round(360 / _CELL_DEG)  # longitude cells around the globe (the grid wraps at ±180°)
_NY = round(180 / _CELL_DEG) + 4
_CHUNK_PAIRS = 1_000_000  # block pairs expanded at a time (bounds the memory of a scan)
_DIGITS = re.compile(r"\D+")
# Runs of Hangul, kana and CJK ideographs (scripts written without spaces between words).
_CJK_RUN = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf"
                      "\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff]{2,}")
WHY_PHONE, WHY_EMAIL, WHY_EXTERNAL, WHY_ADDRESS = 1, 2, 4, 8  # why-bits of a stored pair
WHY_IDENTIFIERS = WHY_PHONE | WHY_EMAIL | WHY_EXTERNAL

Progress = Callable[[float, str], None]
IntArray = npt.NDArray[np.int64]


def normalise_phone(phone: str | None) -> str | None:
    """The last 9 digits: ``+358 40 123 4567`` and ``040-123 4567`` are the same number."""
    if not phone:
        return None
    digits = _DIGITS.sub("", phone)
    return digits[-9:] if len(digits) >= 6 else None


def normalise_email(email: str | None) -> str | None:
    text = (email or "").strip().lower()
    return text if "@" in text else None



@dataclass
class Scan:
    """The pairs a scan found, best first, as parallel arrays of account ids and figures."""

    a_ids: IntArray
    b_ids: IntArray
    score: npt.NDArray[np.float64]
    similarity: npt.NDArray[np.float64]
    distance: npt.NDArray[np.float64]  # NaN: one of the two has no pin
    why: IntArray  # WHY_PHONE | WHY_EMAIL | WHY_EXTERNAL | WHY_ADDRESS
    accounts: int = 0
    names: dict[int, str] = field(default_factory=dict)
    crowded: int = 0  # accounts not compared by a word too common in their cell

    def __len__(self) -> int:
        return len(self.a_ids)

    def rows(self, start: int = 0, stop: int | None = None) -> Iterator[list[Any]]:
        """Compact rows ``[a, b, score, similarity, distance or None, why]``."""
        for i in range(start, min(len(self), len(self) if stop is None else stop)):
            d = float(self.distance[i])
            yield [int(self.a_ids[i]), int(self.b_ids[i]), float(self.score[i]),
                   float(self.similarity[i]), None if math.isnan(d) else d, int(self.why[i])]




@dataclass
class Columns:
    """The accounts a scan looks at, by column; ``ids`` ascending."""

    ids: IntArray
    names: list[str]
    keys: list[str]
    lat: npt.NDArray[np.float64]  # NaN: no pin
    lon: npt.NDArray[np.float64]
    phones: list[str | None]
    emails: list[str | None]
    external_ids: list[str | None]
    address_keys: list[str | None]
    focus: npt.NDArray[np.bool_]  # pairs need at least one account in focus


def _tokens(key: str) -> set[str]:
    """The name blocks of a key: its words (of 3+ letters, if it has any), the first and
    last three letters without spaces (one typo in a name of 7+ letters leaves one of them
    shared), and for Korean, Japanese and Chinese, written without spaces, every two-letter
    piece: 세정한방병원 and 세정병원 share 세정 and 병원, though no word or end."""
    words = key.split()
    out = {w for w in words if len(w) >= 3} or set(words)
    compact = key.replace(" ", "")
    if len(compact) >= 4:
        out.add("^" + compact[:3])
        out.add("$" + compact[-3:])
    if not key.isascii():
        for run in _CJK_RUN.findall(compact):
            out.update("~" + run[i:i + 2] for i in range(len(run) - 1))
    return out


def _span(cy: IntArray) -> IntArray:
    """Longitude cells to search either side, by cell row: enough for the radius at the
    row's poleward neighbour edge (the worst latitude a partner can have)."""
    lat = np.minimum(89.0, (np.abs(cy) + 2) * _CELL_DEG)
    width = _CELL_M * np.maximum(np.cos(np.radians(lat)), 1e-3)
    return np.minimum(np.ceil(MAX_DISTANCE_M / width).astype(np.int64), _NX // 2)


def _codes(values: Sequence[str | None]) -> IntArray:
    """A small int per distinct value; 0 for none."""
    seen: dict[str, int] = {}
    return np.fromiter(((seen.setdefault(v, len(seen) + 1) if v else 0) for v in values),
                       np.int64, len(values))


def _groups(codes: IntArray) -> Iterator[IntArray]:
    """Indices sharing a code (code 0 never), one group at a time, each ascending."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    for group in np.split(order, bounds):
        if len(group) > 1 and codes[group[0]] != 0:
            yield group


def _pairs_within(group: npt.ArrayLike) -> IntArray:
    g = np.asarray(group, dtype=np.int64)
    i, j = np.triu_indices(len(g), 1)
    return np.stack([g[i], g[j]], axis=1)


def _identifier_pairs(cols: Columns) -> list[IntArray]:
    out = []
    for values in (cols.phones, cols.emails, cols.external_ids):
        for group in _groups(_codes(values)):
            if len(group) <= MAX_IDENTIFIER_GROUP:
                out.append(_pairs_within(group))
    return out


def _unlocated_pairs(cols: Columns, key_codes: IntArray,
                     address_codes: IntArray) -> list[IntArray]:
    """Pairs of an unpinned account with the accounts of its exact name key (a rare name),
    and with those at its address (a typo in the name, or a chain's shop)."""
    unpinned = np.isnan(cols.lat)
    out = []
    for codes, limit in ((key_codes, MAX_UNLOCATED_NAME_GROUP),
                         (address_codes, MAX_IDENTIFIER_GROUP)):
        for group in _groups(codes):
            if len(group) <= limit and unpinned[group].any():
                pairs = _pairs_within(group)
                out.append(pairs[unpinned[pairs[:, 0]] | unpinned[pairs[:, 1]]])
    return out


@dataclass
class _Counter:
    crowded: int = 0


def _spatial_pairs(cols: Columns, similarity: SimilarityTable, progress: Progress,
                   counter: _Counter) -> Iterator[IntArray]:
    """Pairs sharing a name token in the same or a neighbouring cell, within the radius and
    with alike names (filtered chunk by chunk: memory holds the matches, not the blocks)."""
    pinned = np.flatnonzero(~np.isnan(cols.lat) & ~np.isnan(cols.lon))
    token_ids: dict[str, int] = {}
    per_key: dict[str, list[int]] = {}
    entry_token: list[int] = []
    entry_row: list[int] = []
    for i in pinned.tolist():
        key = cols.keys[i]
        toks = per_key.get(key)
        if toks is None:
            toks = per_key[key] = [token_ids.setdefault(t, len(token_ids))
                                   for t in _tokens(key)] if key else []
        entry_token.extend(toks)
        entry_row.extend([i] * len(toks))
    if not entry_row:
        return
    row = np.asarray(entry_row, dtype=np.int64)
    tok = np.asarray(entry_token, dtype=np.int64)
    cy = np.floor(cols.lat[row] / _CELL_DEG).astype(np.int64)
    cx = np.mod(np.floor(cols.lon[row] / _CELL_DEG).astype(np.int64), _NX)

    def code(t: IntArray, y: IntArray, x: IntArray) -> IntArray:
        return (t * _NY + (y + _NY // 2)) * _NX + np.mod(x, _NX)

    codes = code(tok, cy, cx)
    _, inverse, sizes = np.unique(codes, return_inverse=True, return_counts=True)
    crowded = sizes[inverse] > MAX_BLOCK
    if crowded.any():
        counter.crowded = len(np.unique(row[crowded]))
        codes, row, tok, cy, cx = (v[~crowded] for v in (codes, row, tok, cy, cx))
        if not len(codes):
            return
    order = np.lexsort((row, codes))  # by block, then by account
    codes, row, tok, cy, cx = codes[order], row[order], tok[order], cy[order], cx[order]
    span = _span(cy)
    positions = np.arange(len(codes), dtype=np.int64)
    offsets = [(0, 0)]  # the same cell (later entries only), then the forward half
    for s in range(1, int(span.max()) + 1):
        offsets.append((0, s))
    for s in range(-int(span.max()), int(span.max()) + 1):
        offsets.append((1, s))
    for k, (dy, dx) in enumerate(offsets):
        progress(0.1 + 0.6 * k / len(offsets), "comparing names in neighbouring cells")
        use = np.abs(dx) <= span if dx else np.ones(len(codes), bool)
        home = np.flatnonzero(use)
        if not len(home):
            continue
        target = code(tok[home], cy[home] + dy, cx[home] + dx)
        lo = np.searchsorted(codes, target, "left")
        hi = np.searchsorted(codes, target, "right")
        if dy == 0 and dx == 0:
            lo = np.maximum(lo, positions[home] + 1)
        counts = np.maximum(hi - lo, 0)
        keep = counts > 0
        home, lo, counts = home[keep], lo[keep], counts[keep]
        ends = np.cumsum(counts)
        start = 0
        while start < len(home):
            base = ends[start - 1] if start else 0
            stop = int(np.searchsorted(ends, base + _CHUNK_PAIRS, "right"))
            stop = max(stop, start + 1)
            c = counts[start:stop]
            first = np.repeat(lo[start:stop] - np.cumsum(c) + c, c)
            partner = row[first + np.arange(int(c.sum()), dtype=np.int64)]
            own = np.repeat(row[home[start:stop]], c)
            a, b = np.minimum(own, partner), np.maximum(own, partner)
            near = haversine_many_m(cols.lat[a], cols.lon[a],
                                    cols.lat[b], cols.lon[b]) <= MAX_DISTANCE_M
            near &= a != b
            a, b = a[near], b[near]
            alike = similarity(a, b) >= MIN_NAME_SIMILARITY
            if alike.any():
                yield np.stack([a[alike], b[alike]], axis=1)
            start = stop


def scan(cols: Columns, dismissed: Sequence[tuple[int, int]] = (),
         progress: Progress | None = None) -> Scan:
    """Every likely duplicate pair among ``cols`` (with one account in focus), best first.

    A pair is a candidate when a phone, email or external id matches, or the names are at
    least 80 % alike and the places within 250 m, or (one without a pin) the names are at
    least 95 % alike. Pairs in ``dismissed`` (account ids, smaller first) are left out.
    """
    report = progress or (lambda fraction, message: None)
    n = len(cols.ids)
    report(0.05, f"blocking {n:,} accounts")
    address_codes = _codes(cols.address_keys)
    parts = _identifier_pairs(cols) + _unlocated_pairs(cols, _codes(cols.keys), address_codes)
    similarity_of = SimilarityTable(cols.keys)
    counter = _Counter()
    parts.extend(_spatial_pairs(cols, similarity_of, report, counter))
    report(0.75, "scoring the pairs found")
    if parts:
        both = np.concatenate([p for p in parts if len(p)] or [np.empty((0, 2), np.int64)])
        unique = np.unique(both[:, 0] * max(n, 1) + both[:, 1])
        a, b = unique // max(n, 1), unique % max(n, 1)
    else:
        a = b = np.empty(0, np.int64)
    keep = cols.focus[a] | cols.focus[b]
    if len(dismissed) and len(a):
        index = {int(v): i for i, v in enumerate(cols.ids.tolist())}
        gone = np.array([index[x] * n + index[y] for x, y in dismissed
                         if x in index and y in index], dtype=np.int64)
        keep &= ~np.isin(a * n + b, gone)
    a, b = a[keep], b[keep]
    why = np.zeros(len(a), dtype=np.int64)
    for bit, values in ((WHY_PHONE, cols.phones), (WHY_EMAIL, cols.emails),
                        (WHY_EXTERNAL, cols.external_ids)):
        c = _codes(values)
        why |= np.where((c[a] != 0) & (c[a] == c[b]), bit, 0)
    why |= np.where((address_codes[a] != 0) & (address_codes[a] == address_codes[b]),
                    WHY_ADDRESS, 0)
    distance = haversine_many_m(cols.lat[a], cols.lon[a],
                                cols.lat[b], cols.lon[b])
    similarity = similarity_of(a, b)
    located = ~np.isnan(distance)
    alike = (located & (distance <= MAX_DISTANCE_M) & (similarity >= MIN_NAME_SIMILARITY)) | (
        ~located & (similarity >= MIN_NAME_SIMILARITY_UNLOCATED))
    ids = (why & WHY_IDENTIFIERS) != 0
    keep = ids | alike
    a, b, why, distance, similarity, ids = (a[keep], b[keep], why[keep], distance[keep],
                                            similarity[keep], ids[keep])
    proximity = np.where(np.isnan(distance), 0.0,
                         np.maximum(0.0, 1.0 - np.nan_to_num(distance) / MAX_DISTANCE_M))
    score = np.round(0.5 * similarity + 0.2 * proximity + np.where(ids, 0.3, 0.0), 3)
    a_ids, b_ids = cols.ids[a], cols.ids[b]
    order = np.lexsort((b_ids, a_ids, -score))
    report(0.95, f"{len(order):,} likely pairs")
    names = {int(cols.ids[i]): cols.names[i] for i in np.union1d(a, b).tolist()}
    return Scan(a_ids[order], b_ids[order], score[order], np.round(similarity[order], 3),
                np.round(distance[order], 1), why[order], n, names, counter.crowded)

__all__ = [
    "MAX_BLOCK", "MAX_DISTANCE_M", "MAX_IDENTIFIER_GROUP", "MAX_UNLOCATED_NAME_GROUP",
    "MIN_NAME_SIMILARITY", "MIN_NAME_SIMILARITY_UNLOCATED", "WHY_ADDRESS", "WHY_EMAIL",
    "WHY_EXTERNAL", "WHY_IDENTIFIERS", "WHY_PHONE", "Columns", "IntArray", "Progress", "Scan",
    "normalise_email", "normalise_phone", "scan",
]
