"""The rules for people: who may join, change roles, leave, and reset a password.

One-time links (:class:`~geocrm.models.AccessLink`) carry invitations and resets, so an admin
never learns or types anyone's password. Deactivating someone keeps every record they made
(visits, notes, audit rows) and ends their access at once: their browser sessions and their API
tokens are revoked in the same transaction, so the phone in their pocket stops syncing on its
next request. Services flush; the view, CLI command or job that called them commits.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from geocrm.access import team_rep_ids
from geocrm.auth import sessions
from geocrm.auth.services import check_new_password, create_user
from geocrm.core import audit
from geocrm.core.skills import clean_skills, clean_vehicle
from geocrm.errors import NotFoundError, PermissionDenied, ValidationError
from geocrm.extensions import db
from geocrm.i18n import default_locale
from geocrm.models import AccessLink, Role, Territory, User, utcnow
from geocrm.models.field import ApiToken
from geocrm.notify import outbox

INVITE_DAYS = 7
RESET_HOURS = 24


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: the row, and the plain token (shown or mailed once, never stored)."""

    link: AccessLink
    token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _territories(ids: Iterable[int]) -> list[Territory]:
    wanted = sorted(set(ids))
    found = list(db.session.scalars(select(Territory).where(Territory.id.in_(wanted))))
    if len(found) != len(wanted):
        missing = sorted(set(wanted) - {t.id for t in found})
        raise ValidationError("territories", _("no territory %(ids)s",
                                               ids=", ".join(map(str, missing))))
    return found


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise ValidationError("role", _("must be one of %(roles)s",
                                        roles=", ".join(r.value for r in Role))) from exc


def _normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationError("email", _("must be an email address"))
    return email


def list_people() -> list[User]:
    """Everyone, the active first, by name (deactivated people stay, with their history)."""
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def pending_invitations() -> list[AccessLink]:
    return list(db.session.scalars(
        select(AccessLink)
        .where(AccessLink.purpose == "invite", AccessLink.used_at.is_(None),
               AccessLink.expires_at > utcnow())
        .order_by(AccessLink.created_at.desc())
    ))


def invite(by: User, email: str, name: str, role: Role | str,
           territory_ids: Iterable[int] = ()) -> IssuedLink:
    """A one-time link for ``email`` to join with ``role`` (and, for reps, territories)."""
    email = _normal_email(email)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name", _("is required"))
    role = _role(role)
    territories = _territories(territory_ids)
    if db.session.scalar(select(func.count(User.id)).where(User.email == email)):
        raise ValidationError("email", _("%(email)s already has an account", email=email))
    # A new invitation for the same address replaces the old one.
    db.session.execute(
        update(AccessLink)
        .where(AccessLink.email == email, AccessLink.purpose == "invite",
               AccessLink.used_at.is_(None))
        .values(expires_at=utcnow())
    )
    token = secrets.token_urlsafe(32)
    link = AccessLink(
        token_hash=_hash(token), purpose="invite", email=email, name=name[:120],
        role=role.value, territory_ids=[t.id for t in territories], created_by_id=by.id,
        expires_at=utcnow() + timedelta(days=INVITE_DAYS),
    )
    db.session.add(link)
    db.session.flush()
    audit.record(by, "user", link.id, "invite", {"email": email, "role": role.value})
    return IssuedLink(link, token)


def reset_link(by: User, user_id: int) -> IssuedLink:
    """A one-time link for ``user_id`` to choose a new password (the old one keeps working
    until the link is used)."""
    user = get_person(user_id)
    if not user.active:
        raise ValidationError("user", _("reactivate %(name)s first", name=user.name))
    token = secrets.token_urlsafe(32)
    link = AccessLink(
        token_hash=_hash(token), purpose="reset", email=user.email, user_id=user.id,
        created_by_id=by.id, expires_at=utcnow() + timedelta(hours=RESET_HOURS),
    )
    db.session.add(link)
    db.session.flush()
    audit.record(by, "user", user.id, "password_reset_link", {})
    return IssuedLink(link, token)


def live_link(token: str) -> AccessLink:
    """The unused, unexpired link for ``token`` (404 for anything else, with no detail)."""
    link = db.session.scalars(
        select(AccessLink).where(AccessLink.token_hash == _hash(token or ""))
    ).one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise NotFoundError(_("This link has expired or was already used."))
    return link


