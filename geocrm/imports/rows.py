"""Validating rows: every cell through the account rules, and swapped coordinates.

A cell is judged by :mod:`geocrm.core.accounts` exactly as the form and the API judge
it; what only a whole file can tell (a point far from the others that would sit among
them swapped) is checked here.

Rows are cleaned a column at a time (:func:`clean_rows`): a register repeats its values
(a stage, the same hours, a chain's name, a street address), so each distinct value of a
column goes through its rule once and the verdict is shared by every cell holding it.
:func:`clean_row` is the same code for one row (the API's records, a prospect), so the
preview, the import and every other caller judge a cell alike.
"""

from __future__ import annotations

import functools
import math
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import select

from geocrm.core.accounts import (
    ADDRESS_FIELDS,
    check_coordinates,
    clean_field,
    clean_texts,
    new_address,
    normalise_address,
    normalise_name,
)
from geocrm.core.names import normalise_reading
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports.results import Reject
from geocrm.models import (
    Account,
)
from geocrm.spatial import haversine_many_m

MAX_FIELD = 10_000


# Every column a row may fill, with None when the file has no such column.
_ROW_FIELDS = ("name", "address", "city", "postcode", "phone", "email", "website",
               "opening_hours", "stage", "value", "visit_minutes", "cadence_days", "priority",
               "category", "external_id", "name_reading", "country", "region", "district",
               "street", "housenumber", "building", "required_skills")
# A cleaned row's keys, in order: the fields, the pin, the tags and the comparison keys.
_ROW_KEYS = (*_ROW_FIELDS, "lat", "lon", "tags", "name_key", "address_key", "reading_key")
_BLANK_ROW: dict[str, Any] = dict.fromkeys(_ROW_KEYS)


@functools.lru_cache(maxsize=4096)
def _tags(raw: str) -> tuple[str, ...]:
    return tuple(sorted({t.strip()[:60] for t in re.split(r"[;,|]", raw) if t.strip()}))


def clean_row(raw: dict[str, Any], row: int, rejects: list[Reject], *,
              addresses: dict[tuple[Any, ...], tuple[Any, ...]] | None = None,
              ) -> dict[str, Any] | None:
    """Validate one row (target field -> text); ``None`` and rejects appended when invalid.

    :func:`clean_rows` with a row of one: the same rules, the same messages.
    """
    return clean_rows({k: [v] for k, v in raw.items()}, [row], rejects,
                      addresses=addresses)[0]


class _Rows:
    """The rejects of :func:`clean_rows` as they are found, and which rows they refuse."""

    def __init__(self, columns: Mapping[str, Sequence[Any]], numbers: Sequence[int],
                 rejects: list[Reject]) -> None:
        self.raw, self.numbers, self.rejects = columns, numbers, rejects
        self.refused: set[int] = set()

    def bad(self, i: int, fieldname: str, reason: str) -> None:
        """Row ``i`` (an index) is refused for ``fieldname``, whose raw cell is reported."""
        column = self.raw.get(fieldname)
        value = column[i] if column is not None else None
        self.rejects.append(Reject(self.numbers[i], fieldname, reason, (value or "")[:200]))
        self.refused.add(i)


