"""Planner pages (issue 3). Thin views over ``geocrm.planning.services``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask_login import current_user, login_required

from geocrm import jobs

bp = Blueprint("planning", __name__, url_prefix="/planning")


@bp.route("/jobs/<int:job_id>")
@login_required
def job_status(job_id: int) -> Any:
    """A background job's status and progress as JSON (its creator and admins only)."""
    response = jsonify(jobs.job_json(jobs.get_job_for(job_id, current_user)))
    response.headers["Cache-Control"] = "no-store"
    return response
