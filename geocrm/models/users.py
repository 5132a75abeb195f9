"""People: users with roles, a rep's home base and working hours, login attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, Enum, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from geocrm.extensions import db
from geocrm.models.types import utcnow


class Role(enum.StrEnum):
    """What a user may do. Reps are scoped to their territories; the others see the company."""

    ADMIN = "admin"
    MANAGER = "manager"
    PLANNER = "planner"
    REP = "rep"


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A login. Reps also carry a home base and a working day, used by the planner."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    home_address: Mapped[str | None] = mapped_column(String(300))
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    # Working day in minutes after local midnight, and ISO weekdays worked ("1,2,3,4,5").
    work_start_min: Mapped[int] = mapped_column(Integer, default=8 * 60)
    work_end_min: Mapped[int] = mapped_column(Integer, default=17 * 60)
    lunch_start_min: Mapped[int | None] = mapped_column(Integer, default=12 * 60)
    lunch_minutes: Mapped[int] = mapped_column(Integer, default=30)
    work_days: Mapped[str] = mapped_column(String(20), default="1,2,3,4,5")
    max_visits_per_day: Mapped[int | None] = mapped_column(Integer)
    # What the rep can do ("forklift, 한국어": geocrm.core.skills) and how they travel: a
    # vehicle (car, bike, foot) and an own speed in km/h that overrides the vehicle's.
    skills: Mapped[str | None] = mapped_column(String(300))
    vehicle: Mapped[str | None] = mapped_column(String(10))
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    # The user's language (en/ko/ja, geocrm.i18n.LOCALES); None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(8))
    # The navigation app this person's route links open first (geocrm.maps.web.NAV_APPS);
    # None: the language's default (Naver in Korean, Google elsewhere).
    nav_app: Mapped[str | None] = mapped_column(String(10))
    # What this person wants to be told, and how: {"task_assigned": ["email", "push"], ...};
    # kinds absent here take geocrm.notify.outbox.DEFAULT_CHOICES.
    notify_prefs: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    territories = relationship(
        "Territory", secondary="territory_reps", back_populates="reps", lazy="select"
    )

    def get_id(self) -> str:
        """Flask-Login's id for the session and remember cookies: the user *and* the session.

        Carrying the session's token makes a cookie die with its server-side row (sign-out,
        deactivation, password change), instead of living until its signature expires.
        """
        # ``session_token`` is a plain attribute set by geocrm.auth.sessions on the object it
        # loaded (not a column: one user has a row per browser in user_sessions).
        token = self.__dict__.get("session_token")
        return f"{self.id}:{token}" if token else str(self.id)

    def set_password(self, password: str, method: str | None = None) -> None:
        """Store a salted hash (werkzeug's scrypt by default); the password is never kept."""
        if method:
            self.password_hash = generate_password_hash(password, method=method)
        else:
            self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return bool(self.active)

    def has_role(self, *roles: Role | str) -> bool:
        return self.role in {Role(r) for r in roles}

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginAttempt(db.Model):  # type: ignore[name-defined,misc]
    """One login try, kept in the database so rate limiting holds across worker processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    # the browser's device id when it carried a device cookie of this account's (see
    # geocrm.auth.services.throttle): its own failures count apart from strangers'
    device: Mapped[str | None] = mapped_column(String(32))


class UserSession(db.Model):  # type: ignore[name-defined,misc]
    """One signed-in browser: revoked server-side at sign-out, so a copied cookie stops working.

    The cookie holds a random token; the table holds its SHA-256 only, like API tokens.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AccessLink(db.Model):  # type: ignore[name-defined,misc]
    """A one-time link: an invitation to join, or a password reset.

    The link carries a random token; the table keeps its SHA-256 only. A link is used once and
    expires (an invitation after a week, a reset after a day), so a forwarded or leaked mail is
    worth little.
    """

    __tablename__ = "access_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))  # "invite" or "reset"
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(20))
    territory_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class CalendarFeed(db.Model):  # type: ignore[name-defined,misc]
    """A person's private calendar subscription (their visits and tasks as iCalendar).

    Calendar apps cannot sign in, so the URL itself is the key: 256 random bits, stored as a
    SHA-256 only, revocable (a new link replaces the old one at once).
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
