"""Planner pages (issue 3). Thin views over ``geocrm.planning.services``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("planning", __name__, url_prefix="/planning")
