"""Importing accounts from CSV: mapping, row validation, duplicates, snapshots, fast writes.

One function, :func:`import_accounts`, serves the upload page, the CLI and jobs. The rules:

* **All or nothing per file.** Every row is validated first; if any row is rejected, nothing
  is written and the result carries a reject report naming row, field and reason. Row
  numbers are the file's line numbers as a spreadsheet shows them (the header is row 1).
* **Duplicates are reported, never doubled.** A row is the same account as an existing one
  (or an earlier row of the file) when it has the same external id within the source, or the
  same normalised name within 50 m, or the same normalised address and a similar name. A
  match updates the existing account when the data differs and is counted unchanged when it
  does not; within the file the first row wins and later ones are reported. Two differently
  named businesses at one address are both kept, and reported as a possible duplicate.
* **Re-importing the same file changes nothing**: every row matches and nothing differs, so
  no version bump and no audit noise.
* **Snapshots** (``snapshot=True``): accounts of this source that the file no longer has
  are flagged ``missing_since`` (never deleted); accounts that come back are unflagged.
* **Fast**: existing keys are read in one query, rows are written with executemany, the
  territory assignment is vectorised, and the 50 m test uses a grid hash, not pairs.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update

from geocrm.bulk import bulk_insert
from geocrm.core.accounts import (
    check_coordinates,
    clean_field,
    normalise_address,
    normalise_name,
)
from geocrm.core.assignment import moves_for_points, record_moves
from geocrm.core.names import similar_names
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports import sources
from geocrm.imports.guessing import check_guess
from geocrm.models import (
    Account,
    AssignmentHistory,
    AuditEntry,
    ImportBatch,
    Stage,
    Tag,
    Territory,
    User,
    account_tags,
    utcnow,
)
from geocrm.models.crm import AccountMerge
from geocrm.spatial import assign_points, haversine_many_m

MAX_FIELD = 10_000
_NO_FIELDS: dict[str, Any] = {}  # one shared object, so the bulk writer converts it once
DUPLICATE_METRES = 50.0

# Target field -> header names we recognise (compared case- and punctuation-insensitively).
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "company", "company name", "business", "store name", "account", "nimi",
             "yritys", "account name", "applicant",
             "사업장명", "상호", "상호명", "업소명", "업체명", "이름",  # Korean registers
             "店名", "名称", "名前", "事業所名", "施設名", "会社名", "店舗名"),  # Japanese
    "external_id": ("external id", "external_id", "id", "record id", "store id", "objectid",
                    "permit", "locationid", "tunnus", "관리번호", "管理番号", "番号"),
    "address": ("address", "street", "street address", "store street address", "osoite",
                "katuosoite", "address line 1", "addr", "도로명주소", "소재지도로명주소", "주소",
                "지번주소", "住所", "所在地"),
    "city": ("city", "town", "kaupunki", "municipality", "kunta", "시군구", "市区町村名",
             "市区町村"),
    "postcode": ("postcode", "zip", "zip code", "zip5", "postal code", "postinumero",
                 "도로명우편번호", "우편번호", "郵便番号"),
    # Korean LOCALDATA's 좌표정보(X)/(Y) are grid metres: the checked guess makes them x/y.
    "lat": ("lat", "latitude", "y", "leveysaste", "위도", "緯度", "좌표정보(y)"),
    "lon": ("lon", "lng", "long", "longitude", "x", "pituusaste", "경도", "経度", "좌표정보(x)"),
    "stage": ("stage", "status", "vaihe"),
    "phone": ("phone", "telephone", "tel", "puhelin", "전화번호", "電話番号"),
    "email": ("email", "e-mail", "sähköposti", "sahkoposti"),
    "website": ("website", "web", "url", "www"),
    "opening_hours": ("opening hours", "opening_hours", "hours", "aukioloajat"),
    "tags": ("tags", "labels", "tunnisteet"),
    "value": ("value", "revenue", "annual value", "arvo"),
    "visit_minutes": ("visit minutes", "visit duration", "duration"),
    "cadence_days": ("cadence days", "cadence", "visit every days"),
    "priority": ("priority", "prioriteetti"),
    "category": ("category", "type", "store type", "segment", "facilitytype", "kategoria"),
}
COMPARED = ("name", "address", "city", "postcode", "lat", "lon", "stage", "phone", "email",
            "website", "opening_hours", "value", "visit_minutes", "cadence_days", "priority",
            "category")


@dataclass
class Reject:
    """One reason a row cannot be imported."""

    row: int
    field: str
    reason: str
    value: str = ""


@dataclass
class Duplicate:
    """A row that is the same account as another row or an existing account."""

    row: int
    rule: str  # external_id / merged_into / name_within_50m / address / same_address_other_name
    other: str  # "row 7" or "account 123 'Name'"
    name: str


@dataclass
class ImportResult:
    """What an import did, or would have done (``status`` says which)."""

    status: str  # committed / rejected / unchanged
    filename: str
    sha256: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged_missing: int = 0
    unflagged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    batch_id: int | None = None
    seen_before: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "flagged_missing": self.flagged_missing,
            "unflagged": self.unflagged, "rejected": len({r.row for r in self.rejects}),
            "duplicates": len(self.duplicates),
        }

    def reject_report_csv(self) -> str:
        """The reject report as CSV: row, field, reason, value."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "field", "reason", "value"])
        for r in self.rejects:
            writer.writerow([r.row, r.field, r.reason, r.value])
        return out.getvalue()

    def duplicates_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "name", "rule", "same as"])
        for d in self.duplicates:
            writer.writerow([d.row, d.name, d.rule, d.other])
        return out.getvalue()