@dataclass(frozen=True)
class Cleaned:
    """A file's rows after :func:`clean_columns`: every row key's column (one value per
    row), which keys no column of the file fills (None in every row), and which rows were
    refused.

    The rows themselves are dicts (:meth:`rows`) for the matcher; the writer takes a new
    account's values straight from the columns (:meth:`take`), without reading 100,000
    dicts back into columns or scanning the keys that are None everywhere.
    """

    columns: Mapping[str, Sequence[Any]]
    blank: frozenset[str]
    numbers: Sequence[int]
    refused: frozenset[int]

    def rows(self) -> list[dict[str, Any] | None]:
        """One dict per row (every key, in the order of ``_ROW_KEYS``), None where refused;
        built in C calls: a copy of a row of Nones, then the columns the file fills."""
        rows: list[dict[str, Any] | None] = list(map(dict.copy,
                                                     repeat(_BLANK_ROW, len(self.numbers))))
        filled = [k for k in _ROW_KEYS if k not in self.blank]
        if filled:
            deque(map(dict.update, rows, map(zip, repeat(filled), zip(
                *(self.columns[k] for k in filled), strict=True))), maxlen=0)
        for i in self.refused:
            rows[i] = None
        return rows

    def take(self, numbers: Sequence[int]) -> dict[str, Sequence[Any]] | None:
        """The filled columns at the rows numbered ``numbers`` (in that order), or None
        when the rows are not numbered one after another (then only the dicts can say)."""
        first = self.numbers[0] if self.numbers else 0
        if not isinstance(self.numbers, range) or self.numbers.step != 1 or not numbers:
            return None
        positions = [n - first for n in numbers]
        if len(positions) == 1:
            return {k: [c[positions[0]]] for k, c in self.columns.items()
                    if k not in self.blank}
        pick = itemgetter(*positions)
        return {k: pick(c) for k, c in self.columns.items() if k not in self.blank}


def clean_rows(columns: Mapping[str, Sequence[Any]], numbers: Sequence[int],
               rejects: list[Reject], *,
               addresses: dict[tuple[Any, ...], tuple[Any, ...]] | None = None,
               ) -> list[dict[str, Any] | None]:
    """Validate rows given as columns: :func:`clean_columns`, as one dict per row (None
    where refused)."""
    return clean_columns(columns, numbers, rejects, addresses=addresses).rows()


def clean_columns(columns: Mapping[str, Sequence[Any]], numbers: Sequence[int],
                  rejects: list[Reject], *,
                  addresses: dict[tuple[Any, ...], tuple[Any, ...]] | None = None,
                  ) -> Cleaned:
    """Validate rows given as columns (target field -> its cells, one per row; ``numbers``
    the rows' numbers for the report): each row cleaned, or refused with its rejects
    appended.

    Each cell goes through the account rules (:mod:`geocrm.core.accounts`), the same as
    the form and the API, and every bad cell of a row is reported, not just the first
    (rejects come field by field: sorted by row, as the import does, they read row by row
    in the order a row was always checked). ``addresses`` remembers, across calls, what
    :func:`new_address` made of each distinct address (a register repeats its street
    addresses: one per floor, shop...).
    """
    n = len(numbers)
    found = _Rows(dict(columns), numbers, rejects)
    raw = found.raw
    for key, column in list(raw.items()):  # first: cells too long to judge
        if max(map(len, column), default=0) > MAX_FIELD:
            column = raw[key] = list(column)
            for i, value in enumerate(column):
                if len(value) > MAX_FIELD:
                    found.bad(i, key, f"is longer than {MAX_FIELD} characters")
                    column[i] = ""
    nothing: Sequence[Any] = [None] * n  # every key no column fills: this one list
    out: dict[str, Sequence[Any]] = dict.fromkeys(_ROW_KEYS, nothing)
    for key in _ROW_FIELDS:
        if key in raw:
            out[key] = _clean_column(key, raw[key], found)
    if "lat" in raw or "lon" in raw:  # one without the other: every row says so
        out["lat"], out["lon"] = _clean_pins(raw.get("lat", nothing), raw.get("lon", nothing),
                                             found)
    tags = raw.get("tags")
    # A list of its own per row.
    out["tags"] = [list(_tags(t)) for t in tags] if tags is not None else [[] for _ in nothing]
    if any(key in raw for key in ADDRESS_FIELDS):
        _settle_addresses(out, {} if addresses is None else addresses)
    for key, rule, of in (("name_key", normalise_name, "name"),
                          ("address_key", normalise_address, "address"),
                          ("reading_key", normalise_reading, "name_reading")):
        if out[of] is not nothing:
            out[key] = _keys(rule, out[of])
        elif rule(None) is not None:  # a rule that makes something of nothing
            out[key] = [rule(None)] * n
    return Cleaned(out, frozenset(k for k in _ROW_KEYS if out[k] is nothing), numbers,
                   frozenset(found.refused))


