"""Authentication rules shared by the login page, the API and the CLI."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from math import ceil
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from geocrm.errors import GeocrmError, ValidationError
from geocrm.extensions import db
from geocrm.models import LoginAttempt, Role, User, utcnow


class TooManyAttempts(GeocrmError):
    """Too many failed sign-ins for this email or from this address: wait ``retry_after`` s."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadCredentials(GeocrmError):
    status = 401


# Sign-in throttling (issue 18): a progressive delay, never a lock.
# * Each failure past the free ones doubles the wait before the next try, up to MAX_DELAY_S,
#   so a guesser gets a few hundred tries a day while the owner waits a minute at worst.
# * Failures are counted per account and per address, but a browser that has signed in to an
#   account before (it carries that account's device cookie) is judged only by its own
#   failures: strangers' guessing, or a colleague's typos behind the same office NAT, cannot
#   lock its owner out.
FREE_PER_ACCOUNT = 5
FREE_PER_ADDRESS = 20
MAX_DELAY_S = 60


def _delay(failures: int, last: datetime | None, free: int, now: datetime) -> int:
    """Seconds still to wait after ``failures`` failures, the last at ``last``."""
    if failures < free or last is None:
        return 0
    wait = min(2 ** (failures - free + 1), MAX_DELAY_S)
    return max(0, ceil((last + timedelta(seconds=wait) - now).total_seconds()))


def _failures(*conditions: Any) -> tuple[int, datetime | None]:
    window = timedelta(seconds=current_app.config["GEOCRM_LOGIN_WINDOW_SECONDS"])
    count, last = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
            LoginAttempt.at >= utcnow() - window, LoginAttempt.success.is_(False), *conditions
        )
    ).one()
    return int(count or 0), last


def throttle(email: str, ip: str, device: str | None) -> int:
    """Seconds this attempt must wait (0: go ahead), from the failures that concern it."""
    now = utcnow()
    free = current_app.config["GEOCRM_LOGIN_MAX_FAILURES"]
    if device:
        return _delay(*_failures(LoginAttempt.email == email, LoginAttempt.device == device),
                      free, now=now)
    by_account = _delay(*_failures(LoginAttempt.email == email,
                                   LoginAttempt.device.is_(None)), free, now=now)
    by_address = _delay(*_failures(LoginAttempt.ip == ip, LoginAttempt.device.is_(None)),
                        free * FREE_PER_ADDRESS // FREE_PER_ACCOUNT, now=now)
    return max(by_account, by_address)


@lru_cache(maxsize=4)
def _dummy_hash(method: str | None) -> str:
    """A hash to check unknown emails against, so they take as long as known ones."""
    if method:
        return generate_password_hash(secrets.token_hex(16), method=method)
    return generate_password_hash(secrets.token_hex(16))


def authenticate(email: str, password: str, ip: str, device: str | None = None) -> User:
    """Return the user for these credentials, recording the attempt.

    Raises :class:`TooManyAttempts` before checking the password while a delay is running, so a
    guesser learns nothing from those tries; :class:`BadCredentials` with the same message and
    the same work (one password hash) whether the email exists or not. ``device`` is the id of
    a device cookie this account set in this browser (see :func:`throttle`).
    """
    email = (email or "").strip().lower()
    wait = throttle(email, ip, device)
    if wait:
        raise TooManyAttempts(
            _("Too many failed sign-ins. Try again in %(seconds)d seconds.", seconds=wait),
            retry_after=wait,
        )
    user = db.session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(current_app.config.get("GEOCRM_PASSWORD_METHOD")),
                            password)
        ok = False
    else:
        ok = user.check_password(password) and user.active
    db.session.add(LoginAttempt(email=email, ip=ip, success=ok, device=device))
    if ok:
        assert user is not None
        user.last_login_at = utcnow()
    db.session.flush()  # the caller commits the attempt even when it answers 401
    if not ok:
        raise BadCredentials(_("Wrong email or password."))
    assert user is not None
    return user


MIN_PASSWORD_LENGTH = 8


def check_new_password(password: str, field: str = "password") -> None:
    """The one rule for a new password (sign-up, invitation, reset, change)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(field, _("must be at least %(n)d characters", n=MIN_PASSWORD_LENGTH))
    if len(password) > 256:
        raise ValidationError(field, _("must be at most %(n)d characters", n=256))


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
    check_new_password(password)
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
