"""CRM core pages (issue 6). Thin views over ``geocrm.crm.services``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("crm", __name__, url_prefix="/crm")
