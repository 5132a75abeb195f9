"""Matching rows to accounts: external ids first, then the duplicate rule; people win.

The rules, in this order, for each valid row of a file imported from ``source``:

1. **A row with an external id is that record of the source, always.** It is looked up in
   the source records (its own id or an alias a merge left on the survivor), then in the
   accounts' own ids, then in earlier merges. Two rows with *different* external ids are
   never folded into one: a row that looks like another row or account (same normalised
   name within 50 m, or same address and a similar name) is imported and listed for review;
   only an account that no outside system knows (no external id, e.g. typed in by hand) is
   *linked* to the record instead. The same external id twice in one file is one record:
   the first row stands and the later one is reported.
2. **A row without an external id is matched by the duplicate rule** (against the accounts
   and the file's earlier rows) and reported; no match makes it a new account.
3. **People win.** A matched account's field is changed only if the source owns it — the
   account still holds what this record of the source last said (its source record's
   ``values``), or holds nothing there — so a person's edit or a merge's choice is never
   overwritten. When the file brings a new value for a field a person changed (or another
   source set), the account keeps its value and a conflict is recorded for review. A value
   the source repeats changes nothing, so the second import of a file is a no-op.
4. **Snapshots** flag exactly the accounts that have a record of the source (or came from
   it) and that no row of the file matched.

The database is read once as plain rows (ORM loading costs seconds at 100k) and indexed:
by external id, by normalised name in 50 m grid cells (a chain with one name in a
thousand places costs a few cells per row, not a thousand distances), and by address key
then name key. Rows of the file join the same indexes as they are taken.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

import orjson
from sqlalchemy import Text, cast, select

from geocrm.core.names import similar_names
from geocrm.extensions import db
from geocrm.imports.results import Conflict, Duplicate, ImportResult
from geocrm.models import Account
from geocrm.models.crm import AccountMerge
from geocrm.models.provenance import SourceRecord

DUPLICATE_METRES = 50.0
# The fields an import may change; "location" is lat and lon together.
FIELDS = ("name", "address", "city", "postcode", "location", "stage", "phone", "email",
          "website", "opening_hours", "value", "visit_minutes", "cadence_days", "priority",
          "category", "name_reading", "country", "region", "district", "street", "housenumber",
          "building", "required_skills")
COMPARED = tuple(c for f in FIELDS for c in (("lat", "lon") if f == "location" else (f,)))
_EXISTING_COLUMNS = (
    Account.id, Account.source, Account.external_id, Account.name_key, Account.address_key,
    Account.missing_since, Account.version, Account.territory_id,
    *(getattr(Account, c) for c in COMPARED),
)
Row = tuple[int, dict[str, Any]]
_CENT = Decimal("0.01")


def stored(name: str, value: Any) -> Any:
    """A field's value as source records and conflicts keep it (JSON-ready, comparable):
    equal values of a field have equal stored forms on both engines."""
    kind = type(value)
    if value is None or kind is str or kind is int:
        return value
    if name == "location":
        return [round(float(value[0]), 7), round(float(value[1]), 7)]
    if name == "value":
        return str(Decimal(value).quantize(_CENT))
    if hasattr(value, "value"):  # an enum (stage)
        return str(value.value)
    if isinstance(value, int | float):
        return value
    return str(value)


def field_value(values: dict[str, Any], name: str) -> Any:
    """A field of an account or a row (``location`` from lat/lon)."""
    if name == "location":
        lat = values.get("lat")
        return None if lat is None else (lat, values.get("lon"))
    return values.get(name)


_STORED = ("stage", "value")  # a column each, through stored()
_CONVERTED = ("location", *_STORED)
_PLAIN = tuple(f for f in FIELDS if f not in _CONVERTED)


@functools.lru_cache(maxsize=64)
def _plain_without(blank: frozenset[str]) -> tuple[str, ...]:
    return tuple(f for f in _PLAIN if f not in blank)


def source_values(row: dict[str, Any], blank: frozenset[str] = frozenset()) -> dict[str, Any]:
    """What a row says, field by field, as a source record keeps it (blank cells left out;
    the plain text and whole-number fields as they are, the others through :func:`stored`).

    ``blank``: fields the caller knows are blank in every row (a file without those
    columns), not looked at."""
    plain = _plain_without(blank) if blank else _PLAIN
    out = {name: value for name in plain if (value := row.get(name)) is not None}
    lat = row.get("lat")  # field_value's location, inline: this runs for every row
    if lat is not None:
        out["location"] = stored("location", (lat, row.get("lon")))
    for name in _STORED:
        value = row.get(name)
        if value is not None:
            out[name] = stored(name, value)
    return out


def _loads(text: str | None) -> dict[str, Any]:
    """A source record's ``values`` from its JSON text (orjson: 100,000 records a re-import
    reads in a tenth of the time of the column's own ``json.loads``)."""
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:  # what only Python's json writes (NaN): its own reader
        value = json.loads(text)
    return value or {}


