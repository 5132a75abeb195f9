"""Import pages: upload → map columns and preview the consequences → result (with reports)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from geocrm.access import get_import_or_404, roles_required, scope_imports
from geocrm.core.transaction import commits
from geocrm.csvout import csv_string
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.imports import conflicts, services, sources, words
from geocrm.imports.forms import GRID_FIELDS, UploadForm, mapping_form
from geocrm.imports.guessing import check_guess
from geocrm.jobs import job_json
from geocrm.models import ImportBatch
from geocrm.uploads import ACCOUNT_IMPORTS as uploads

bp = Blueprint("imports", __name__, url_prefix="/imports")
IMPORTERS = services.IMPORTERS


@bp.app_template_filter("import_word")
def import_word(value: Any) -> str:
    """A count, status, duplicate rule or field key of an import, in words."""
    return words.word(value)


@bp.app_template_filter("import_outcome")
def import_outcome(value: Any) -> str:
    """What the import did with a row like another record, in words."""
    return words.outcome(value)


@bp.app_template_filter("import_note")
def import_note(value: Any) -> str:
    """A note, reason or file error the import wrote, in the reader's language."""
    return words.sentence(value)


@bp.route("/", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
@commits
def index() -> Any:
    """Upload a CSV or .xlsx file of accounts."""
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        filename = form.file.data.filename or "upload.csv"
        encoding = form.encoding.data or None
        # Streamed to disk, then only its head is read to check it (issue 18: a 600k-row
        # file was read whole, twice, on every page).
        token = uploads.save_stream(form.file.data.stream, {
            "user_id": current_user.id, "filename": filename,
            "source": form.source.data, "snapshot": bool(form.snapshot.data),
            "encoding": encoding}, suffix=".upload")
        try:
            table, whole, rows = services.read_upload_head(uploads, token, current_user.id,
                                                           filename, encoding=encoding)
        except ValidationError as err:
            uploads.discard(token)
            flash(_("%(file)s: %(problem)s", file=filename, problem=words.sentence(err.message)),
                  "error")
            status = 422
        else:
            uploads.update_meta(token, {"rows": rows, "suffix_kind": table.format})
            return redirect(url_for("imports.mapping", token=token))
    elif request.method == "POST":
        status = 422
    batches = db.session.scalars(
        scope_imports(select(ImportBatch), current_user).order_by(ImportBatch.id.desc())
        .limit(20)
    ).all()
    return render_template("imports/index.html", form=form, batches=batches), status


def _signature(mapping: dict[str, str], crs: str, encoding: str) -> str:
    """What a preview was computed for: an import of anything else is previewed first."""
    text = json.dumps([sorted(mapping.items()), crs, encoding], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@bp.route("/<token>/map", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
@commits
def mapping(token: str) -> Any:
    """Match the file's columns to account fields, preview the consequences, then import.

    The page opens with the checked guess already previewed (rows to add, update, flag as
    gone, reject, review), so nothing is written before the user has seen what will be.
    ``?encoding=`` re-reads the file in another encoding, ``?sheet=`` a workbook's other sheet.
    """
    _path, meta = uploads.load(token, current_user.id)
    wanted = (request.values.get("encoding") or meta.get("encoding") or "").strip()
    if wanted and wanted not in sources.ENCODINGS:
        wanted = ""
    sheet = (request.values.get("sheet") or "").strip() or None
    page: dict[str, Any] = {"meta": meta, "token": token,
                            "encodings": words.encodings(sources.ENCODINGS),
                            "fields": [*services.FIELDS, *GRID_FIELDS], "preview": None}
    try:
        table, whole, rows = services.read_upload_head(
            uploads, token, current_user.id, meta["filename"], encoding=wanted or None,
            sheet=sheet)
    except ValidationError as err:
        flash(words.sentence(err.message), "error")
        return render_template("imports/mapping.html", form=None, table=None,
                               encoding=wanted, reasons={}, **page), 422
    encoding = table.detected.encoding if table.detected else ""
    guess = check_guess(services.guess_mapping(table.headers), table.headers, table.rows)
    form = mapping_form(table.headers, guess.mapping, encoding=encoding,
                        sheet=table.sheet or "")
    # A preview of a large file is of its first rows (the head read above); the import
    # itself reads the whole file from disk.
    page.update(table=table, encoding=encoding, reasons=guess.reasons, rows=rows,
                partial=None if whole else len(table.rows))

    def run(chosen: dict[str, str], crs: str, *, dry_run: bool) -> services.ImportResult:
        head = dry_run and not whole  # the preview of a large file: its head only
        workbook = table.format == "xlsx"  # a zip is not cut by bytes: read its first rows
        data = (services.head_bytes(uploads, token, current_user.id) if head and not workbook
                else uploads.read(token, current_user.id)[0])
        return services.import_accounts(
            data, filename=meta["filename"], user=current_user, source=meta["source"],
            # a snapshot's "gone" rows are unknown from the head alone: not previewed
            mapping=chosen, snapshot=meta["snapshot"] and (whole or not dry_run),
            dry_run=dry_run, head_rows=services.HEAD_ROWS if head and workbook else None,
            encoding=encoding or None, crs=crs or None, sheet=table.sheet)

    if request.method == "POST" and not form.validate_on_submit():
        return render_template("imports/mapping.html", form=form, **page), 422
    if request.method == "POST":
        chosen = {t: form[t].data for t in page["fields"] if form[t].data}
        crs = (form.crs.data or "").strip()
        signature = _signature(chosen, crs, f"{encoding}/{table.sheet or ''}")
        wants_preview = bool(form.preview.data) or (
            bool(form.previewed.data) and form.previewed.data != signature)
    else:
        chosen, crs = guess.mapping, ""
        signature = _signature(chosen, crs, f"{encoding}/{table.sheet or ''}")
        wants_preview = True
    try:
        result = run(chosen, crs, dry_run=wants_preview)
    except ValidationError as err:
        if request.method == "POST":
            flash(words.sentence(err.message), "error")
        page["problem"] = err.message
        return render_template("imports/mapping.html", form=form, **page), (
            422 if request.method == "POST" else 200)
    if wants_preview:
        form.previewed.data = signature
        if result.rejects:
            uploads.put_extra(token, "rejects.csv", result.reject_report_csv())
        page["preview"] = result
        return render_template("imports/mapping.html", form=form, **page)
    if result.status == "rejected":
        uploads.put_extra(token, "rejects.csv", result.reject_report_csv())
        return render_template("imports/result.html", result=result, token=token), 422
    uploads.discard(token)
    # Rows without coordinates are placed from their addresses in the background (issue 14).
    geocode = services.after_import(result, current_user.id)
    return render_template("imports/result.html", result=result, token=None,
                           geocode_job=job_json(geocode) if geocode is not None else None)


@bp.route("/<token>/rejects.csv")
@roles_required(*IMPORTERS)
def rejects(token: str) -> Response:
    """The reject report of a rejected upload: row, field, reason, value."""
    report = uploads.get_extra(token, current_user.id, "rejects.csv")
    if report is None:
        raise NotFoundError(_("No reject report for this upload."))
    return _csv(report, "rejects.csv")


@bp.route("/batches/<int:batch_id>/duplicates.csv")
@roles_required(*IMPORTERS)
def duplicates(batch_id: int) -> Response:
    """The duplicates an import found, as CSV."""
    batch = get_import_or_404(batch_id, current_user)
    text = csv_string(
        [_("row"), _("name"), _("rule"), _("same as"), _("outcome")],
        ([d.get("row"), d.get("name"), words.word(d.get("rule")),
          d.get("other") or _("an account you cannot see"),
          words.outcome(d.get("outcome", ""))]
         for d in services.duplicates_report(batch, current_user)),
    )
    return _csv(text, f"import-{batch_id}-duplicates.csv")


@bp.route("/conflicts")
@roles_required(*IMPORTERS)
def conflicts_list() -> Any:
    """Open conflicts: fields an import left alone because a person changed them."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    batch_id = request.args.get("batch", None, type=int)
    rows, total = conflicts.open_conflicts(current_user, page=page, batch_id=batch_id)
    return render_template("imports/conflicts.html", conflicts=rows, total=total, page=page,
                           per_page=conflicts.PAGE, batch_id=batch_id)


@bp.route("/conflicts/<int:conflict_id>", methods=["POST"])
@roles_required(*IMPORTERS)
@commits
def conflict_resolve(conflict_id: int) -> Any:
    """Take the imported value or keep the account's."""
    try:
        conflicts.resolve(current_user, conflict_id, request.form.get("action", ""))
    except ValidationError as err:
        flash(words.sentence(err.message), "error")
        return redirect(url_for("imports.conflicts_list")), 303
    flash(_("Conflict resolved."), "success")
    return redirect(url_for("imports.conflicts_list"))


def _csv(text: str, filename: str) -> Response:
    return Response(
        text, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