# -- reading ------------------------------------------------------------------------------
def _key(header: str) -> str:
    """A header compared case- and punctuation-insensitively, letters of every script kept."""
    return re.sub(r"[\W_]+", " ", header.casefold()).strip()


def read_table(data: bytes, notes: list[str] | None = None, *, filename: str = "",
               encoding: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a CSV (any delimiter, detected encoding) or .xlsx file.

    The reading rules live in :mod:`geocrm.imports.sources`; ``encoding`` overrides the
    detected one. Raises :class:`ValidationError` on an empty file, a file with no data
    rows, duplicate or blank header names, and bytes that do not fit the encoding.
    """
    table = sources.read_source(data, filename, encoding=encoding)
    if notes is not None:
        notes.extend(table.notes)
    return table.headers, table.rows


def guess_mapping(headers: Iterable[str]) -> dict[str, str]:
    """Target field -> header, from common header names (English and Finnish)."""
    by_key = {_key(h): h for h in headers}
    mapping: dict[str, str] = {}
    for target, aliases in FIELDS.items():
        for alias in aliases:
            header = by_key.get(_key(alias))
            if header is not None and header not in mapping.values():
                mapping[target] = header
                break
    return mapping


def check_mapping(mapping: Mapping[str, str], headers: list[str]) -> dict[str, str]:
    """Validate a mapping: known targets, headers that exist, a name, both coordinates or none."""
    clean = {k: v for k, v in mapping.items() if v}
    for target, header in clean.items():
        if target not in FIELDS:
            raise ValidationError("mapping", f"unknown field {target!r}")
        if header not in headers:
            raise ValidationError("mapping", f"{target} is mapped to {header!r}, not in the file")
    if "name" not in clean:
        raise ValidationError("mapping", "no column is mapped to name")
    if ("lat" in clean) != ("lon" in clean):
        raise ValidationError("mapping", "map both lat and lon, or neither")
    return clean


# -- validating ---------------------------------------------------------------------------
# Every column a row may fill, with None when the file has no such column.
_ROW_FIELDS = ("name", "address", "city", "postcode", "phone", "email", "website",
               "opening_hours", "stage", "value", "visit_minutes", "cadence_days", "priority",
               "category", "external_id")


def clean_row(raw: dict[str, str], row: int, rejects: list[Reject]) -> dict[str, Any] | None:
    """Validate one row (target field -> text); ``None`` and rejects appended when invalid.

    Each cell goes through the account rules (:mod:`geocrm.core.accounts`), the same as
    the form and the API, and every bad cell of the row is reported, not just the first.
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
                out[key] = clean_field(key, raw[key])
            except ValidationError as err:
                bad(err.field, err.reason)
    out["lat"] = out["lon"] = None
    try:
        coords = check_coordinates(raw.get("lat"), raw.get("lon"), row=row)
    except ValidationError as err:
        bad(err.field, err.reason)
    else:
        if coords:
            out["lat"], out["lon"] = coords
    tags = raw.get("tags", "")
    out["tags"] = sorted({t.strip()[:60] for t in re.split(r"[;,|]", tags) if t.strip()})
    out["name_key"] = normalise_name(out["name"])
    out["address_key"] = normalise_address(out["address"])
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


def _reject_swapped(cleaned: list[tuple[int, dict[str, Any]]], rejects: list[Reject]) -> None:
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


# -- duplicates ---------------------------------------------------------------------------
class _Grid:
    """Points grouped by normalised name, for the 'same name within 50 m' rule.

    Most names are unique, so a name's list is short and scanning it beats any spatial
    structure. Distances at this scale are planar in a local equirectangular frame (error far
    below a metre over 50 m).
    """

    def __init__(self, ref_lat: float) -> None:
        self.kx = 111_320.0 * math.cos(math.radians(ref_lat))
        self.ky = 110_540.0
        self.by_name: dict[str, list[tuple[float, float, Any]]] = {}

    def add(self, name_key: str, lat: float, lon: float, item: Any) -> None:
        self.by_name.setdefault(name_key, []).append((lon * self.kx, lat * self.ky, item))

    def find(self, name_key: str, lat: float, lon: float) -> Any | None:
        points = self.by_name.get(name_key)
        if not points:
            return None
        x, y = lon * self.kx, lat * self.ky
        limit = DUPLICATE_METRES * DUPLICATE_METRES
        for px, py, item in points:
            if (px - x) ** 2 + (py - y) ** 2 <= limit:
                return item
        return None


# -- the import ---------------------------------------------------------------------------
def import_accounts(
    data: bytes,
    *,
    filename: str,
    user: User | None = None,
    source: str = "import",
    mapping: Mapping[str, str] | None = None,
    snapshot: bool = False,
    dry_run: bool = False,
    encoding: str | None = None,
    crs: str | None = None,
) -> ImportResult:
    """Import a CSV file of accounts; see the module docstring for the rules.

    File-level problems (empty file, bad header, bad mapping) raise :class:`ValidationError`;
    row-level problems come back as ``result.rejects`` with ``status == "rejected"`` and
    nothing written. ``encoding`` overrides the detected one; ``crs`` is the coordinate
    system of columns mapped as ``x``/``y`` (required with them, never guessed).
    """
    source = (source or "import").strip()[:40]
    # Hundreds of thousands of short-lived dicts would trigger the cyclic garbage collector
    # over and over (seconds at 100k rows); nothing here makes reference cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(data, filename=filename, user=user, source=source, mapping=mapping,
                       snapshot=snapshot, dry_run=dry_run, encoding=encoding, crs=crs)
    finally:
        if gc_was_enabled:
            gc.enable()


