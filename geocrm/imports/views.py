"""Import pages: upload → map columns → result (with reject and duplicate reports)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.imports import services
from geocrm.imports.forms import UploadForm, mapping_form
from geocrm.models import ImportBatch, Role
from geocrm.uploads import ACCOUNT_IMPORTS as uploads

bp = Blueprint("imports", __name__, url_prefix="/imports")
IMPORTERS = (Role.ADMIN, Role.MANAGER)


@bp.route("/", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
@commits
def index() -> Any:
    """Upload a CSV file of accounts."""
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            headers, rows = services.read_table(data)
        except ValidationError as err:
            flash(f"{form.file.data.filename}: {err.message}", "error")
            status = 422
        else:
            token = uploads.save(data, {
                "user_id": current_user.id, "filename": form.file.data.filename or "upload.csv",
                "source": form.source.data, "snapshot": bool(form.snapshot.data),
                "rows": len(rows),
            }, suffix=".csv")
            return redirect(url_for("imports.mapping", token=token))
    elif request.method == "POST":
        status = 422
    batches = db.session.scalars(
        select(ImportBatch).order_by(ImportBatch.id.desc()).limit(20)
    ).all()
    return render_template("imports/index.html", form=form, batches=batches), status


@bp.route("/<token>/map", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
@commits
def mapping(token: str) -> Any:
    """Match the file's columns to account fields, then import."""
    data, meta = uploads.read(token, current_user.id)
    headers, rows = services.read_table(data)
    form = mapping_form(headers, services.guess_mapping(headers))
    if not form.validate_on_submit():
        return render_template("imports/mapping.html", form=form, meta=meta, headers=headers,
                               sample=rows[:5], fields=list(services.FIELDS), token=token)
    chosen = {t: form[t].data for t in services.FIELDS if form[t].data}
    try:
        result = services.import_accounts(
            data, filename=meta["filename"], user=current_user, source=meta["source"],
            mapping=chosen, snapshot=meta["snapshot"],
        )
    except ValidationError as err:
        flash(err.message, "error")
        return render_template("imports/mapping.html", form=form, meta=meta, headers=headers,
                               sample=rows[:5], fields=list(services.FIELDS), token=token), 422
    if result.status == "rejected":
        uploads.put_extra(token, "rejects.csv", result.reject_report_csv())
        return render_template("imports/result.html", result=result, token=token), 422
    uploads.discard(token)
    return render_template("imports/result.html", result=result, token=None)


@bp.route("/<token>/rejects.csv")
@roles_required(*IMPORTERS)
def rejects(token: str) -> Response:
    """The reject report of a rejected upload: row, field, reason, value."""
    report = uploads.get_extra(token, current_user.id, "rejects.csv")
    if report is None:
        raise NotFoundError("No reject report for this upload.")
    return _csv(report, "rejects.csv")


@bp.route("/batches/<int:batch_id>/duplicates.csv")
@roles_required(*IMPORTERS)
def duplicates(batch_id: int) -> Response:
    """The duplicates an import found, as CSV."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"No import {batch_id}.")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "name", "rule", "same as"])
    for d in batch.duplicates:
        writer.writerow([d.get("row"), d.get("name"), d.get("rule"), d.get("other")])
    return _csv(out.getvalue(), f"import-{batch_id}-duplicates.csv")


def _csv(text: str, filename: str) -> Response:
    return Response(
        text, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
