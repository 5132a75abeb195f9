"""Territory management pages (issue 4). Thin views over ``geocrm.territory_admin.services``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("territory_admin", __name__, url_prefix="/territories")
