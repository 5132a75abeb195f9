"""Login and logout pages."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from geocrm.auth import sessions
from geocrm.auth.forms import LoginForm
from geocrm.auth.services import BadCredentials, TooManyAttempts, authenticate
from geocrm.core.transaction import commits, transaction
from geocrm.devices import wants_field_app
from geocrm.errors import problem, wants_json
from geocrm.extensions import login_manager
from geocrm.i18n import LOCALES
from geocrm.models import User

bp = Blueprint("auth", __name__)


DEVICE_COOKIE = "gcrm_device"
DEVICE_COOKIE_DAYS = 365


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return sessions.load(user_id)


def _device_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="geocrm-device")


def _email_tag(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _device_for(email: str) -> str | None:
    """The device id of this browser's cookie when that cookie was set by this account."""
    try:
        data = _device_signer().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return None
    if isinstance(data, dict) and data.get("e") == _email_tag(email):
        device = data.get("d")
        return device if isinstance(device, str) and len(device) <= 32 else None
    return None


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
        email = form.email.data or ""
        device = _device_for(email)
        retry_after = 0
        with transaction():
            try:
                user = authenticate(email, form.password.data or "", _client_ip(), device)
            except TooManyAttempts as err:
                flash(err.message, "error")
                status, retry_after = 429, err.retry_after
            except BadCredentials as err:
                flash(err.message, "error")
                status = 401
            else:
                remember = bool(form.remember.data)
                sessions.start(user, remember=remember, user_agent=request.user_agent.string)
        if status == 200:
            login_user(user, remember=remember)
            # A rep on a phone lands in the field app (their home), not the desktop pages.
            landing = url_for("field.shell") if wants_field_app(request, user.role.value) \
                else url_for("main.home")
            response = redirect(_safe_next(request.args.get("next")) or landing)
            _set_device_cookie(response, email, device)
            return response
        page = make_response(render_template("auth/login.html", form=form), status)
        if retry_after:
            page.headers["Retry-After"] = str(retry_after)
        return page
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def _set_device_cookie(response: Response, email: str, device: str | None) -> None:
    """Mark this browser as one that has signed in to ``email`` (see auth.services.throttle)."""
    value = _device_signer().dumps({"e": _email_tag(email), "d": device or secrets.token_hex(8)})
    response.set_cookie(
        DEVICE_COOKIE, value, max_age=DEVICE_COOKIE_DAYS * 86400, httponly=True,
        samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


@bp.route("/logout", methods=["POST"])
@login_required
@commits
def logout() -> Any:
    """Sign out (POST with CSRF token, so a link elsewhere cannot sign you out).

    The session's row is revoked, so a copy of the cookie taken before stops working too.
    """
    sessions.end(current_user)
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
