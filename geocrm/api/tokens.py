"""Bearer tokens for the JSON API, and the CSRF rule that goes with them.

* A request with ``Authorization: Bearer <token>`` is authenticated by the token alone;
  browsers never attach that header by themselves, so such requests are exempt from CSRF.
  Sending a token *and* a session cookie is refused: the cookie could otherwise ride
  along on a forged request with a junk token.
* Every other unsafe API request is session-authenticated and must carry the
  ``X-CSRFToken`` header (the value of the page's ``csrf-token`` meta tag), checked by
  Flask-WTF exactly like a form.

Tokens are shown once at creation; the database keeps their SHA-256 only.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import click
from flask import Blueprint, current_app, g, request, session
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from geocrm.core.transaction import transaction
from geocrm.errors import NotFoundError, ValidationError, problem
from geocrm.extensions import csrf, db, login_manager
from geocrm.models import User, utcnow
from geocrm.models.field import ApiToken

TOKEN_PREFIX = "gcrm_"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the plain token (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("name", "is required")
    if days is not None and not 1 <= days <= 3650:
        raise ValidationError("days", "must be between 1 and 3650")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name[:80],
        token_hash=hash_token(plain),
        prefix=plain[:12],
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    db.session.add(row)
    db.session.flush()
    return row, plain


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_token(user: User, token_id: int) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFoundError(f"No token {token_id}.")
    row.revoked_at = utcnow()
    db.session.flush()


def user_for_token(plain: str) -> User | None:
    """The active user behind a live token, or ``None`` (one query); touches
    ``last_used_at`` at most hourly so reads stay reads."""
    now = utcnow()
    found = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == hash_token(plain),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            User.active.is_(True),
        )
    ).one_or_none()
    if found is None:
        return None
    user, token_id, last_used = found
    if last_used is None or now - last_used > timedelta(hours=1):
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return user


def token_json(row: ApiToken) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "expires_at": iso(row.expires_at),
    }


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def install(bp: Blueprint) -> None:
    """Exempt ``bp`` from the global CSRF hook and apply the rule above instead."""
    csrf.exempt(bp)

    @bp.before_request
    def _authenticate_and_check_csrf() -> Any:
        header = request.headers.get("Authorization")
        if header is not None:
            token = _bearer()
            if not token:
                return problem(401, "Unauthorized", _("Authorization must be 'Bearer <token>'."))
            if "_user_id" in session:
                return problem(
                    400, "Bad Request",
                    _("Send either a session cookie or a bearer token, not both."),
                )
            with transaction():  # the hourly last-used touch, whatever the view does next
                user = user_for_token(token)
            if user is None:
                return problem(401, "Unauthorized", _("The token is unknown, revoked or expired."))
            # Make the token's user current for this request only: no session is written,
            # and Flask-Login's session protection never sees a half-empty cookie.
            login_manager._update_request_context_with_user(user)
            g.api_token_auth = True
            return None  # token-authenticated: CSRF does not apply
        if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        return None

    @bp.teardown_request
    def _forget_token_user(exc: BaseException | None) -> None:
        # ``g`` outlives the request when an app context was already pushed (tests, CLI):
        # the token's user must not leak into the next request.
        if g.pop("api_token_auth", False):
            g.pop("_login_user", None)


@click.command("create-token")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="A label, e.g. the device or the integration.")
@click.option("--days", type=int, default=None, help="Expire after this many days.")
@with_appcontext
def create_token_command(email: str, name: str, days: int | None) -> None:
    """Create an API bearer token for a user and print it (shown only once)."""
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user {email}.")
    try:
        with transaction():
            _, plain = create_token(user, name, days)
    except ValidationError as err:
        raise click.ClickException(err.message) from err
    click.echo(plain)
