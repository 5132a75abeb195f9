"""Importing accounts from CSV: mapping, row validation, duplicates, snapshots, fast writes.

One function, :func:`import_accounts`, serves the upload page, the CLI and jobs. The rules:

* **All or nothing per file.** Every row is validated first; if any row is rejected, nothing
  is written and the result carries a reject report naming row, field and reason. Row
  numbers are the file's line numbers as a spreadsheet shows them (the header is row 1).
* **No row is lost, none doubled** (:mod:`~geocrm.imports.matching`). A row with an external
  id is that record of the source, matched by the id first (merged-away ids are aliases of
  their survivor); rows with distinct ids are never folded together — a likely duplicate
  (same normalised name within 50 m, or same address and a similar name) is imported and
  listed for review, or linked to a hand-made account without an id. A row without an id
  is matched by that duplicate rule and reported.
* **People win.** A re-import changes a field only if the source owns it and nobody changed
  it since the source last set it (field-level provenance in
  :class:`~geocrm.models.provenance.SourceRecord`); otherwise the account keeps its value
  and a conflict is listed for review. Every change is in the audit trail with the source,
  the file and the row.
* **Re-importing the same file changes nothing**: every row matches and nothing differs, so
  no version bump and no audit noise.
* **Snapshots** (``snapshot=True``): accounts of this source that the file no longer has
  are flagged ``missing_since`` (never deleted); accounts that come back are unflagged.
* **Fast**: existing keys are read in one query, rows are written with executemany, the
  territory assignment is vectorised, and the 50 m test uses a grid hash, not pairs.

The steps live in their own modules: :mod:`~geocrm.imports.reading` (file and mapping),
:mod:`~geocrm.imports.rows` (validation), :mod:`~geocrm.imports.matching` (duplicates),
:mod:`~geocrm.imports.writing` (bulk writes); :mod:`~geocrm.imports.results` is what an
import answers.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from sqlalchemy import select

from geocrm.access import scope_accounts
from geocrm.extensions import db
from geocrm.imports import sources
from geocrm.imports.guessing import check_guess
from geocrm.imports.matching import Matcher
from geocrm.imports.reading import FIELDS, check_mapping, guess_mapping, read_table
from geocrm.imports.results import Duplicate, ImportResult, Reject
from geocrm.imports.rows import MAX_FIELD, clean_row, reject_swapped
from geocrm.imports.writing import write_import
from geocrm.models import (
    Account,
    ImportBatch,
    Role,
    User,
    utcnow,
)

#: How the matcher names an existing account in a duplicate (``matching._label``).
_ACCOUNT_LABEL = re.compile(r"^account (\d+) ")
#: Who may import accounts: the upload page and the API's bulk upsert both ask this.
IMPORTERS = (Role.ADMIN, Role.MANAGER)

__all__ = ["FIELDS", "IMPORTERS", "MAX_FIELD", "Duplicate", "ImportResult", "Reject",
           "check_mapping", "clean_row", "duplicates_report", "guess_mapping", "import_accounts",
           "import_records", "read_table"]


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
    sheet: str | None = None,
) -> ImportResult:
    """Import a CSV file of accounts; see the module docstring for the rules.

    File-level problems (empty file, bad header, bad mapping) raise :class:`ValidationError`;
    row-level problems come back as ``result.rejects`` with ``status == "rejected"`` and
    nothing written. ``encoding`` overrides the detected one; ``crs`` is the coordinate
    system of columns mapped as ``x``/``y`` (required with them, never guessed);
    ``sheet`` is the sheet of an .xlsx workbook (the first with data without it).
    """
    source = (source or "import").strip()[:40]
    # Hundreds of thousands of short-lived dicts would trigger the cyclic garbage collector
    # over and over (seconds at 100k rows); nothing here makes reference cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(data, filename=filename, user=user, source=source, mapping=mapping,
                       snapshot=snapshot, dry_run=dry_run, encoding=encoding, crs=crs,
                       sheet=sheet)
    finally:
        if gc_was_enabled:
            gc.enable()


def import_records(
    records: list[dict[str, str]],
    *,
    user: User | None,
    source: str,
    dry_run: bool = False,
) -> ImportResult:
    """Import records that arrive as data, not a file (the API's bulk upsert), by the same
    rules: every record through :func:`clean_row`, swapped coordinates, matching by external
    id and the field-level provenance of :func:`_apply`. Record *n* (from 1) is reported as
    row *n*; all or nothing, as with a file."""
    source = (source or "import").strip()[:40]
    sha = hashlib.sha256(repr(records).encode()).hexdigest()
    result = ImportResult(status="rejected", filename=f"{source} (API)", sha256=sha,
                          rows=len(records))
    result.mapping = {k: k for k in sorted({k for r in records for k in r})}
    cleaned: list[tuple[int, dict[str, Any]]] = []
    addresses: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for number, raw in enumerate(records, start=1):
        # A record without a name is a row with a blank name cell: refused, as in a file.
        row = clean_row({"name": "", **raw}, number, result.rejects, addresses=addresses)
        if row is not None:
            cleaned.append((number, row))
    reject_swapped(cleaned, result.rejects)
    if result.rejects:
        result.rejects.sort(key=lambda r: r.row)
        return result
    _apply(cleaned, result, user=user, source=source, snapshot=False, dry_run=dry_run)
    return result


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
    sheet: str | None = None,
) -> ImportResult:
    sha = hashlib.sha256(data).hexdigest()
    result = ImportResult(status="rejected", filename=filename[:255], sha256=sha)
    headers, table = read_table(data, result.notes, filename=filename, encoding=encoding,
                                sheet=sheet)
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
    targets = [t for t, _ in columns]
    # A full-width row (the common case) is picked in one C call; a short row pads with "".
    pick = itemgetter(*(i for _, i in columns)) if len(columns) > 1 else None
    width = max((i for _, i in columns), default=-1) + 1
    addresses: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # one file's repeated addresses
    for number, cells in enumerate(table, start=2):
        if pick is not None and len(cells) >= width:
            raw = dict(zip(targets, pick(cells), strict=True))
        else:
            raw = {t: (cells[i] if i < len(cells) else "") for t, i in columns}
        row = clean_row(raw, number, result.rejects, addresses=addresses)
        if row is not None:
            cleaned.append((number, row))
    del table  # the cleaned rows are all that is needed now (100 MB at 100k rows)
    reject_swapped(cleaned, result.rejects)
    if result.rejects:
        result.rejects.sort(key=lambda r: r.row)
        return result
    result.seen_before = (
        db.session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == sha).limit(1))
        is not None
    )
    _apply(cleaned, result, user=user, source=source, snapshot=snapshot, dry_run=dry_run)
    return result


def duplicates_report(batch: ImportBatch, user: User) -> list[dict[str, Any]]:
    """The duplicates ``batch`` found, for ``user``: an existing account they may not see is
    not named (``other`` is ``None``), so the report never tells another territory's names.

    The matcher compares a file with every account of the company, so even one's own
    import may have found its like outside one's territories."""
    named = {int(m.group(1)): d for d in batch.duplicates
             if (m := _ACCOUNT_LABEL.match(str(d.get("other") or "")))}
    visible = set(db.session.scalars(
        scope_accounts(select(Account.id), user).where(Account.id.in_(named)))) if named else set()
    rows = []
    for d in batch.duplicates:
        m = _ACCOUNT_LABEL.match(str(d.get("other") or ""))
        hidden = m is not None and int(m.group(1)) not in visible
        rows.append({**d, "other": None} if hidden else d)
    return rows


def _apply(
    cleaned: list[tuple[int, dict[str, Any]]],
    result: ImportResult,
    *,
    user: User | None,
    source: str,
    snapshot: bool,
    dry_run: bool,
) -> None:
    """Match the valid rows, count what would change, and write it unless ``dry_run``."""
    now = utcnow()
    plan = Matcher(cleaned, result, source=source, now=now).run(cleaned, snapshot=snapshot)
    result.status = "committed" if (plan.inserts or plan.changes or plan.missing or plan.unflag
                                    or plan.conflicts) else "unchanged"
    if dry_run:
        return
    write_import(plan, result, user=user, source=source, now=now)
