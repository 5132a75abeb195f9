"""JSON API under /api/v1 (session auth for the app's own pages; tokens come with the field app).

The blueprint lives here so the route modules (``accounts``, ``field`` for the field app,
``openapi`` for the document) can all import it without importing each other; ``create_app``
imports each route module by name, which is what attaches its routes.
"""

from __future__ import annotations

from flask import Blueprint

from geocrm.api import tokens

bp = Blueprint("api", __name__, url_prefix="/api/v1")
tokens.install(bp)
