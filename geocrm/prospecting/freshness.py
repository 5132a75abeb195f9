"""Keeping accounts made from OpenStreetMap fresh when a newer region extract is loaded.

Every account whose external id of the source ``osm`` (``node/123``, or a source record's) is a
place of the new extract gets that place's name, opening hours and address as an import
row; the import's three-way rule (:mod:`geocrm.imports.matching`, field-level provenance in
:class:`~geocrm.models.provenance.SourceRecord`) changes a field only where the account still
holds what OpenStreetMap last said, and records a conflict for review where a person changed
it since. Nothing else is sent (not the stage, category, pin or phone): a customer stays a
customer and its pin where the rep put it.

An ``osm`` account inside the extract's area whose place is gone is flagged
``missing_since`` (closed, or no longer mapped), never deleted; one that comes back is
unflagged. An account outside the extract's area says nothing about closure (a smaller or
another region was loaded) and is left alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from geocrm.core.region_places import place_index
from geocrm.extensions import db
from geocrm.imports.matching import Matcher
from geocrm.imports.results import ImportResult
from geocrm.imports.rows import clean_row
from geocrm.imports.writing import write_import
from geocrm.models import Account, User, utcnow
from geocrm.models.provenance import SourceRecord
from geocrm.prospecting.services import SOURCE, place_raw
from geocrm.region.services import region_loaded
from places.poi import PoiIndex

#: What a newer extract may change on an account made from it.
FRESH_FIELDS = ("name", "name_reading", "opening_hours", "address", "street", "housenumber",
                "postcode", "city", "district", "region", "country")
_MARGIN_DEG = 0.001


def _refs() -> set[str]:
    refs = set(db.session.scalars(select(Account.external_id).where(
        Account.source == SOURCE, Account.external_id.is_not(None))))
    refs.update(db.session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.source == SOURCE, SourceRecord.external_id.is_not(None))))
    return refs


def _fresh_row(index: PoiIndex, i: int, ref: str, number: int) -> dict[str, Any] | None:
    raw = {k: v for k, v in place_raw(index, i).items() if k in FRESH_FIELDS}
    raw["external_id"] = ref  # the account's reference (an alias names the same place)
    rejects: list[Any] = []
    row = clean_row(dict(raw), number, rejects)
    if row is None and not any(r.field == "name" for r in rejects):
        for r in rejects:  # hours the grammar cannot read: the rest is still news
            raw.pop(r.field, None)
        row = clean_row(raw, number, [])
    return row


def refresh_prospects(index: PoiIndex, *, bbox: tuple[float, float, float, float] | None = None,
                      user: User | None = None) -> ImportResult:
    """Bring the ``osm`` accounts up to date with ``index`` (see the module doc).

    ``bbox`` (west, south, east, north) is the extract's area; without it, the places'
    extent. Flushes; the entry point (``region load``, the load job) commits.
    """
    if bbox is None and len(index):
        bbox = (float(index.lon.min()), float(index.lat.min()), float(index.lon.max()),
                float(index.lat.max()))
    rows: list[tuple[int, dict[str, Any]]] = []
    refs = _refs()
    for ref in sorted(refs):
        i = index.find(ref)
        if i is not None:
            row = _fresh_row(index, i, ref, len(rows) + 1)
            if row is not None:
                rows.append((len(rows) + 1, row))
    now = utcnow()
    name = index.meta.get("file") or "OpenStreetMap"
    result = ImportResult(status="committed", filename=f"{name} (region load)", sha256="",
                          rows=len(rows))
    plan = Matcher(rows, result, source=SOURCE, now=now).run(rows, snapshot=True)
    if plan.missing:
        # a business the extract has without a position (a relation without an area) is
        # not gone: never flagged
        kept = sorted(ref for ref in refs if index.find(ref) is None and index.mapped(ref))
        if kept:
            there = set(db.session.scalars(select(Account.id).where(
                Account.source == SOURCE, Account.external_id.in_(kept))))
            there.update(db.session.scalars(select(SourceRecord.account_id).where(
                SourceRecord.source == SOURCE, SourceRecord.external_id.in_(kept))))
            plan.missing = [a for a in plan.missing if a not in there]
        inside = set()
        if bbox is not None:
            west, south, east, north = bbox
            m = _MARGIN_DEG
            inside = set(db.session.scalars(select(Account.id).where(
                Account.id.in_(plan.missing), Account.lon.between(west - m, east + m),
                Account.lat.between(south - m, north + m))))
        plan.missing = [a for a in plan.missing if a in inside]
        result.flagged_missing = len(plan.missing)
    # Every row is a known account's; a reference left by a deleted account adds nothing.
    plan.inserts, plan.insert_records, result.inserted = [], [], 0
    result.status = "committed" if (plan.changes or plan.missing or plan.unflag
                                    or plan.conflicts) else "unchanged"
    if result.status == "committed":
        write_import(plan, result, user=user, source=SOURCE, now=now)
    return result


@region_loaded.connect
def _on_region_loaded(sender: Any, meta: dict[str, Any], **_: Any) -> None:
    """After ``region load`` (CLI or job): refresh, and say what changed in ``meta``."""
    index = place_index()
    if index is None:
        return
    bbox = meta.get("bbox")
    fresh = refresh_prospects(index, bbox=tuple(bbox) if bbox else None)
    meta["fresh"] = {"updated": fresh.updated, "closed": fresh.flagged_missing,
                     "back": fresh.unflagged, "conflicts": len(fresh.conflicts)}