def use_link(token: str, password: str, confirm: str) -> User:
    """Join (invitation) or set a new password (reset) through a one-time link."""
    link = live_link(token)
    if password != confirm:
        raise ValidationError("confirm", _("does not match the password"))
    check_new_password(password)
    if link.purpose == "invite":
        user = create_user(link.email, link.name or link.email, password, link.role or "rep")
        db.session.flush()
        user.territories = _territories(link.territory_ids or [])
    else:
        user = get_person(link.user_id or 0)
        if not user.active:
            raise NotFoundError(_("This link has expired or was already used."))
        _set_password(user, password)
        sessions.end_all(user)  # whoever knew the old password is signed out
    link.used_at = utcnow()
    db.session.flush()
    audit.record(user, "user", user.id,
                 "joined" if link.purpose == "invite" else "password_reset", {})
    return user


def get_person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError(_("No user %(id)s.", id=user_id))
    return user


def get_profile_person(by: User, user_id: int) -> User:
    """The person whose planning profile ``by`` may open: a manager their team's reps only
    (their home is where the route starts), planners and admins anyone; else a 404, as for
    a missing person (issue 18's route sweep found every profile open to every manager)."""
    team = team_rep_ids(by)
    if team is not None and user_id not in set(db.session.scalars(team)):
        raise NotFoundError(_("No user %(id)s.", id=user_id))
    return get_person(user_id)


def _active_admins() -> int:
    return int(db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.active.is_(True))
    ) or 0)


def update_person(by: User, user_id: int, *, name: str, role: Role | str,
                  territory_ids: Iterable[int]) -> User:
    """Change a person's name, role and territories."""
    user = get_person(user_id)
    role = _role(role)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name", _("is required"))
    if user.role == Role.ADMIN and role != Role.ADMIN and user.active and _active_admins() <= 1:
        raise ValidationError("role", _("the last admin cannot stop being an admin"))
    before = {"name": user.name, "role": user.role.value,
              "territories": sorted(t.id for t in user.territories)}
    user.name = name[:120]
    user.role = role
    user.territories = _territories(territory_ids)
    after = {"name": user.name, "role": role.value,
             "territories": sorted(t.id for t in user.territories)}
    db.session.flush()
    if before != after:
        audit.record(by, "user", user.id, "update", {"before": before, "after": after})
    return user


def set_active(by: User, user_id: int, active: bool) -> User:
    """Deactivate (access ends at once, history kept) or reactivate a person."""
    user = get_person(user_id)
    if user.active == active:
        return user
    if not active:
        if user.id == by.id:
            raise PermissionDenied(_("You cannot deactivate yourself."))
        if user.role == Role.ADMIN and _active_admins() <= 1:
            raise ValidationError("user", _("the last admin cannot be deactivated"))
        user.active = False
        revoked = sessions.end_all(user)
        tokens = db.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
        # Unused reset links die too: a reset must not bring someone back.
        db.session.execute(
            update(AccessLink)
            .where(AccessLink.user_id == user.id, AccessLink.used_at.is_(None))
            .values(expires_at=utcnow())
        )
        details = {"sessions": revoked, "tokens": int(tokens or 0)}
    else:
        user.active = True
        details = {}
    db.session.flush()
    audit.record(by, "user", user.id, "activate" if active else "deactivate", details)
    return user


def _set_password(user: User, password: str) -> None:
    from flask import current_app

    user.set_password(password, current_app.config.get("GEOCRM_PASSWORD_METHOD"))


def change_own_password(user: User, current: str, new: str, confirm: str) -> int:
    """Change one's own password; every other signed-in browser is signed out.

    Returns how many other sessions ended.
    """
    if not user.check_password(current or ""):
        raise ValidationError("current_password", _("is not your current password"))
    if new != confirm:
        raise ValidationError("confirm", _("does not match the password"))
    check_new_password(new, "new_password")
    _set_password(user, new)
    ended = sessions.end_all(user, keep_current=True)
    db.session.flush()
    audit.record(user, "user", user.id, "password_change", {"other_sessions_ended": ended})
    return ended


