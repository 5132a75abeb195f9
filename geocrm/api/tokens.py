"""Bearer tokens for the JSON API, and the CSRF rule that goes with them.

* A request with ``Authorization: Bearer <token>`` is authenticated by the token alone;
  browsers never attach that header by themselves, so such requests are exempt from CSRF.
  Sending a token *and* a session cookie is refused: the cookie could otherwise ride
  along on a forged request with a junk token.
* Every other unsafe API request is session-authenticated and must carry the
  ``X-CSRFToken`` header (the value of the page's ``csrf-token`` meta tag), checked by
  Flask-WTF exactly like a form.

Tokens are shown once at creation; the database keeps their SHA-256 only.

Scopes (issue 18): a token carries ``read``, ``write`` and/or ``admin``. A GET or HEAD needs
``read``, any other method ``write``, and a view marked with :func:`requires_scope` (the
admin-only endpoints) also needs ``admin``; a missing one answers a 403 problem that names it.
Scopes only narrow what the token's user may do: an ``admin`` token of a rep is still a rep.
A session cookie keeps the full rights of the user's role.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import click
from flask import Blueprint, current_app, g, request, session
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from geocrm.core.transaction import transaction
from geocrm.errors import GeocrmError, NotFoundError, ValidationError, problem
from geocrm.extensions import csrf, db, login_manager
from geocrm.models import Role, User, utcnow
from geocrm.models.field import ApiToken

TOKEN_PREFIX = "gcrm_"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SCOPES = ("read", "write", "admin")
DEFAULT_SCOPES = ("read", "write")
F = TypeVar("F", bound=Callable[..., Any])


class BearerAuth(NamedTuple):
    """Who a live bearer token acts as, which token it is and what it may do."""

    user: User
    token_id: int
    scopes: frozenset[str]
    touched: bool = False  # this lookup wrote last_used_at (hourly)


def requires_scope(scope: str) -> Callable[[F], F]:
    """Mark an API view as needing ``scope`` (e.g. ``admin``) besides read/write."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorator(view: F) -> F:
        view.required_scope = scope  # type: ignore[attr-defined]
        return view

    return decorator


def clean_scopes(scopes: Iterable[str], user: User) -> list[str]:
    """The scopes asked for, in canonical order; an ``admin`` scope only for admins."""
    chosen = {s.strip().lower() for s in scopes if s and s.strip()}
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise ValidationError("scopes", _("unknown scope %(name)s", name=unknown[0]))
    if not chosen:
        raise ValidationError("scopes", _("choose at least one scope"))
    if "admin" in chosen and user.role != Role.ADMIN:
        raise ValidationError("scopes", _("only administrators may make admin tokens"))
    return [s for s in SCOPES if s in chosen]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scopes_for_new_token(requested: Any) -> list[str]:
    """The scopes a token made through the API gets: the default, or the list asked for; a
    token may only make tokens with scopes it has itself (no widening by minting)."""
    if requested is None:
        chosen = list(DEFAULT_SCOPES)
    elif isinstance(requested, list) and all(isinstance(s, str) for s in requested):
        chosen = requested
    else:
        raise ValidationError("scopes", _("must be a list of scopes (read, write, admin)"))
    auth: BearerAuth | None = g.get("bearer_auth")
    if g.get("api_token_auth") and auth is not None:
        wider = sorted(set(chosen) - auth.scopes)
        if wider:
            raise ForbiddenScope(wider[0])
    return chosen


class ForbiddenScope(GeocrmError):
    """A token asked to make a token with a scope it lacks itself."""

    status = 403

    def __init__(self, scope: str) -> None:
        super().__init__(_("This token lacks the '%(scope)s' scope.", scope=scope),
                         missing_scope=scope)


def create_token(user: User, name: str, days: int | None = None,
                 scopes: Iterable[str] = DEFAULT_SCOPES) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the plain token (shown once)."""
    chosen = clean_scopes(scopes, user)
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
        scopes=" ".join(chosen),
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
    """The active user behind a live token, or ``None``."""
    auth = auth_for_token(plain)
    return auth.user if auth else None


def auth_for_token(plain: str) -> BearerAuth | None:
    """The user, token id and scopes behind a live token, or ``None`` (one query); touches
    ``last_used_at`` at most hourly so reads stay reads."""
    now = utcnow()
    found = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at, ApiToken.scopes)
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
    user, token_id, last_used, scopes = found
    touched = last_used is None or now - last_used > timedelta(hours=1)
    if touched:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return BearerAuth(user, token_id, frozenset((scopes or "").split()), touched)


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
        "scopes": (row.scopes or "").split(),
    }


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def bearer_auth() -> BearerAuth | None:
    """This request's token (looked up once per request; the hourly last-used touch is
    committed at once), or ``None`` without a valid bearer token. The rate limiter keys on
    it before the API's own check runs, so both share the one lookup."""
    if "bearer_auth" not in g:
        token = _bearer()
        if not token:
            g.bearer_auth = None
        else:
            try:
                found = auth_for_token(token)
                if found is not None and found.touched:
                    db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            # Only the hourly touch commits: a commit expires the user just loaded, and every
            # request then paid a second query to load it again (issue 18's load).
            g.bearer_auth = found
    found: BearerAuth | None = g.bearer_auth
    return found


def required_scopes() -> list[str]:
    """What this request needs from a token: read or write by method, plus a view's own."""
    needed = ["read" if request.method in SAFE_METHODS else "write"]
    view = current_app.view_functions.get(request.endpoint or "")
    extra = getattr(view, "required_scope", None)
    if extra and extra not in needed:
        needed.append(extra)
    return needed


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
            auth = bearer_auth()  # the hourly last-used touch commits on its own
            if auth is None:
                return problem(401, "Unauthorized", _("The token is unknown, revoked or expired."))
            for scope in required_scopes():
                if scope not in auth.scopes:
                    return problem(
                        403, "Forbidden",
                        _("This token lacks the '%(scope)s' scope.", scope=scope),
                        missing_scope=scope,
                    )
            user = auth.user
            # Make the token's user current for this request only: no session is written,
            # and Flask-Login's session protection never sees a half-empty cookie.
            login_manager._update_request_context_with_user(user)
            g.api_token_auth = True
            g.api_token_id = auth.token_id
            return None  # token-authenticated: CSRF does not apply
        if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        return None

    @bp.teardown_request
    def _forget_token_user(exc: BaseException | None) -> None:
        # ``g`` outlives the request when an app context was already pushed (tests, CLI):
        # the token's user must not leak into the next request.
        g.pop("bearer_auth", None)
        g.pop("api_token_id", None)
        if g.pop("api_token_auth", False):
            g.pop("_login_user", None)


@click.command("create-token")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="A label, e.g. the device or the integration.")
@click.option("--days", type=int, default=None, help="Expire after this many days.")
@click.option("--scope", "scopes", multiple=True, default=DEFAULT_SCOPES, show_default=True,
              type=click.Choice(SCOPES), help="What the token may do (repeat for several).")
@with_appcontext
def create_token_command(email: str, name: str, days: int | None,
                         scopes: tuple[str, ...]) -> None:
    """Create an API bearer token for a user and print it (shown only once)."""
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user {email}.")
    try:
        with transaction():
            _, plain = create_token(user, name, days, scopes)
    except ValidationError as err:
        raise click.ClickException(err.message) from err
    click.echo(plain)