def _import(
    data: bytes,
    *,
    filename: str,
    user: User | None,
    source: str,
    mapping: Mapping[str, str] | None,
    snapshot: bool,
    dry_run: bool,
    encoding: str | None = None,
    crs: str | None = None,
) -> ImportResult:
    sha = hashlib.sha256(data).hexdigest()
    result = ImportResult(status="rejected", filename=filename[:255], sha256=sha)
    headers, table = read_table(data, result.notes, filename=filename, encoding=encoding)
    if mapping is None:  # a guess is checked against the data; a person's mapping is not
        guess = check_guess(guess_mapping(headers), headers, table)
        mapping = guess.mapping
        result.notes.extend(guess.reasons.values())
    headers, table, mapping = sources.project_grid(
        headers, table, mapping, crs, lambda *r: result.rejects.append(Reject(*r)))
    result.mapping = check_mapping(mapping, headers)
    result.rows = len(table)
    index = {h: i for i, h in enumerate(headers)}
    columns = [(target, index[h]) for target, h in result.mapping.items()]
    cleaned: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(table, start=2):
        raw = {t: (cells[i] if i < len(cells) else "") for t, i in columns}
        row = clean_row(raw, number, result.rejects)
        if row is not None:
            cleaned.append((number, row))
    _reject_swapped(cleaned, result.rejects)
    if result.rejects:
        result.rejects.sort(key=lambda r: r.row)
        return result
    result.seen_before = (
        db.session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == sha).limit(1))
        is not None
    )
    _apply(cleaned, result, user=user, source=source, snapshot=snapshot, dry_run=dry_run)
    return result


