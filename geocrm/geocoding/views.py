"""The geocoding page: where the accounts' pins stand, and the background runs with progress.

Managers and admins see how many accounts wait for the geocoder, how many it placed at each
grade (the low ones are listed in Data health), start a run or fill addresses from pins, and
follow a job's progress (the import's result page links to it). The field app's reverse
look-up is in the API (:mod:`geocrm.api.geocode`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from geocrm.access import roles_required
from geocrm.core.geocoding import JOB_FUNC, JOB_KIND
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.geocoding import services
from geocrm.geocoding.engine import current_geocoder, engine_name
from geocrm.jobs import get_job_for, job_json, submit_job
from geocrm.models import Role

bp = Blueprint("geocoding", __name__, url_prefix="/geocoding")
MANAGERS = (Role.ADMIN, Role.MANAGER)
FILL_FUNC = "geocrm.geocoding.jobs:fill_addresses_job"


@bp.route("/")
@roles_required(*MANAGERS)
def index() -> Any:
    """Counts per state and grade, the engine in use, and the two buttons."""
    try:
        engine, problem = engine_name(), None
        available = current_geocoder() is not None
    except ValidationError as err:
        engine, problem, available = "?", err.message, False
    return render_template("geocoding/index.html", summary=services.summary(current_user),
                           engine=engine, available=available, problem=problem)


@bp.route("/run", methods=["POST"])
@roles_required(*MANAGERS)
@commits
def run() -> Any:
    """Queue a run over every pinless account with an address (and every pending one)."""
    what = request.form.get("what", "geocode")
    if what == "addresses":
        job = submit_job("fill_addresses", FILL_FUNC, {"user_id": current_user.id},
                         current_user.id)
    else:
        services.mark_pinless()
        services.mark_stale()
        if request.form.get("retry"):
            services.retry_unplaced()
        job = submit_job(JOB_KIND, JOB_FUNC, {"user_id": current_user.id}, current_user.id)
    return redirect(url_for("geocoding.job", job_id=job.id))


@bp.route("/jobs/<int:job_id>")
@login_required
def job(job_id: int) -> Any:
    """One geocoding job: its progress (the page refreshes itself), then what it did."""
    found = job_json(get_job_for(job_id, current_user))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(found)
    return render_template("geocoding/job.html", job=found)
