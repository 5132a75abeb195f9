"""Data health: counts per data-quality check and the accounts failing one."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.crm import health
from geocrm.crm.views.blueprint import HEALTH_ROLES, bp, today


@bp.route("/health")
@roles_required(*HEALTH_ROLES)
def data_health() -> Any:
    """Counts per data-quality check, and the accounts failing the chosen one."""
    check = request.args.get("check") or "no_location"
    counts = health.health_counts(current_user, today())
    rows = health.health_list(current_user, check, today())
    return render_template("crm/health.html", counts=counts, rows=rows, check=check,
                           checks=health.CHECKS)