def _clean_column(key: str, column: Sequence[Any], found: _Rows) -> list[Any]:
    """One field's cells through its rule: a plain text field's column at once
    (:func:`clean_texts`), else each distinct text once (every cell of a file is text;
    other values, an API record's numbers, are judged one by one, as ``1`` and ``True``
    would be one key)."""
    if set(map(type, column)) <= {str}:
        texts = clean_texts(key, column)
        if texts is not None:
            return texts
        verdicts: dict[Any, Any] = {}
        errors: dict[Any, ValidationError] = {}
        for value in dict.fromkeys(column):
            try:
                verdicts[value] = clean_field(key, value)
            except ValidationError as err:
                errors[value] = err
        cleaned = list(map(verdicts.get, column))
        if errors:
            for i, value in enumerate(column):
                err = errors.get(value)
                if err is not None:
                    found.bad(i, err.field, err.reason)
        return cleaned
    cleaned = []
    for i, value in enumerate(column):
        try:
            cleaned.append(clean_field(key, value))
        except ValidationError as err:
            found.bad(i, err.field, err.reason)
            cleaned.append(None)
    return cleaned


def _clean_pins(lats: Sequence[Any], lons: Sequence[Any],
                found: _Rows) -> tuple[list[float | None], list[float | None]]:
    """Latitude and longitude, checked as a pair (:func:`check_coordinates`)."""
    out_lat: list[float | None] = [None] * len(lats)
    out_lon: list[float | None] = [None] * len(lats)
    for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
        flat = flon = math.nan
        if type(lat) is str and type(lon) is str:
            try:  # the common case, two plain numbers in range, without the rule's checks
                flat, flon = float(lat), float(lon)
            except ValueError:
                pass
        if -90 <= flat <= 90 and -180 <= flon <= 180 and (flat or flon):
            out_lat[i], out_lon[i] = flat, flon
            continue
        try:  # blank, a decimal comma, out of range, 0,0...: the rule says what and why
            coords = check_coordinates(lat, lon, row=found.numbers[i])
        except ValidationError as err:
            found.bad(i, err.field, err.reason)
        else:
            if coords:
                out_lat[i], out_lon[i] = coords
    return out_lat, out_lon


def _settle_addresses(out: dict[str, Sequence[Any]],
                      memo: dict[tuple[Any, ...], tuple[Any, ...]]) -> None:
    """The one line and the parts made consistent (a Korean or Japanese line split into
    parts the file lacks; parts without a line make the line), each distinct address once.

    A Latin one-line address without a country is kept as it is (:func:`new_address` would
    not touch it).
    """
    columns = [out[f] for f in ADDRESS_FIELDS]
    changed: list[tuple[int, tuple[Any, ...]]] = []
    for i, key in enumerate(zip(*columns, strict=True)):
        line = key[0]
        if line and not key[1] and line.isascii():
            continue
        made = memo.get(key)
        if made is None:
            general = _any_postcode(key)
            if general is None:
                made = memo[key] = _settled(key)
            else:  # the street address settled once, whatever its postcode
                shape = memo.get(general)
                if shape is None:
                    shape = memo[general] = _settled(key)
                made = (*shape[:_POSTCODE], key[_POSTCODE], *shape[_POSTCODE + 1:])
        if made != key:
            changed.append((i, made))
    if changed:  # a new list for each field some address changed; the rest stay as they are
        lists: dict[int, list[Any]] = {}
        for i, made in changed:
            for at, (old, value) in enumerate(zip(columns, made, strict=True)):
                if value is not old[i] and value != old[i]:
                    column = lists.get(at)
                    if column is None:
                        column = lists[at] = list(old)
                    column[i] = value
        out.update((ADDRESS_FIELDS[at], column) for at, column in lists.items())


_POSTCODE, _REGION, _CITY = (ADDRESS_FIELDS.index(f) for f in ("postcode", "region", "city"))
_ANY_POSTCODE = object()  # in a memo key: any postcode of plain digits (see _any_postcode)


