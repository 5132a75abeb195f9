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
:mod:`~geocrm.imports.rows` (validation; a large file's in two processes,
:mod:`~geocrm.imports.halves`), :mod:`~geocrm.imports.matching` (duplicates),
:mod:`~geocrm.imports.writing` (bulk writes); :mod:`~geocrm.imports.results` is what an
import answers.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import select

from geocrm.access import scope_accounts
from geocrm.core.geocoding import queue_after_commit
from geocrm.extensions import db
from geocrm.geocoding.services import geocode_after_import, mark_after_import
from geocrm.imports import sources
from geocrm.imports.guessing import check_guess
from geocrm.imports.halves import clean_columns_in_two
from geocrm.imports.matching import Matcher
from geocrm.imports.reading import FIELDS, check_mapping, guess_mapping, read_table
from geocrm.imports.results import Duplicate, ImportResult, Reject
from geocrm.imports.rows import MAX_FIELD, Cleaned, clean_row, reject_swapped
from geocrm.imports.writing import write_import
from geocrm.jobs import current_job_id
from geocrm.models import (
    Account,
    ImportBatch,
    Role,
    User,
    utcnow,
)
from geocrm.models.planning import Job
from geocrm.uploads import UploadStore

#: How much of an uploaded CSV the mapping page and its preview read.
HEAD_BYTES = 512 * 1024  # ~5,000 rows of a typical register: a preview, not the import
#: How many data rows of an .xlsx workbook they read (a zip cannot be cut by bytes).
HEAD_ROWS = 5_000
#: How the matcher names an existing account in a duplicate (``matching._label``).
_ACCOUNT_LABEL = re.compile(r"^account (\d+) ")
#: Who may import accounts: the upload page and the API's bulk upsert both ask this.
IMPORTERS = (Role.ADMIN, Role.MANAGER)

__all__ = ["FIELDS", "HEAD_BYTES", "HEAD_ROWS", "IMPORTERS", "MAX_FIELD", "Duplicate",
           "ImportResult", "Reject", "after_import", "check_mapping", "clean_row",
           "duplicates_report", "guess_mapping", "head_bytes", "import_accounts",
           "import_records", "read_table", "read_upload_head"]


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
    head_rows: int | None = None,
) -> ImportResult:
    """Import a CSV file of accounts; see the module docstring for the rules.

    File-level problems (empty file, bad header, bad mapping) raise :class:`ValidationError`;
    row-level problems come back as ``result.rejects`` with ``status == "rejected"`` and
    nothing written. ``encoding`` overrides the detected one; ``crs`` is the coordinate
    system of columns mapped as ``x``/``y`` (required with them, never guessed);
    ``sheet`` is the sheet of an .xlsx workbook (the first with data without it);
    ``head_rows`` reads only a workbook's first rows (the preview's dry run of a large one).
    """
    source = (source or "import").strip()[:40]
    # Hundreds of thousands of short-lived dicts would trigger the cyclic garbage collector
    # over and over (seconds at 100k rows); nothing here makes reference cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(data, filename=filename, user=user, source=source, mapping=mapping,
                       snapshot=snapshot, dry_run=dry_run, encoding=encoding, crs=crs,
                       sheet=sheet, head_rows=head_rows)
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


