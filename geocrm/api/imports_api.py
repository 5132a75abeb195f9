"""/api/v1/imports (issue 18): upload a file of accounts, follow its job, read its rejects.

The upload page's rules, from a script: the file (CSV in any common encoding, or .xlsx) is
read at once, so an unreadable one is a 422 before anything is queued; the import itself
runs as a background job (:mod:`geocrm.imports.job`) through
:func:`geocrm.imports.services.import_accounts` — all or nothing, a rejected file names
each row and field. Importers only (admins and managers, like the page); an import is
its uploader's (admins see every one), like every job.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from pydantic import ValidationError as PydanticError
from sqlalchemy import or_, select

from geocrm import jobs
from geocrm.access import roles_required
from geocrm.api import bp
from geocrm.api.object_lists import (
    PageQuery,
    SortKey,
    Text,
    decode_cursor,
    encode_cursor,
    keyset_page,
    utc_naive,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.core.transaction import commits
from geocrm.errors import NotFoundError, ValidationError
from geocrm.imports import sources, words
from geocrm.imports.job import JOB_FUNC, JOB_KIND
from geocrm.imports.results import ImportResult, Reject
from geocrm.imports.services import IMPORTERS
from geocrm.models import Role
from geocrm.models.planning import Job, JobStatus
from geocrm.uploads import ACCOUNT_IMPORTS as uploads

SORT_KEYS = {"id": SortKey(Job.id), "created_at": SortKey(Job.created_at, "time")}


class ImportUpload(Schema):
    """The multipart form of an upload."""

    file: bytes = Field(description="the CSV or .xlsx file")
    source: Text = Field("import", min_length=1, max_length=40,
                        description="the system the file comes from (external ids are "
                        "unique within it)")
    encoding: Literal[tuple(sources.ENCODINGS)] | None = Field(  # type: ignore[valid-type]
        None, description="the file's encoding (detected without it)")
    snapshot: bool = Field(False, description="the file is the source's whole list: "
                           "accounts it no longer has are flagged")
    dry_run: bool = Field(False, description="report what the import would do, write nothing")
    mapping: Text | None = Field(None, max_length=4000,
                                description='JSON object of field → column, e.g. '
                                '{"name": "상호", "lat": "위도"} (guessed without it)')


class ImportListQuery(PageQuery):
    status: list[JobStatus] = Field(default_factory=list)
    updated_since: datetime | None = Field(
        None, description="imports uploaded or finished at or after this time")
    sort: Literal["id", "-id", "created_at", "-created_at"] = "id"
    limit: int = Field(50, ge=1, le=200)


class RejectQuery(Schema):
    cursor: Text | None = Field(None, max_length=400)
    limit: int = Field(1000, ge=1, le=10_000)


class ImportOut(Loose):
    id: int
    status: str
    finished: bool
    progress: float
    result: dict[str, Any] | None


class ImportPage(Loose):
    total: int
    items: list[ImportOut]
    next_cursor: str | None


class RejectOut(Loose):
    row: int
    field: str
    reason: str
    value: str


class RejectPage(Loose):
    total: int
    items: list[RejectOut]
    next_cursor: str | None


def _result(stored: Any) -> dict[str, Any] | None:
    """The job's result for this reader: notes in their language, the lists left out (they
    have their own endpoints)."""
    if not isinstance(stored, dict):
        return None
    out = {k: v for k, v in stored.items() if k not in ("rejects", "duplicates", "notes")}
    out["notes"] = [words.sentence(n) for n in stored.get("notes") or []]
    out["duplicates"] = len(stored.get("duplicates") or [])
    return out


def import_json(job: Job) -> dict[str, Any]:
    body = jobs.job_json(job)
    kwargs = job.kwargs or {}
    body.update(filename=kwargs.get("filename"), source=kwargs.get("source"),
                dry_run=bool(kwargs.get("dry_run")), result=_result(job.result))
    return body


def _visible() -> Any:
    """The imports ``current_user`` may follow: their own; an admin's, every one."""
    stmt = select(Job).where(Job.kind == JOB_KIND)
    if current_user.role != Role.ADMIN:
        stmt = stmt.where(Job.created_by_id == current_user.id)
    return stmt


def _get_import_or_404(import_id: int) -> Job:
    job = jobs.get_job_for(import_id, current_user)
    if job.kind != JOB_KIND:
        raise NotFoundError(_("No import %(id)s.", id=import_id))
    return job


def _mapping(text: str | None) -> dict[str, str] | None:
    if text is None or not text.strip():
        return None
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise ValidationError("mapping", _("must be a JSON object of field names to columns"))
    return found


