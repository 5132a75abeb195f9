"""Matching rows to accounts: duplicates within the file and against the database."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from geocrm.core.names import similar_names
from geocrm.extensions import db
from geocrm.imports.results import Duplicate, ImportResult
from geocrm.models import (
    Account,
)
from geocrm.models.crm import AccountMerge

DUPLICATE_METRES = 50.0
# The columns an import may change, compared against what the account holds.
COMPARED = ("name", "address", "city", "postcode", "lat", "lon", "stage", "phone", "email",
            "website", "opening_hours", "value", "visit_minutes", "cadence_days", "priority",
            "category")
_EXISTING_COLUMNS = (
    Account.id, Account.source, Account.external_id, Account.name_key, Account.address_key,
    Account.missing_since, Account.version, Account.territory_id,
    *(getattr(Account, c) for c in COMPARED),
)
Row = tuple[int, dict[str, Any]]


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


def _label(e: dict[str, Any]) -> str:
    return f"account {e['id']} {e['name']!r}"


@dataclass
class Plan:
    """What an import will write: new rows, updates by primary key, accounts now missing."""

    inserts: list[Row] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)


class Matcher:
    """Decides for each valid row: a duplicate to report, an update of an account, or new.

    The database's accounts are read once, as plain rows (ORM loading costs seconds at
    100k), and indexed by external id, by merged-away source key, by address key and by
    name in a 50 m grid; the rows of the file join the same indexes as they are taken, so
    the first row of the file wins.
    """

    def __init__(self, cleaned: list[Row], result: ImportResult, *, source: str,
                 now: datetime) -> None:
        self.result, self.source, self.now = result, source, now
        rows = db.session.connection().execute(select(*_EXISTING_COLUMNS))
        keys = list(rows.keys())
        self.existing = [dict(zip(keys, r, strict=True)) for r in rows]
        self.by_ext = {(e["source"], e["external_id"]): e for e in self.existing
                       if e["external_id"]}
        self.merged_into = self._merged_into()
        self.by_address: dict[str, list[dict[str, Any]]] = {}
        lats = [r["lat"] for _, r in cleaned if r.get("lat") is not None]
        self.grid = _Grid(sum(lats) / len(lats) if lats else 45.0)
        for e in self.existing:
            if e["lat"] is not None and e["name_key"]:
                self.grid.add(e["name_key"], e["lat"], e["lon"], ("account", e))
            if e["address_key"]:
                self.by_address.setdefault(e["address_key"], []).append(e)
        self.file_ext: dict[str, int] = {}
        self.file_address: dict[str, list[Row]] = {}
        self.matched_ids: set[int] = set()
        self.plan = Plan()

    def _merged_into(self) -> dict[tuple[str, str], dict[str, Any]]:
        """A record merged away into another account must not come back with the next
        import of its source system: it lands on the survivor (the merge kept its key)."""
        by_id = {e["id"]: e for e in self.existing}
        return {
            (m_source, m_ext): by_id[survivor]
            for m_source, m_ext, survivor in db.session.connection().execute(
                select(AccountMerge.merged_source, AccountMerge.merged_external_id,
                       AccountMerge.survivor_id)
                .where(AccountMerge.merged_external_id.is_not(None))
                .order_by(AccountMerge.id)
            )
            if survivor in by_id
        }

    def run(self, cleaned: list[Row], *, snapshot: bool) -> Plan:
        """Match every row; with ``snapshot``, the source's accounts not seen are missing."""
        for number, row in cleaned:
            self.take(number, row)
        self.result.inserted = len(self.plan.inserts)
        if snapshot:
            self.plan.missing = [e["id"] for e in self.existing
                                 if e["source"] == self.source and e["id"] not in
                                 self.matched_ids and e["missing_since"] is None]
            self.result.flagged_missing = len(self.plan.missing)
        return self.plan

    def _duplicate(self, number: int, rule: str, other: str, row: dict[str, Any]) -> None:
        self.result.duplicates.append(Duplicate(number, rule, other, row["name"]))

    def take(self, number: int, row: dict[str, Any]) -> None:
        """One row: reported as a duplicate, or planned as an update or an insert."""
        ext = row.get("external_id")
        hit = self._in_file(number, row, ext)
        if hit is False:
            return
        match, rule = self._in_database(row, ext, hit)
        if match is not None and match["id"] in self.matched_ids:
            self._duplicate(number, rule, _label(match), row)
            return
        if match is not None and ext and match["external_id"] and (
                match["source"], match["external_id"]) != (self.source, ext) and rule not in (
                "external_id", "merged_into"):
            match = None  # another record of the source system: a different account
        self._remember(number, row, ext, match)
        if match is None:
            self.plan.inserts.append((number, row))
            return
        self.matched_ids.add(match["id"])
        if rule != "external_id":
            self._duplicate(number, rule, _label(match), row)
        self._plan_update(match, row, ext)

    def _in_file(self, number: int, row: dict[str, Any], ext: str | None) -> Any:
        """``False`` when an earlier row of the file is the same account (reported);
        else the grid's hit among the accounts (or ``None``)."""
        if ext and ext in self.file_ext:
            self._duplicate(number, "external_id", f"row {self.file_ext[ext]}", row)
            return False
        hit = None
        if row.get("lat") is not None:
            hit = self.grid.find(row["name_key"], row["lat"], row["lon"])
            if hit is not None and hit[0] == "row":
                self._duplicate(number, "name_within_50m", f"row {hit[1]}", row)
                return False
        same_address_rows = self.file_address.get(row["address_key"] or "", [])
        earlier = next((n for n, r in same_address_rows
                        if similar_names(r["name_key"], row["name_key"])), None)
        if earlier is not None:
            self._duplicate(number, "address", f"row {earlier}", row)
            return False
        return hit

    def _in_database(self, row: dict[str, Any], ext: str | None,
                     hit: Any) -> tuple[dict[str, Any] | None, str]:
        """The existing account this row is, and by which rule (external id first)."""
        if ext and (self.source, ext) in self.by_ext:
            return self.by_ext[(self.source, ext)], "external_id"
        if ext and (self.source, ext) in self.merged_into:
            return self.merged_into[(self.source, ext)], "merged_into"
        if hit is not None:
            return hit[1], "name_within_50m"
        if row["address_key"]:
            match = next((e for e in self.by_address.get(row["address_key"], [])
                          if similar_names(e["name_key"], row["name_key"])), None)
            return match, "address"
        return None, ""

    def _remember(self, number: int, row: dict[str, Any], ext: str | None,
                  match: dict[str, Any] | None) -> None:
        """Index the row for the rows after it; report another business at its address."""
        if ext:
            self.file_ext[ext] = number
        if row.get("lat") is not None:
            self.grid.add(row["name_key"], row["lat"], row["lon"], ("row", number))
        if row["address_key"]:
            others = [e for e in self.by_address.get(row["address_key"], []) if e is not match]
            if others and match is None:
                self._duplicate(number, "same_address_other_name", _label(others[0]), row)
            self.file_address.setdefault(row["address_key"], []).append((number, row))

    def _plan_update(self, match: dict[str, Any], row: dict[str, Any], ext: str | None) -> None:
        """What changes on a matched account; nothing (not even a version) when nothing does."""
        changes = changed_fields(match, row)
        if ext and not match["external_id"]:
            changes.update(external_id=ext, source=self.source)
        unflag = match["missing_since"] is not None and match["source"] == self.source
        if unflag:
            self.result.unflagged += 1
        if not changes:
            self.result.unchanged += 1
            if unflag:  # the data is the same; only the snapshot flag goes
                self.plan.updates.append({"id": match["id"], "missing_since": None})
            return
        self.result.updated += 1
        if "lat" in changes or "lon" in changes:
            changes.setdefault("lat", row["lat"])
            changes.setdefault("lon", row["lon"])
        if "name" in changes:
            changes["name_key"] = row["name_key"]
        if "address" in changes:
            changes["address_key"] = row["address_key"]
        changes.update(id=match["id"], version=match["version"] + 1, updated_at=self.now)
        if unflag:
            changes["missing_since"] = None
        self.plan.updates.append(changes)


def changed_fields(existing: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
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