_EXISTING_COLUMNS = (
    Account.id, Account.source, Account.external_id, Account.name_key, Account.address_key,
    Account.missing_since, Account.version, Account.territory_id,
    *(getattr(Account, c) for c in COMPARED),
)


def _apply(
    cleaned: list[tuple[int, dict[str, Any]]],
    result: ImportResult,
    *,
    user: User | None,
    source: str,
    snapshot: bool,
    dry_run: bool,
) -> None:
    # Core, not ORM: plain rows are all we need, and ORM loading costs seconds at 100k.
    result_rows = db.session.connection().execute(select(*_EXISTING_COLUMNS))
    keys = list(result_rows.keys())
    existing = [dict(zip(keys, r, strict=True)) for r in result_rows]
    by_ext = {(e["source"], e["external_id"]): e for e in existing if e["external_id"]}
    # A record merged away into another account must not come back with the next import of
    # its source system: it lands on the survivor instead (the merge kept its source key).
    by_id = {e["id"]: e for e in existing}
    merged_into = {
        (m_source, m_ext): by_id[survivor]
        for m_source, m_ext, survivor in db.session.connection().execute(
            select(AccountMerge.merged_source, AccountMerge.merged_external_id,
                   AccountMerge.survivor_id)
            .where(AccountMerge.merged_external_id.is_not(None))
            .order_by(AccountMerge.id)
        )
        if survivor in by_id
    }
    by_address: dict[str, list[dict[str, Any]]] = {}
    lats = [r["lat"] for _, r in cleaned if r.get("lat") is not None]
    grid = _Grid(sum(lats) / len(lats) if lats else 45.0)
    for e in existing:
        if e["lat"] is not None and e["name_key"]:
            grid.add(e["name_key"], e["lat"], e["lon"], ("account", e))
        if e["address_key"]:
            by_address.setdefault(e["address_key"], []).append(e)
    file_ext: dict[str, int] = {}
    file_address: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    matched_ids: set[int] = set()
    inserts: list[tuple[int, dict[str, Any]]] = []
    updates: list[dict[str, Any]] = []
    now = utcnow()

    def label(e: dict[str, Any]) -> str:
        return f"account {e['id']} {e['name']!r}"

    for number, row in cleaned:
        ext = row.get("external_id")
        # 1. Within the file: the first row wins.
        if ext and ext in file_ext:
            result.duplicates.append(Duplicate(number, "external_id", f"row {file_ext[ext]}",
                                               row["name"]))
            continue
        hit = None
        if row.get("lat") is not None:
            hit = grid.find(row["name_key"], row["lat"], row["lon"])
            if hit is not None and hit[0] == "row":
                result.duplicates.append(Duplicate(number, "name_within_50m", f"row {hit[1]}",
                                                   row["name"]))
                continue
        same_address_rows = file_address.get(row["address_key"] or "", [])
        earlier = next((n for n, r in same_address_rows
                        if similar_names(r["name_key"], row["name_key"])), None)
        if earlier is not None:
            result.duplicates.append(Duplicate(number, "address", f"row {earlier}", row["name"]))
            continue
        # 2. Against the database.
        match, rule = None, ""
        if ext and (source, ext) in by_ext:
            match, rule = by_ext[(source, ext)], "external_id"
        elif ext and (source, ext) in merged_into:
            match, rule = merged_into[(source, ext)], "merged_into"
        elif hit is not None:
            match, rule = hit[1], "name_within_50m"
        elif row["address_key"]:
            match = next((e for e in by_address.get(row["address_key"], [])
                          if similar_names(e["name_key"], row["name_key"])), None)
            rule = "address"
        if match is not None and match["id"] in matched_ids:
            result.duplicates.append(Duplicate(number, rule, label(match), row["name"]))
            continue
        if match is not None and ext and match["external_id"] and (
                match["source"], match["external_id"]) != (source, ext) and rule not in (
                "external_id", "merged_into"):
            match = None  # another record of the source system: a different account
        if ext:
            file_ext[ext] = number
        if row.get("lat") is not None:
            grid.add(row["name_key"], row["lat"], row["lon"], ("row", number))
        if row["address_key"]:
            others = [e for e in by_address.get(row["address_key"], []) if e is not match]
            if others and match is None:
                result.duplicates.append(Duplicate(number, "same_address_other_name",
                                                   label(others[0]), row["name"]))
            file_address.setdefault(row["address_key"], []).append((number, row))
        if match is None:
            inserts.append((number, row))
            continue
        matched_ids.add(match["id"])
        if rule != "external_id":
            result.duplicates.append(Duplicate(number, rule, label(match), row["name"]))
        changes = _changes(match, row)
        if ext and not match["external_id"]:
            changes.update(external_id=ext, source=source)
        unflag = match["missing_since"] is not None and match["source"] == source
        if unflag:
            result.unflagged += 1
        if not changes:
            result.unchanged += 1
            if unflag:  # the data is the same; only the snapshot flag goes
                updates.append({"id": match["id"], "missing_since": None})
            continue
        result.updated += 1
        if "lat" in changes or "lon" in changes:
            changes.setdefault("lat", row["lat"])
            changes.setdefault("lon", row["lon"])
        if "name" in changes:
            changes["name_key"] = row["name_key"]
        if "address" in changes:
            changes["address_key"] = row["address_key"]
        changes.update(id=match["id"], version=match["version"] + 1, updated_at=now)
        if unflag:
            changes["missing_since"] = None
        updates.append(changes)
    result.inserted = len(inserts)
    missing = []
    if snapshot:
        missing = [e["id"] for e in existing if e["source"] == source and e["id"] not in
                   matched_ids and e["missing_since"] is None]
        result.flagged_missing = len(missing)
    changed = bool(inserts or updates or missing)
    result.status = "committed" if changed else "unchanged"
    if dry_run:
        return
    _write(inserts, updates, missing, result, user=user, source=source, now=now)