def _upload() -> ImportUpload:
    """The multipart form, checked by the documented model."""
    file = request.files.get("file")
    data: dict[str, Any] = {k: v for k, v in request.form.items()}
    if file is None or not file.filename:
        raise ValidationError("file", _("choose a file"))
    data["file"] = file.read()
    try:
        return ImportUpload.model_validate(data)
    except PydanticError as err:
        first = err.errors(include_url=False)[0]
        raise ValidationError(".".join(str(p) for p in first["loc"]) or "body",
                              str(first["msg"])) from None


@bp.route("/imports", methods=["POST"])
@roles_required(*IMPORTERS)
@commits
@api_schema(body=ImportUpload, body_content="multipart/form-data",
            responses={202: ImportOut}, errors=(403,),
            headers={202: {"Location": "the import to poll"}})
def create_import() -> Any:
    """Upload a file of accounts and start importing it in the background (the upload
    page's rules); 422 at once for a file that cannot be read."""
    form = _upload()
    filename = (request.files["file"].filename or "").replace("\x00", "")[:255] or "upload.csv"
    mapping = _mapping(form.mapping)
    try:
        table = sources.read_source(form.file, filename, encoding=form.encoding)
    except ValidationError as err:
        raise ValidationError("file", words.sentence(err.message)) from None
    token = uploads.save(form.file, {
        "user_id": current_user.id, "filename": filename, "source": form.source.strip(),
        "snapshot": form.snapshot, "rows": len(table.rows), "encoding": form.encoding,
    }, suffix=".xlsx" if table.format == "xlsx" else ".csv")
    job = jobs.submit_job(JOB_KIND, JOB_FUNC, {
        "token": token, "user_id": current_user.id, "mapping": mapping,
        "dry_run": form.dry_run, "filename": filename, "source": form.source.strip()},
        current_user.id)
    response = jsonify(import_json(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.import_status", import_id=job.id)
    return response


@bp.route("/imports")
@roles_required(*IMPORTERS)
@api_schema(query=ImportListQuery, responses={200: ImportPage}, errors=(403,))
def imports(query: ImportListQuery) -> Any:
    """A page of your imports (admins: everyone's), keyset ``cursor``."""
    stmt = _visible()
    if query.status:
        stmt = stmt.where(Job.status.in_(query.status))
    since = utc_naive(query.updated_since)
    if since is not None:
        stmt = stmt.where(or_(Job.created_at >= since, Job.finished_at >= since))
    rows, next_cursor, total = keyset_page(stmt, sort=query.sort, keys=SORT_KEYS,
                                           id_column=Job.id, cursor=query.cursor,
                                           limit=query.limit)
    return jsonify({"total": total, "items": [import_json(j) for j in rows],
                    "next_cursor": next_cursor})


@bp.route("/imports/<int:import_id>")
@roles_required(*IMPORTERS)
@api_schema(responses={200: ImportOut}, errors=(403,))
def import_status(import_id: int) -> Any:
    """An import's job: status and progress; once done, what it did (counts, batch)."""
    response = jsonify(import_json(_get_import_or_404(import_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _rejects(job: Job) -> list[dict[str, Any]]:
    stored = job.result if isinstance(job.result, dict) else {}
    return [r for r in stored.get("rejects") or [] if isinstance(r, dict)]


@bp.route("/imports/<int:import_id>/rejects")
@roles_required(*IMPORTERS)
@api_schema(query=RejectQuery, responses={200: RejectPage}, errors=(403,))
def import_rejects(import_id: int, query: RejectQuery) -> Any:
    """The rows a rejected import refused: row (as a spreadsheet numbers it), field, reason
    in your language, value; empty until the job has finished."""
    rejects = _rejects(_get_import_or_404(import_id))
    start = 0 if query.cursor is None else decode_cursor(query.cursor, "row", "int")[0] + 1
    chunk = rejects[start:start + query.limit]
    more = start + query.limit < len(rejects)
    return jsonify({
        "total": len(rejects),
        "items": [{"row": r.get("row"), "field": r.get("field"),
                   "reason": words.sentence(r.get("reason", "")), "value": r.get("value", "")}
                  for r in chunk],
        "next_cursor": encode_cursor("row", start + len(chunk) - 1, 0) if more else None,
    })


@bp.route("/imports/<int:import_id>/rejects.csv")
@roles_required(*IMPORTERS)
@api_schema(errors=(403,))
def import_rejects_csv(import_id: int) -> Any:
    """The same reject report as CSV (the upload page's file; formulas defused)."""
    rejects = [Reject(int(r.get("row") or 0), str(r.get("field") or ""),
                      str(r.get("reason") or ""), str(r.get("value") or ""))
               for r in _rejects(_get_import_or_404(import_id))]
    report = ImportResult(status="rejected", filename="", sha256="", rejects=rejects)
    return Response(report.reject_report_csv(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{import_id}-rejects.csv"',
        "Cache-Control": "private, no-store"})
