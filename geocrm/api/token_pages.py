"""The page where each person lists, creates and revokes their API tokens (issue 18).

Thin: the rules (scopes, expiry, who may hold ``admin``) are in :mod:`geocrm.api.tokens`.
A new token is shown on the answer to its POST and never again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from geocrm.api.tokens import DEFAULT_SCOPES, SCOPES, create_token, list_tokens, revoke_token
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.models import Role

bp = Blueprint("tokens", __name__, url_prefix="/people/me/tokens")

#: The expiry choices (days); 0 = never.
EXPIRY_DAYS = (30, 90, 365, 0)


def _page(status: int = 200, **extra: Any) -> Any:
    scopes = [s for s in SCOPES if s != "admin" or current_user.role == Role.ADMIN]
    context = {"tokens": list_tokens(current_user), "scopes": scopes,
               "expiry_days": EXPIRY_DAYS, "chosen": list(DEFAULT_SCOPES), "days": 90,
               "name": "", "error": None, "plain": None, **extra}
    return render_template("tokens/index.html", **context), status


@bp.route("/")
@login_required
def index() -> Any:
    """The person's live tokens and the form for a new one."""
    return _page()


@bp.route("/", methods=["POST"])
@login_required
@commits
def create() -> Any:
    """Make a token and show it once."""
    name = request.form.get("name", "")
    chosen = request.form.getlist("scopes")
    try:
        days = int(request.form.get("days") or 0)
    except ValueError:
        days = -1
    try:
        if days < 0:
            raise ValidationError("days", _("choose how long the token lasts"))
        row, plain = create_token(current_user, name, days or None, chosen)
    except ValidationError as err:
        return _page(422, error=err.reason, name=name, chosen=chosen, days=days)
    flash(_("Token “%(name)s” made. Copy it now: it is not shown again.", name=row.name),
          "info")
    return _page(201, plain=plain, new_id=row.id)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
@commits
def revoke(token_id: int) -> Any:
    """Revoke one of the person's own tokens (another's answers 404)."""
    revoke_token(current_user, token_id)
    flash(_("Token revoked: it no longer works."), "info")
    return redirect(url_for("tokens.index"))