def _settled(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`new_address` of one address (``ADDRESS_FIELDS`` values) as a tuple."""
    scratch = dict(zip(ADDRESS_FIELDS, key, strict=True))
    new_address(scratch)
    return tuple(map(scratch.__getitem__, ADDRESS_FIELDS))


def _any_postcode(key: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The memo key of an address whose settling cannot depend on its postcode, or None.

    A register repeats a street address with other postcodes (one per building, or typed
    differently); then :func:`new_address` answers alike for all of them when the one line
    is given, there is no region or city it could be rebuilt from (the only way the
    postcode enters the line), and the postcode is plain ASCII digits not seven long (it
    is kept as given, and the script guess, which reads it first, sees nothing in it: only
    a Japanese 〒123-4567 shape may stand before a prefecture).
    """
    postcode = key[_POSTCODE]
    if (not key[0] or not postcode or key[_REGION] or key[_CITY] or not postcode.isascii()
            or not postcode.isdigit() or len(postcode) == 7):
        return None
    return (*key[:_POSTCODE], _ANY_POSTCODE, *key[_POSTCODE + 1:])


def _keys(rule: Any, column: Sequence[Any]) -> list[Any]:
    """A comparison key of every cell (cleaned text or None), each distinct text once."""
    keys = {value: rule(value) for value in dict.fromkeys(column)}
    return list(map(keys.__getitem__, column))


# -- swapped coordinates ----------------------------------------------------------------
def _pins(cleaned: list[tuple[int, dict[str, Any]]]) -> tuple[np.ndarray, np.ndarray]:
    """Every row's latitude and longitude as arrays, NaN where the row has no pin."""
    nan = math.nan
    lats = np.fromiter((nan if (v := r.get("lat")) is None else v for _, r in cleaned),
                       np.float64, len(cleaned))
    lons = np.fromiter((nan if (v := r.get("lon")) is None else v for _, r in cleaned),
                       np.float64, len(cleaned))
    return lats, lons


def _median(values: np.ndarray) -> float:
    """The upper median (the middle of an odd count, the later middle of an even one)."""
    middle = len(values) // 2
    return float(np.partition(values, middle)[middle])


def _reference_points(lats: np.ndarray, lons: np.ndarray) -> list[tuple[float, float]]:
    """Where this file's and this company's accounts are: the file median (of ``lats`` and
    ``lons``, the file's pins), the company median."""
    refs = []
    if len(lats) >= 3:
        refs.append((_median(lats), _median(lons)))
    known = db.session.execute(
        select(Account.lat, Account.lon).where(Account.lat.is_not(None)).limit(2000)
    ).all()
    if known:
        refs.append((_median(np.array([k[0] for k in known], np.float64)),
                     _median(np.array([k[1] for k in known], np.float64))))
    return refs


def reject_swapped(cleaned: list[tuple[int, dict[str, Any]]], rejects: list[Reject]) -> None:
    """Reject rows whose coordinates land far away but near home once swapped.

    Latitude 24.9, longitude 60.2 is a valid point (in the Arabian Sea): range checks cannot
    catch a swap in Helsinki. A point more than 500 km from where the file's (or the
    company's) accounts are, that swapped lies within 100 km of it, is a swap.
    """
    all_lats, all_lons = _pins(cleaned)
    idx = np.flatnonzero(~np.isnan(all_lats))
    lats, lons = all_lats[idx], all_lons[idx]
    refs = _reference_points(lats, lons)
    if not refs or not len(idx):
        return
    swapped = np.zeros(len(idx), dtype=bool)
    can_swap = np.abs(lons) <= 90
    for rlat, rlon in refs:
        far = haversine_many_m(rlat, rlon, lats, lons) > 500_000
        near_swapped = haversine_many_m(rlat, rlon, np.where(can_swap, lons, 0.0), lats) < 100_000
        swapped |= far & near_swapped & can_swap
    if not swapped.any():
        return
    bad_rows = set(idx[swapped].tolist())
    for i in sorted(bad_rows):
        number, row = cleaned[i]
        rejects.append(Reject(number, "lat", f"{row['lat']}, {row['lon']} is far from the other "
                              "accounts; latitude and longitude look swapped", f"{row['lat']}"))
    cleaned[:] = [c for i, c in enumerate(cleaned) if i not in bad_rows]
