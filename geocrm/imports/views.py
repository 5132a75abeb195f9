"""Import upload page (placeholder until the import module lands)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from geocrm.access import roles_required
from geocrm.models import Role

bp = Blueprint("imports", __name__, url_prefix="/imports")


@bp.route("/")
@roles_required(Role.ADMIN, Role.MANAGER)
def index() -> Any:
    """Upload a CSV of accounts."""
    return "imports coming", 200
