"""Login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from geocrm.auth.forms import LoginForm
from geocrm.auth.services import BadCredentials, TooManyAttempts, authenticate
from geocrm.core.transaction import commits, transaction
from geocrm.errors import problem, wants_json
from geocrm.extensions import db, login_manager
from geocrm.i18n import LOCALES
from geocrm.models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    """Pages send the visitor to the login; the JSON API answers 401 with a problem document."""
    if wants_json():
        return problem(401, "Unauthorized", _("Sign in first."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative redirects after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@commits
def login() -> Any:
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        # Every attempt is kept, a refused one too (it counts towards the limit): commit
        # it here, before the 401/429 answer makes @commits roll the request back.
        with transaction():
            try:
                user = authenticate(form.email.data or "", form.password.data or "",
                                    _client_ip())
            except TooManyAttempts as err:
                flash(err.message, "error")
                status = 429
            except BadCredentials as err:
                flash(err.message, "error")
                status = 401
        if status == 200:
            login_user(user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
@commits
def logout() -> Any:
    """Sign out (POST with CSRF token, so a link elsewhere cannot sign you out)."""
    logout_user()
    flash(_("Signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/locale", methods=["POST"])
@commits
def set_locale() -> Any:
    """The footer's language switcher: saved to the profile, or the session when signed out.

    A POST with the CSRF token (CSRFProtect checks it), so another site cannot switch it;
    an empty choice returns a signed-in user to their browser's language.
    """
    chosen = (request.form.get("locale") or "").strip()
    if chosen and chosen not in LOCALES:
        flash(_("Unknown language %(code)s.", code=chosen[:16]), "error")
        return redirect(_safe_next(request.form.get("next")) or url_for("main.index"), 303)
    if current_user.is_authenticated:
        current_user.locale = chosen or None
    if chosen:
        session["locale"] = chosen
    else:
        session.pop("locale", None)
    return redirect(_safe_next(request.form.get("next")) or url_for("main.index"), 303)


def _client_ip() -> str:
    # Behind a proxy, run gunicorn with --forwarded-allow-ips and ProxyFix; remote_addr is
    # what the WSGI server trusted.
    return request.remote_addr or "unknown"