def after_import(result: ImportResult, user_id: int | None) -> Job | None:
    """What every import does once its rows are written: the upload page and the API's import
    job call this one function, so rows without coordinates are placed from their addresses
    (issue 14) whichever door they came through.

    Only a committed import (not a preview, a dry run or a rejected file) queues anything.
    On a page it commits (the job row must reach the worker) and returns the geocoding job,
    or None when there is nothing to place or no geocoder. Inside a background job, which
    must not commit, it only marks the rows: the geocoding job is queued for ``user_id`` as
    soon as :func:`geocrm.jobs.run_job` commits the import, and None is returned.
    """
    if result.status != "committed":
        return None
    if current_job_id() is not None:
        if mark_after_import():
            queue_after_commit(db.session(), user_id)
        return None
    return geocode_after_import(user_id)


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
    head_rows: int | None = None,
) -> ImportResult:
    sha = hashlib.sha256(data).hexdigest()
    result = ImportResult(status="rejected", filename=filename[:255], sha256=sha)
    headers, table = read_table(data, result.notes, filename=filename, encoding=encoding,
                                sheet=sheet, limit=head_rows)
    if mapping is None:  # a guess is checked against the data; a person's mapping is not
        guess = check_guess(guess_mapping(headers), headers, table)
        mapping = guess.mapping
        result.notes.extend(guess.reasons.values())
    headers, table, mapping = sources.project_grid(
        headers, table, mapping, crs, lambda *r: result.rejects.append(Reject(*r)))
    result.mapping = check_mapping(mapping, headers)
    result.rows = len(table)
    index = {h: i for i, h in enumerate(headers)}
    columns = _columns(table, {target: index[h] for target, h in result.mapping.items()})
    numbers = range(2, len(table) + 2)
    addresses: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # one file's repeated addresses
    columns_cleaned = clean_columns_in_two(columns, numbers, result.rejects, addresses=addresses)
    cleaned = [(number, row) for number, row in zip(numbers, columns_cleaned.rows(),
                                                    strict=True) if row is not None]
    del columns
    del table  # the cleaned rows are all that is needed now (100 MB at 100k rows)
    reject_swapped(cleaned, result.rejects)
    if result.rejects:
        result.rejects.sort(key=lambda r: r.row)
        return result
    result.seen_before = (
        db.session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == sha).limit(1))
        is not None
    )
    _apply(cleaned, result, user=user, source=source, snapshot=snapshot, dry_run=dry_run,
           columns=columns_cleaned)
    return result


def read_upload_head(store: UploadStore, token: str, user_id: int, filename: str, *,
                     encoding: str | None = None,
                     sheet: str | None = None) -> tuple[sources.Table, bool, int]:
    """The head of an uploaded file as a table, whether that is the whole file, and how many
    data rows the whole file has (its line count past the header when only the head was read).

    The mapping page and its preview read at most :data:`HEAD_BYTES` of a CSV and the first
    :data:`HEAD_ROWS` rows of a workbook (streamed from the file on disk), so a view costs
    the same memory whatever the file's size (issue 18: 600,000 rows added 350 MB per view);
    the import itself reads every row."""
    path, _meta = store.load(token, user_id)
    if sources.is_xlsx_file(path):
        table = sources.read_xlsx(path, sheet, HEAD_ROWS)
        sources.check_headers(table.headers, table.rows)
        total = table.total if table.total is not None else len(table.rows)
        return table, total == len(table.rows), total
    head, whole, _meta = store.read_head(token, user_id, HEAD_BYTES)
    table = sources.read_source(head, filename, encoding=encoding, sheet=sheet)
    if whole:
        return table, True, len(table.rows)
    lines = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(2**20), b""):
            lines += chunk.count(b"\n")
    return table, False, max(lines - 1, len(table.rows))


def head_bytes(store: UploadStore, token: str, user_id: int) -> bytes:
    """The head of an upload that :func:`read_upload_head` read as a table."""
    return store.read_head(token, user_id, HEAD_BYTES)[0]


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


def _columns(table: list[list[str]], at: Mapping[str, int]) -> dict[str, Sequence[str]]:
    """Target field -> its cells, one per row; a short row's missing cells are blank.

    A file whose rows all have every mapped cell (the common case) is turned in one pass
    of C calls (``itemgetter`` and ``zip``), not a Python loop over its cells.
    """
    if not at:
        return {}
    targets, positions = list(at), list(at.values())
    width = max(positions) + 1
    if min(map(len, table), default=width) >= width:
        if len(positions) == 1:
            return {targets[0]: [cells[positions[0]] for cells in table]}
        picked = zip(*map(itemgetter(*positions), table), strict=True)
        return dict(zip(targets, picked, strict=True))
    return {t: [cells[i] if i < len(cells) else "" for cells in table]
            for t, i in zip(targets, positions, strict=True)}


def _apply(
    cleaned: list[tuple[int, dict[str, Any]]],
    result: ImportResult,
    *,
    user: User | None,
    source: str,
    snapshot: bool,
    dry_run: bool,
    columns: Cleaned | None = None,
) -> None:
    """Match the valid rows, count what would change, and write it unless ``dry_run``
    (``columns``: the file's cleaned columns the rows were made from, for the writer)."""
    now = utcnow()
    plan = Matcher(cleaned, result, source=source, now=now).run(cleaned, snapshot=snapshot)
    result.status = "committed" if (plan.inserts or plan.changes or plan.missing or plan.unflag
                                    or plan.conflicts) else "unchanged"
    if dry_run:
        return
    write_import(plan, result, user=user, source=source, now=now, columns=columns)