_ROW = 2**32
_AROUND = tuple(dx * _ROW + dy for dx in (-1, 0, 1) for dy in (-1, 0, 1))


class _Grid:
    """Items by normalised name in ~50 m cells, for the 'same name within 50 m' rule.

    Distances at this scale are planar in a local equirectangular frame (error far below a
    metre over 50 m). Of several items within 50 m the earliest taken wins (accounts come
    before the file's rows), so the answer does not depend on hash order.
    """

    def __init__(self, ref_lat: float) -> None:
        self.kx = 111_320.0 * math.cos(math.radians(ref_lat))
        self.ky = 110_540.0
        # name key -> cell -> items; a cell (cx, cy) is one int, cx * 2**32 + cy (|cy| is
        # far below 2**31 on Earth), so a look-up hashes no tuple.
        self.cells: dict[str, dict[int, list[tuple[float, float, int, Any]]]] = {}
        self.seq = 0

    def add(self, name_key: str, lat: float, lon: float, item: Any) -> None:
        x, y = lon * self.kx, lat * self.ky
        cell = int(x // DUPLICATE_METRES) * _ROW + int(y // DUPLICATE_METRES)
        self.seq += 1
        self.cells.setdefault(name_key, {}).setdefault(cell, []).append((x, y, self.seq, item))

    def find(self, name_key: str, lat: float, lon: float) -> Any | None:
        cells = self.cells.get(name_key)
        if cells is None:
            return None
        x, y = lon * self.kx, lat * self.ky
        centre = int(x // DUPLICATE_METRES) * _ROW + int(y // DUPLICATE_METRES)
        limit = DUPLICATE_METRES * DUPLICATE_METRES
        best: tuple[int, Any] | None = None
        for offset in _AROUND:
            for px, py, seq, item in cells.get(centre + offset, ()):
                if (best is None or seq < best[0]) and (px - x) ** 2 + (py - y) ** 2 <= limit:
                    best = (seq, item)
        return None if best is None else best[1]


@dataclass(slots=True)
class _Seen:
    """A row of the file already taken, as later rows of the file see it."""

    row: int
    account: dict[str, Any] | None  # the account it matched (None: a new account)


def _label(item: Any) -> str:
    if isinstance(item, _Seen):
        return f"row {item.row}"
    return f"account {item['id']} {item['name']!r}"


@dataclass
class Plan:
    """What an import will write.

    ``inserts``: new accounts (row number, row); ``updates``: account id -> changed
    columns; ``changes``: account id -> (row, {field: [old, new]}) for the audit trail;
    ``records``: source records to add, ``record_updates``: id -> new values;
    ``conflicts``; ``missing``/``unflag``: accounts whose snapshot flag is set or cleared.
    Once written, ``created`` holds each insert's new account as (id, territory id), in
    the order of ``inserts`` (the rows stay as the file said them).
    """

    inserts: list[Row] = field(default_factory=list)
    insert_records: list[tuple[int, str | None]] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    changes: dict[int, tuple[int, dict[str, list[Any]]]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    record_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    unflag: list[int] = field(default_factory=list)
    created: list[tuple[int, int | None]] = field(default_factory=list)


_MISSING = object()


class Matcher:
    """Decides for each valid row: the account it is (an update), a new account, or a
    repeat of an earlier row; see the module docstring for the rules."""

    def __init__(self, cleaned: list[Row], result: ImportResult, *, source: str,
                 now: datetime, accounts: Any = None) -> None:
        """``accounts``: an optional condition on ``Account`` limiting which accounts rows
        are matched against (a search over one area need not read the whole company; a
        write never passes one, so an external id is always found)."""
        self.result, self.source, self.now = result, source, now
        conn = db.session.connection()
        stmt = select(*_EXISTING_COLUMNS)
        rows = conn.execute(stmt if accounts is None else stmt.where(accounts))
        keys = list(rows.keys())
        # Fetched at once and made dicts in C calls (a row at a time costs seconds at 100k).
        self.existing = list(map(dict, map(zip, repeat(keys), rows.all())))
        self.by_id = {e["id"]: e for e in self.existing}
        self.by_ext = {e["external_id"]: e for e in self.existing
                       if e["external_id"] and e["source"] == source}
        # This source's records: by external id, and the id-less ones by account.
        self.records: dict[str, dict[str, Any]] = {}
        self.idless: dict[int, dict[str, Any]] = {}
        self.identified: set[int] = {e["id"] for e in self.existing if e["external_id"]}
        self.owned: set[int] = {e["id"] for e in self.existing if e["source"] == source}
        # The values as their JSON text, read by orjson (see _loads).
        for rid, account_id, ext, text in conn.execute(
                select(SourceRecord.id, SourceRecord.account_id, SourceRecord.external_id,
                       cast(SourceRecord.values, Text)).where(SourceRecord.source == source)
        ).all():
            rec = {"id": rid, "account_id": account_id, "values": _loads(text)}
            if ext is None:
                self.idless[account_id] = rec
            else:
                self.records[ext] = rec
                self.identified.add(account_id)
            self.owned.add(account_id)
        self.identified.update(conn.scalars(
            select(SourceRecord.account_id).where(SourceRecord.source != source,
                                                  SourceRecord.external_id.is_not(None))))
        self.merged_into = self._merged_into()
        lats = [r["lat"] for _, r in cleaned if r.get("lat") is not None]
        self.grid = _Grid(sum(lats) / len(lats) if lats else 45.0)
        self.by_address: dict[str, dict[str, Any]] = {}
        for e in self.existing:
            self._index(e["name_key"], e["lat"], e["lon"], e["address_key"], e)
        self.file_ext: dict[str, int] = {}
        self.matched: set[int] = set()  # accounts a row of this file is
        self.similar_memo: dict[tuple[str, str], bool] = {}
        self.plan = Plan()

    def _merged_into(self) -> dict[str, dict[str, Any]]:
        """Merges made before source records existed (or of accounts without one): the
        merged-away id lands on its survivor."""
        out = {}
        for ext, survivor in db.session.connection().execute(
                select(AccountMerge.merged_external_id, AccountMerge.survivor_id)
                .where(AccountMerge.merged_source == self.source,
                       AccountMerge.merged_external_id.is_not(None),
                       AccountMerge.survivor_id.is_not(None))
                .order_by(AccountMerge.id)):
            if survivor in self.by_id:
                out[ext] = self.by_id[survivor]
        return out

    # -- indexes ------------------------------------------------------------------------
    def _index(self, name_key: str | None, lat: float | None, lon: float | None,
               address_key: str | None, item: Any) -> None:
        if lat is not None and name_key:
            self.grid.add(name_key, lat, lon, item)  # type: ignore[arg-type]
        if address_key:
            self.by_address.setdefault(address_key, {}).setdefault(name_key or "", item)

    def _similar(self, a: str, b: str) -> bool:
        """:func:`similar_names`, remembered: chains and common names repeat all over a file.
        The rule is symmetric, so a pair is remembered in either order."""
        pair = (a, b) if a <= b else (b, a)
        known = self.similar_memo.get(pair)
        if known is None:
            known = self.similar_memo[pair] = similar_names(a, b)
        return known

    def _likely(self, row: dict[str, Any]) -> tuple[Any, str]:
        """The earliest account or row this row looks like, and by which rule."""
        if row.get("lat") is not None and row["name_key"]:
            hit = self.grid.find(row["name_key"], row["lat"], row["lon"])
            if hit is not None:
                return hit, "name_within_50m"
        names = self.by_address.get(row["address_key"] or "")
        if names:
            exact = names.get(row["name_key"])
            if exact is not None and row["name_key"]:
                return exact, "address"
            for key, item in names.items():
                if self._similar(key, row["name_key"]):
                    return item, "address"
        return None, ""

    # -- rows ---------------------------------------------------------------------------
    def run(self, cleaned: list[Row], *, snapshot: bool) -> Plan:
        """Match every row; with ``snapshot``, the source's accounts not seen are missing."""
        for number, row in cleaned:
            self.take(number, row)
        self.result.inserted = len(self.plan.inserts)
        self.result.updated = len(self.plan.changes)
        self.result.conflicts = self.plan.conflicts
        if snapshot:
            self.plan.missing = [i for i in sorted(self.owned) if i not in self.matched
                                 and self.by_id[i]["missing_since"] is None]
            self.result.flagged_missing = len(self.plan.missing)
        self.result.unflagged = len(self.plan.unflag)
        # What a person should look at first; notes (another business at the address) last.
        self.result.duplicates.sort(key=lambda d: d.outcome == "note")
        return self.plan

    def _report(self, number: int, rule: str, other: Any, row: dict[str, Any],
                outcome: str) -> None:
        self.result.duplicates.append(Duplicate(number, rule, _label(other), row["name"],
                                                outcome))

    def take(self, number: int, row: dict[str, Any]) -> None:
        """One row: an update of the account it is, a new account, or a repeat."""
        ext = row.get("external_id")
        if ext:
            self._take_identified(number, row, ext)
        else:
            self._take_unidentified(number, row)

    def _take_identified(self, number: int, row: dict[str, Any], ext: str) -> None:
        if ext in self.file_ext:
            self.result.duplicates.append(Duplicate(
                number, "external_id", f"row {self.file_ext[ext]}", row["name"], "repeat"))
            return
        self.file_ext[ext] = number
        record = self.records.get(ext)
        account = self.by_id.get(record["account_id"]) if record else None
        if account is not None and account["external_id"] != ext:
            self._report(number, "merged_into", account, row, "merged")  # an alias
        if account is None:
            account = self.by_ext.get(ext)
        if account is None and ext in self.merged_into:
            account = self.merged_into[ext]
            self._report(number, "merged_into", account, row, "merged")
        if account is None:
            other, rule = self._likely(row)
            linkable = (isinstance(other, dict) and other["id"] not in self.identified
                        and other["id"] not in self.matched)
            if linkable:
                account = other
                self._report(number, rule, other, row, "linked")
            elif other is not None:
                self._report(number, rule, other, row, "review")
        if account is None:
            self._insert(number, row, ext)
            return
        self._update(number, row, account, ext, record)

    def _take_unidentified(self, number: int, row: dict[str, Any]) -> None:
        other, rule = self._likely(row)
        if isinstance(other, _Seen):
            other = other.account if other.account is not None else other
        if isinstance(other, _Seen) or (other is not None and other["id"] in self.matched):
            self._report(number, rule, other, row, "repeat")
            return
        if other is None:
            self._insert(number, row, None)
            return
        self._report(number, rule, other, row, "matched")
        self._update(number, row, other, None, self.idless.get(other["id"]))

    def _insert(self, number: int, row: dict[str, Any], ext: str | None) -> None:
        names = self.by_address.get(row["address_key"] or "")
        if names and row["name_key"] not in names:
            first = next(iter(names.values()))
            self._report(number, "same_address_other_name", first, row, "note")
        self.plan.inserts.append((number, row))
        self._index(row["name_key"], row["lat"], row["lon"], row["address_key"],
                    _Seen(number, None))

    # -- people win -----------------------------------------------------------------------
    def _update(self, number: int, row: dict[str, Any], account: dict[str, Any],
                ext: str | None, record: dict[str, Any] | None) -> None:
        """The three-way rule per field: the source's last word (base), the account's value
        (mine) and the file's (theirs)."""
        aid = account["id"]
        self.matched.add(aid)
        self._index(row["name_key"], row["lat"], row["lon"], row["address_key"],
                    _Seen(number, account))
        if record is not None and record["account_id"] != aid:
            record = None  # an id-less record of another account: not this one's base
        base_values = record["values"] if record is not None else {}
        # Before records kept values (or for a field they lack) the account's own record
        # of its source owns its fields; an alias or a hand-made account's do not.
        owns_legacy = account["source"] == self.source and account["external_id"] in (None, ext)
        said = source_values(row)  # a blank cell never erases, and says nothing
        changes: dict[str, list[Any]] = {}
        # The source repeating its last word changes nothing, whatever the account holds
        # now (the common case of a re-import: no need to look at the account).
        # (Items of one dict among another's: every key there with an equal value, in C.)
        same = record is not None and said.items() <= base_values.items()
        new_base = base_values if same else {**base_values, **said}
        for name in () if same else FIELDS:
            theirs = said.get(name, _MISSING)
            if theirs is _MISSING:
                continue
            theirs_raw = field_value(row, name)
            mine_raw = field_value(account, name)
            if mine_raw == theirs_raw:  # the common case, without converting the account's
                continue
            mine = stored(name, mine_raw)
            if theirs == mine:
                continue
            base = base_values.get(name, _MISSING)
            if base is _MISSING and owns_legacy:
                base = mine  # known to this source before records kept values
            if base == mine or (base is _MISSING and mine is None):
                changes[name] = [mine, theirs]  # the source's own field, or a blank to fill
                self._apply(account, name, theirs_raw, row)
            elif base != theirs:  # a person's value (even a cleared one) against a new word
                self.plan.conflicts.append(Conflict(
                    account=aid, name=account["name"], row=number, field=name, current=mine,
                    imported=theirs, external_id=ext))
        if ext and not account["external_id"]:
            # A hand-made account linked to this record carries its id from now on.
            changes["external_id"] = [None, ext]
            self.plan.updates.setdefault(aid, {}).update(external_id=ext, source=self.source)
            account["external_id"], account["source"] = ext, self.source
            self.by_ext[ext] = account
        if ext:
            self.identified.add(aid)
            self.owned.add(aid)
        if record is None:
            self.plan.records.append({"account_id": aid, "external_id": ext,
                                      "values": new_base, "row": number})
            rec = {"id": None, "account_id": aid, "values": new_base}
            if ext:
                self.records[ext] = rec
            else:
                self.idless[aid] = rec
        elif new_base != base_values:
            record["values"] = new_base
            if record["id"] is not None:
                self.plan.record_updates[record["id"]] = {"values": new_base, "row": number}
        unflag = account["missing_since"] is not None and aid in self.owned
        if unflag and aid not in self.plan.unflag:
            self.plan.unflag.append(aid)
            account["missing_since"] = None
        if changes:
            prev = self.plan.changes.get(aid)
            self.plan.changes[aid] = (number, {**(prev[1] if prev else {}), **changes})
        elif aid not in self.plan.changes:
            self.result.unchanged += 1

    def _apply(self, account: dict[str, Any], name: str, value: Any,
               row: dict[str, Any]) -> None:
        """Plan one field's change and let later rows see it."""
        upd = self.plan.updates.setdefault(account["id"], {})
        if name == "location":
            upd["lat"], upd["lon"] = value
            account["lat"], account["lon"] = value
            return
        upd[name] = value
        account[name] = value
        if name == "name":
            upd["name_key"] = account["name_key"] = row["name_key"]
        if name == "address":
            upd["address_key"] = account["address_key"] = row["address_key"]
        if name == "name_reading":
            upd["reading_key"] = account["reading_key"] = row["reading_key"]

