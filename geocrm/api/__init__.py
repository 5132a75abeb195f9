"""JSON API under /api/v1 (session auth for the app's own pages; tokens come with the field app).

The blueprint lives here so the route modules (``accounts``, ``field`` for the field app,
``openapi`` for the document) can all import it without importing each other; ``create_app``
imports each route module by name, which is what attaches its routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from geocrm.api import tokens
from geocrm.extensions import login_manager

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _sign_in_before_csrf() -> Any:
    """A write with neither a session nor a token answers 401, not the CSRF check's 400:
    the client's problem is that it is not signed in. Registered before the token hook so it
    runs first; the API has no anonymous writes."""
    if (request.method not in tokens.SAFE_METHODS and "Authorization" not in request.headers
            and not current_user.is_authenticated):
        return login_manager.unauthorized()
    return None


tokens.install(bp)
