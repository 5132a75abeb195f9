"""Territory map (placeholder until the map module lands)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from geocrm.access import roles_required
from geocrm.models import Role

bp = Blueprint("maps", __name__, url_prefix="/maps")


@bp.route("/territories")
@roles_required(Role.ADMIN, Role.MANAGER, Role.PLANNER)
def territories() -> Any:
    """Prospects on a map by territory."""
    return "map coming", 200
