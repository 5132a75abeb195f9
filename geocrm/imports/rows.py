"""Validating rows: every cell through the account rules, and swapped coordinates.

A cell is judged by :mod:`geocrm.core.accounts` exactly as the form and the API judge
it; what only a whole file can tell (a point far from the others that would sit among
them swapped) is checked here.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np
from sqlalchemy import select

from geocrm.core.accounts import (
    ADDRESS_FIELDS,
    check_coordinates,
    clean_field,
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


# Columns whose cells repeat all over a file (a stage, the same hours, a postcode): each
# distinct value is judged once. Only verdicts are remembered (an error is raised anew,
# in the current language), and the cleaned values are immutable, so sharing is safe.
_REPEATING = frozenset({"city", "postcode", "opening_hours", "stage", "visit_minutes",
                        "cadence_days", "priority", "category", "country", "region",
                        "district", "required_skills"})


@functools.lru_cache(maxsize=16384)
def _clean_repeating(key: str, raw: str) -> Any:
    return clean_field(key, raw)


@functools.lru_cache(maxsize=4096)
def _tags(raw: str) -> tuple[str, ...]:
    return tuple(sorted({t.strip()[:60] for t in re.split(r"[;,|]", raw) if t.strip()}))


def clean_row(raw: dict[str, str], row: int, rejects: list[Reject], *,
              addresses: dict[tuple[Any, ...], tuple[Any, ...]] | None = None,
              ) -> dict[str, Any] | None:
    """Validate one row (target field -> text); ``None`` and rejects appended when invalid.

    Each cell goes through the account rules (:mod:`geocrm.core.accounts`), the same as
    the form and the API, and every bad cell of the row is reported, not just the first.
    ``addresses`` remembers, for one file, what :func:`new_address` made of each distinct
    address (a register repeats its street addresses: one per floor, shop...).
    """
    before = len(rejects)

    def bad(fieldname: str, reason: str) -> None:
        rejects.append(Reject(row, fieldname, reason, (raw.get(fieldname) or "")[:200]))

    if max(map(len, raw.values()), default=0) > MAX_FIELD:
        for key, value in raw.items():
            if len(value) > MAX_FIELD:
                bad(key, f"is longer than {MAX_FIELD} characters")
                raw[key] = ""
    out: dict[str, Any] = dict.fromkeys(_ROW_FIELDS)
    for key in _ROW_FIELDS:
        if key in raw:
            try:
                value = raw[key]
                out[key] = (_clean_repeating(key, value) if key in _REPEATING
                            and type(value) is str else clean_field(key, value))
            except ValidationError as err:
                bad(err.field, err.reason)
    out["lat"] = out["lon"] = None
    lat, lon = raw.get("lat"), raw.get("lon")
    flat = flon = math.nan
    if type(lat) is str and type(lon) is str:
        try:  # the common case, two plain numbers in range, without the rule's checks
            flat, flon = float(lat), float(lon)
        except ValueError:
            pass
    if -90 <= flat <= 90 and -180 <= flon <= 180 and (flat or flon):
        out["lat"], out["lon"] = flat, flon
    else:  # blank, a decimal comma, out of range, 0,0...: the rule says what and why
        try:
            coords = check_coordinates(lat, lon, row=row)
        except ValidationError as err:
            bad(err.field, err.reason)
        else:
            if coords:
                out["lat"], out["lon"] = coords
    tags = raw.get("tags", "")
    out["tags"] = list(_tags(tags))  # a list of its own: the writer pops and keeps it
    # The one line and the parts made consistent (a Korean or Japanese line split into
    # parts the file lacks; parts without a line make the line) before the keys.
    line = out["address"]
    if line and line.isascii() and not out["country"]:
        pass  # a Latin one-line address is kept as it is (new_address would not touch it)
    elif addresses is None:
        new_address(out)
    else:
        key = tuple(map(out.__getitem__, ADDRESS_FIELDS))
        made = addresses.get(key)
        if made is None:
            new_address(out)
            made = addresses[key] = tuple(map(out.__getitem__, ADDRESS_FIELDS))
        else:
            out.update(zip(ADDRESS_FIELDS, made, strict=True))
    out["name_key"] = normalise_name(out["name"])
    out["address_key"] = normalise_address(out["address"])
    out["reading_key"] = normalise_reading(out["name_reading"])
    return out if len(rejects) == before else None


# -- swapped coordinates ----------------------------------------------------------------
def _reference_points(cleaned: list[tuple[int, dict[str, Any]]]) -> list[tuple[float, float]]:
    """Where this file's and this company's accounts are: the file median, the company median."""
    refs = []
    coords = [(r["lat"], r["lon"]) for _, r in cleaned if r.get("lat") is not None]
    if len(coords) >= 3:
        lats, lons = sorted(c[0] for c in coords), sorted(c[1] for c in coords)
        refs.append((lats[len(lats) // 2], lons[len(lons) // 2]))
    known = db.session.execute(
        select(Account.lat, Account.lon).where(Account.lat.is_not(None)).limit(2000)
    ).all()
    if known:
        lats, lons = sorted(k[0] for k in known), sorted(k[1] for k in known)
        refs.append((lats[len(lats) // 2], lons[len(lons) // 2]))
    return refs


def reject_swapped(cleaned: list[tuple[int, dict[str, Any]]], rejects: list[Reject]) -> None:
    """Reject rows whose coordinates land far away but near home once swapped.

    Latitude 24.9, longitude 60.2 is a valid point (in the Arabian Sea): range checks cannot
    catch a swap in Helsinki. A point more than 500 km from where the file's (or the
    company's) accounts are, that swapped lies within 100 km of it, is a swap.
    """
    refs = _reference_points(cleaned)
    located = [(i, r["lat"], r["lon"]) for i, (_, r) in enumerate(cleaned)
               if r.get("lat") is not None]
    if not refs or not located:
        return
    idx = np.array([p[0] for p in located])
    lats = np.array([p[1] for p in located])
    lons = np.array([p[2] for p in located])
    swapped = np.zeros(len(located), dtype=bool)
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
