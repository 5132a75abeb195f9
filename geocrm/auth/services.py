"""Authentication rules shared by the login page, the API and the CLI."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from geocrm.errors import GeocrmError, ValidationError
from geocrm.extensions import db
from geocrm.models import LoginAttempt, Role, User, utcnow


class TooManyAttempts(GeocrmError):
    """Too many failed logins for this email or from this address; try later."""

    status = 429


class BadCredentials(GeocrmError):
    status = 401


def _recent_failures(email: str, ip: str) -> int:
    window = timedelta(seconds=current_app.config["GEOCRM_LOGIN_WINDOW_SECONDS"])
    since = utcnow() - window
    by_email = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.email == email, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
        )
    )
    by_ip = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
        )
    )
    # An address may try a few accounts (shared office NAT), an account only a few times.
    return max(by_email or 0, (by_ip or 0) // 4)


def authenticate(email: str, password: str, ip: str) -> User:
    """Return the user for these credentials, recording the attempt.

    Raises :class:`TooManyAttempts` before even checking the password once the limit is
    reached, so a guesser learns nothing from further tries; :class:`BadCredentials`
    with the same message whether the email exists or not.
    """
    email = (email or "").strip().lower()
    limit = current_app.config["GEOCRM_LOGIN_MAX_FAILURES"]
    if _recent_failures(email, ip) >= limit:
        raise TooManyAttempts(_("Too many failed sign-ins. Wait a few minutes and try again."))
    user = db.session.scalars(select(User).where(User.email == email)).one_or_none()
    ok = user is not None and user.active and user.check_password(password)
    db.session.add(LoginAttempt(email=email, ip=ip, success=ok))
    if ok:
        assert user is not None
        user.last_login_at = utcnow()
    db.session.flush()  # the caller commits the attempt even when it answers 401
    if not ok:
        raise BadCredentials(_("Wrong email or password."))
    assert user is not None
    return user


def create_user(
    email: str,
    name: str,
    password: str,
    role: Role | str,
    **fields: object,
) -> User:
    """Create a user with a hashed password; the caller commits."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationError("email", "must be an email address")
    if len(password) < 8:
        raise ValidationError("password", "must be at least 8 characters")
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationError("role", f"must be one of {', '.join(r.value for r in Role)}") from exc
    if db.session.scalars(select(User).where(User.email == email)).first() is not None:
        raise ValidationError("email", f"{email} is already registered")
    user = User(email=email, name=name, role=role, **fields)
    # Tests set a cheap method; production keeps werkzeug's default (scrypt).
    user.set_password(password, current_app.config.get("GEOCRM_PASSWORD_METHOD"))
    db.session.add(user)
    return user