# -- a rep's planning profile ---------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """What the planner needs of a rep: where the day starts and ends, when they work, what
    they can do and how they travel."""

    home_address: str | None
    home_lat: float | None
    home_lon: float | None
    work_days: tuple[int, ...]  # ISO weekdays, 1 = Monday
    work_start_min: int
    work_end_min: int
    lunch_start_min: int | None
    lunch_minutes: int
    max_visits_per_day: int | None
    skills: str | None = None  # free tags, "forklift, 한국어" (geocrm.core.skills)
    vehicle: str = "car"  # car, bike or foot
    speed_kmh: float | None = None  # an own speed, over the vehicle's


def profile_of(user: User) -> Profile:
    days = tuple(int(d) for d in (user.work_days or "").split(",") if d.strip().isdigit())
    return Profile(user.home_address, user.home_lat, user.home_lon, days,
                   user.work_start_min, user.work_end_min, user.lunch_start_min,
                   user.lunch_minutes or 0, user.max_visits_per_day, user.skills,
                   user.vehicle or "car", user.speed_kmh)


def _geocode_home(address: str) -> tuple[float, float]:
    """The home base from its address, through the configured geocoder (the region's own
    address index by default); refuses rather than guessing a street or a town."""
    from geocrm.geocoding.engine import current_geocoder
    from places.geocode import AddressQuery, Confidence

    geocoder = current_geocoder()
    found = geocoder.forward(AddressQuery(text=address)) if geocoder is not None else None
    if found is None or found.confidence not in (Confidence.EXACT, Confidence.INTERPOLATED):
        raise ValidationError("home", _("the address was not found exactly: pick the home base "
                                        "on the map"))
    return found.lat, found.lon


def update_profile(by: User, user_id: int, profile: Profile) -> User:
    """Save a rep's planning profile after checking it makes a working day. Flushes.

    The home base comes from the map pin, else from geocoding the address; a day must start
    before it ends, lunch must fall inside it, and at least one weekday must be worked.
    Skills and the vehicle go through the same rules as an account's required skills.
    """
    user = get_profile_person(by, user_id)
    lat, lon = profile.home_lat, profile.home_lon
    address = (profile.home_address or "").strip() or None
    if (lat is None) != (lon is None):
        raise ValidationError("home", _("needs both latitude and longitude"))
    if lat is not None and lon is not None:
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
                and -180 <= lon <= 180):
            raise ValidationError("home", _("is not a place on Earth"))
    elif address:
        lat, lon = _geocode_home(address)
    days = sorted(set(profile.work_days))
    if not days or any(d < 1 or d > 7 for d in days):
        raise ValidationError("work_days", _("pick at least one weekday"))
    start, end = profile.work_start_min, profile.work_end_min
    if not (0 <= start < end <= 24 * 60):
        raise ValidationError("work_end", _("the day must end after it starts"))
    lunch_minutes = profile.lunch_minutes
    if not 0 <= lunch_minutes <= 180:
        raise ValidationError("lunch_minutes", _("must be between 0 and 180 minutes"))
    lunch = profile.lunch_start_min
    if lunch is not None and lunch_minutes and not start <= lunch < end:
        raise ValidationError("lunch_start", _("lunch must start within the working day"))
    cap = profile.max_visits_per_day
    if cap is not None and not 1 <= cap <= 200:
        raise ValidationError("max_visits", _("must be between 1 and 200"))
    skills = clean_skills("skills", profile.skills)
    vehicle, speed = clean_vehicle(profile.vehicle, profile.speed_kmh)
    before = profile_of(user)
    user.skills, user.vehicle, user.speed_kmh = skills, vehicle, speed
    user.home_address = address
    user.home_lat, user.home_lon = lat, lon
    user.work_days = ",".join(map(str, days))
    user.work_start_min, user.work_end_min = start, end
    user.lunch_start_min = lunch if lunch_minutes else None
    user.lunch_minutes = lunch_minutes
    user.max_visits_per_day = cap
    db.session.flush()
    after = profile_of(user)
    if before != after:
        audit.record(by, "user", user.id, "profile",
                     {"before": _plain(before), "after": _plain(after)})
    return user


def _plain(profile: Profile) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in profile.__dict__.items()}


# -- mailing the links -------------------------------------------------------------------------
def mail_invitation(by: User, issued: IssuedLink, url: str) -> bool:
    """Mail an invitation's link when mail is set up (sent by the notification job); the
    newcomer has no language yet, so it is written in the inviter's. Returns whether queued."""
    link = issued.link
    with force_locale(by.locale or default_locale()):
        subject = _("%(who)s invites you to GeoCRM", who=by.name)
        body = _("%(who)s invited you to GeoCRM. Choose your password with this link; it works "
                 "once, for %(days)d days:", who=by.name, days=INVITE_DAYS)
    return outbox.queue_mail_to(link.email, "invitation", subject, f"{body}\n\n{url}") \
        is not None


def mail_reset(user: User, url: str) -> bool:
    """Mail a password-reset link to its owner, in their language, when mail is set up."""
    with force_locale(user.locale or default_locale()):
        subject = _("Choose a new GeoCRM password")
        body = _("Choose a new password with this link; it works once, for %(hours)d hours. "
                 "If you did not ask for it, tell your administrator.", hours=RESET_HOURS)
    return outbox.queue_mail_to(user.email, "password_reset", subject, f"{body}\n\n{url}") \
        is not None
