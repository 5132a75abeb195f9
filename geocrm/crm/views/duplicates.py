"""Likely duplicates (scanned per view, or by a background job for large sets), dismissing
a pair, and merging two accounts field by field.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from geocrm.access import roles_required, scope_territories
from geocrm.core.transaction import commits
from geocrm.crm import duplicates
from geocrm.crm.merging import HISTORY_LABELS
from geocrm.crm.views.blueprint import DATA_STEWARDS, back, bp, flash_error
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import local_datetime
from geocrm.jobs import job_json, reap_if_orphaned
from geocrm.models import Territory
from geocrm.models.planning import JobStatus


@bp.route("/duplicates")
@roles_required(*DATA_STEWARDS)
def duplicate_list() -> Any:
    """Likely duplicate pairs among the accounts the user may see, a page at a time.

    Large sets are scanned by a background job (started with the button, its progress
    shown here) and paged from its stored result; small ones are scanned on each view.
    """
    territory = request.args.get("territory", type=int)
    number = request.args.get("page", type=int) or 1
    page, job, crowded = None, None, 0
    background = duplicates.use_job(current_user)
    if background:
        found = duplicates.latest_scan(current_user, territory)
        if found is not None:
            reap_if_orphaned(found)
            job = job_json(found)
            job["message"] = duplicates.progress_words(job.get("message"))
            job["finished_local"] = local_datetime(found.finished_at)
            if found.status == JobStatus.DONE:
                page = duplicates.stored_page(current_user, found.result or {}, number)
                crowded = int((found.result or {}).get("crowded") or 0)
    else:
        scan = duplicates.scan_for(current_user, territory)
        page, crowded = duplicates.page_of(duplicates.candidates(scan), number), scan.crowded
    territories = db.session.scalars(
        scope_territories(select(Territory), current_user)
        .order_by(Territory.name)
    ).all()
    return render_template("crm/duplicates.html", page=page, job=job, background=background,
                           crowded=crowded, max_block=duplicates.MAX_BLOCK,
                           territories=territories, territory=territory)


@bp.route("/duplicates/scan", methods=["POST"])
@roles_required(*DATA_STEWARDS)
@commits
def scan_duplicates() -> Any:
    """Start a background scan for duplicates (the list page shows its progress)."""
    territory = request.form.get("territory", type=int)
    duplicates.start_scan(current_user, territory)
    return redirect(url_for("crm.duplicate_list", territory=territory))


@bp.route("/duplicates/dismiss", methods=["POST"])
@roles_required(*DATA_STEWARDS)
@commits
def dismiss_duplicate() -> Any:
    """Mark a pair as not duplicates."""
    a = request.form.get("a", type=int) or 0
    b = request.form.get("b", type=int) or 0
    try:
        duplicates.dismiss_pair(current_user, a, b)
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Marked as different accounts."), "info")
    return redirect(back(url_for("crm.duplicate_list")))


@bp.route("/merge", methods=["GET", "POST"])
@roles_required(*DATA_STEWARDS)
@commits
def merge() -> Any:
    """Pick the surviving account and each field's value, then merge."""
    source = request.form if request.method == "POST" else request.args
    survivor_id = source.get("survivor", type=int) or 0
    merged_id = source.get("merged", type=int) or 0
    if request.method == "POST":
        choices = {k[len("pick_"):]: v for k, v in request.form.items() if k.startswith("pick_")}
        try:
            record = duplicates.merge_accounts(current_user, survivor_id, merged_id, choices)
        except ValidationError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            moved = sum(v for v in record.moved.values())
            flash(_("Merged “%(name)s” into this account; %(moved)s history rows moved.",
                    name=record.merged_name, moved=moved), "info")
            return redirect(url_for("accounts.detail", account_id=survivor_id))
    preview = duplicates.merge_preview(current_user, survivor_id, merged_id)
    return render_template("crm/merge.html", preview=preview,
                           history_labels=HISTORY_LABELS), (
        422 if request.method == "POST" else 200
    )
