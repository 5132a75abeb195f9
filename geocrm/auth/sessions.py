"""Signed-in browsers as rows, so that signing out really signs out.

Flask's session and Flask-Login's remember cookie are signed, not stored: a copy of either kept
working after sign-out until it expired (14 days for "remember me"). Each sign-in now starts a
:class:`~geocrm.models.UserSession` whose random token rides inside both cookies (through
``User.get_id``); loading the user checks the row, so sign-out, deactivation and a password
change end it on the server, whatever copies of the cookie exist.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy import select, update

from geocrm.extensions import db
from geocrm.models import User, UserSession, utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, *, remember: bool, user_agent: str | None) -> str:
    """A new session row for ``user``; sets ``user.session_token`` for the cookies. Flushes.

    A plain session lasts ``PERMANENT_SESSION_LIFETIME`` (a working day) from sign-in, "remember
    me" ``REMEMBER_COOKIE_DURATION``; neither slides, so reading a page never writes.
    """
    token = secrets.token_urlsafe(32)
    lifetime = (current_app.config["REMEMBER_COOKIE_DURATION"] if remember
                else current_app.config["PERMANENT_SESSION_LIFETIME"])
    now = utcnow()
    db.session.add(UserSession(
        user_id=user.id, token_hash=_hash(token), remember=remember,
        user_agent=(user_agent or "")[:200] or None, created_at=now, expires_at=now + lifetime,
    ))
    db.session.flush()
    user.session_token = token
    return token


def load(cookie_id: str) -> User | None:
    """The active user of a live session, from the id Flask-Login keeps in its cookies.

    Ids without a token (cookies from before sessions were rows) are refused: their owner
    signs in once more.
    """
    user_part, _, token = (cookie_id or "").partition(":")
    if not token or not user_part.isdigit() or len(user_part) > 10:
        return None
    row = db.session.scalars(
        select(UserSession).where(UserSession.token_hash == _hash(token))
    ).one_or_none()
    if (row is None or row.user_id != int(user_part) or row.revoked_at is not None
            or row.expires_at <= utcnow()):
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    user.session_token = token
    return user


def end(user: User) -> None:
    """Revoke the session ``user`` was loaded for (sign-out). Flushes."""
    token = user.__dict__.get("session_token")
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _hash(token),
                   UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        db.session.flush()


def end_all(user: User, *, keep_current: bool = False) -> int:
    """Revoke every session of ``user`` (deactivation, password change, "sign out everywhere").

    Returns how many were live. Flushes.
    """
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    token = user.__dict__.get("session_token")
    if keep_current and token:
        query = query.where(UserSession.token_hash != _hash(token))
    result = db.session.execute(query.values(revoked_at=utcnow()))
    db.session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live(user: User) -> list[UserSession]:
    """The user's signed-in browsers, newest first (for a "where you're signed in" list)."""
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
               UserSession.expires_at > utcnow())
        .order_by(UserSession.created_at.desc())
    ))