def _changes(existing: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Fields whose imported value differs; blank cells never erase existing data."""
    out: dict[str, Any] = {}
    for key in COMPARED:
        new = row.get(key)
        if new is None or key not in row:
            continue
        old = existing.get(key)
        if key in ("lat", "lon") and old is not None and abs(float(old) - float(new)) < 1e-7:
            continue
        if key == "value" and old is not None and Decimal(old) == Decimal(new):
            continue
        if old != new:
            out[key] = new
    return out


def _write(
    inserts: list[tuple[int, dict[str, Any]]],
    updates: list[dict[str, Any]],
    missing: list[int],
    result: ImportResult,
    *,
    user: User | None,
    source: str,
    now: Any,
) -> None:
    territories = list(db.session.scalars(select(Territory)))
    # The batch row first: on SQLite this write takes the database lock, so the ids
    # reserved below cannot be taken by another writer before we insert.
    batch = ImportBatch(
        filename=result.filename, sha256=result.sha256, source=source,
        status=result.status, created_by_id=user.id if user else None,
        counts=result.counts,
        duplicates=[d.__dict__ for d in result.duplicates[:5000]], rejects=[],
    )
    db.session.add(batch)
    db.session.flush()
    new_rows = []
    ids = _reserve_account_ids(len(inserts))
    for account_id, (_, row) in zip(ids, inserts, strict=True):
        data = {k: v for k, v in row.items() if k != "tags"}
        data["stage"] = data["stage"] or Stage.LEAD
        for key, default in (("visit_minutes", 30), ("priority", 3)):
            if data.get(key) is None:
                data[key] = default
        data.update(id=account_id, source=source, owner_id=None, created_at=now,
                    updated_at=now, version=1, custom_fields=_NO_FIELDS, archived=False,
                    location_source="import" if data.get("lat") is not None else None)
        new_rows.append(data)
    if new_rows:
        tids = assign_points([r["lat"] for r in new_rows], [r["lon"] for r in new_rows],
                             territories)
        for r, tid in zip(new_rows, tids, strict=True):
            r["territory_id"] = tid
        # The ids are set: one prepared statement, no per-row RETURNING.
        bulk_insert(db.session, Account.__table__, new_rows)
        _write_tags(ids, [row["tags"] for _, row in inserts])
        # Who owned what since when starts with the import that placed the account.
        names = {t.id: t.name for t in territories}
        bulk_insert(db.session, AssignmentHistory.__table__, [
            {"account_id": r["id"], "territory_id": r["territory_id"],
             "territory_name": names[r["territory_id"]], "since": now, "until": None,
             "changed_by_id": user.id if user else None, "reason": "import"}
            for r in new_rows if r["territory_id"] is not None])
    # Moved pins are re-placed by the same rule as a pin moved by hand, in bulk.
    changed_hands = moves_for_points([u for u in updates if "lat" in u], territories)
    # executemany per set of changed columns (bulk UPDATE by primary key).
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in updates:
        groups.setdefault(tuple(sorted(u)), []).append(u)
    for group in groups.values():
        db.session.execute(update(Account), group)
    if changed_hands:  # a re-import moved these pins into another territory
        db.session.flush()
        record_moves(changed_hands, user_id=user.id if user else None,
                     reason="import: pin moved", now=now)
    if missing:
        db.session.execute(update(Account), [{"id": i, "missing_since": now}
                                             for i in missing])
    db.session.add(AuditEntry(
        user_id=user.id if user else None, entity="import_batch", entity_id=batch.id,
        action="import", changes={"filename": result.filename, **result.counts},
    ))
    db.session.flush()  # the upload view, the CLI command or the job commits
    result.batch_id = batch.id


def _reserve_account_ids(n: int) -> list[int]:
    """``n`` fresh account ids: from the sequence on PostgreSQL, after max(id) on SQLite."""
    if n == 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(
            select(func.nextval(func.pg_get_serial_sequence("accounts", "id")))
            .select_from(func.generate_series(1, n))
        ))
    start = (db.session.scalar(select(func.max(Account.id))) or 0) + 1
    return list(range(start, start + n))


def _write_tags(ids: list[int], tag_lists: list[list[str]]) -> None:
    names = sorted({t for tags in tag_lists for t in tags})
    if not names:
        return
    known = dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())
    fresh = [n for n in names if n not in known]
    if fresh:
        db.session.execute(insert(Tag), [{"name": n} for n in fresh])
        known.update(db.session.execute(
            select(Tag.name, Tag.id).where(Tag.name.in_(fresh))).all())
    links = [{"account_id": i, "tag_id": known[t]} for i, tags in zip(ids, tag_lists, strict=True)
             for t in tags]
    if links:
        bulk_insert(db.session, account_tags, links)
