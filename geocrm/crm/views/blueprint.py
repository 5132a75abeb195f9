"""The CRM blueprint and what its pages share: who may see them, today's date in the company's
time zone, the safe way back after a form, flashing a refused write, CSV responses.

The route modules of :mod:`geocrm.crm.views` import ``bp`` from here and add their routes to it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, request, stream_with_context, url_for

from geocrm.crm import services
from geocrm.errors import ConflictError, ValidationError
from geocrm.extensions import db
from geocrm.models import Role

# The package name, not __name__: the blueprint's root (and so its static folder, crm/static)
# is geocrm/crm, not this views subpackage.
bp = Blueprint("crm", "geocrm.crm", url_prefix="/crm", static_folder="static")

EVERYONE = (Role.ADMIN, Role.MANAGER, Role.PLANNER, Role.REP)
DATA_STEWARDS = (Role.ADMIN, Role.MANAGER)
HEALTH_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER)
SEGMENT_MAP_LIMIT = 20_000


def today() -> date:
    """Today in the company's time zone (what "due today" and report ranges mean)."""
    return services.local_today()


def back(default: str) -> str:
    """The form's ``next`` when it is a path on this site, else ``default`` (no open redirect)."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def flash_error(err: ValidationError | ConflictError) -> None:
    """Say what was refused; the redirect that follows must not commit any of it."""
    db.session.rollback()
    flash(err.message, "error")


def account_url_pattern() -> str:
    """The account page's URL with ``{id}`` for the id (the map's popups fill it in)."""
    return url_for("accounts.detail", account_id=0)[:-1] + "{id}"


def csv_response(lines: Any, filename: str) -> Response:
    """Stream ``lines`` as a CSV download that no cache keeps."""
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
