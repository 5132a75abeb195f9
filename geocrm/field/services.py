"""Field rules shared by the PWA, the JSON API and the sync endpoint.

Every function takes the acting ``user`` and reaches accounts through
:mod:`geocrm.access`, so a rep can only check in at, log on, or edit what they may see.
Functions here ``flush`` but never ``commit``: the sync layer wraps each outbox write and
its :class:`~geocrm.models.field.SyncRecord` in one transaction (the exactly-once rule).
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.clock import local_day_bounds_utc, local_today
from geocrm.core.accounts import (
    FIELDS,
    check_coordinates,
    clean_values,
    normalise_address,
    normalise_name,
)
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Contact,
    Interaction,
    InteractionKind,
    PlanStatus,
    RoutePlan,
    RouteStop,
    Stage,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from geocrm.models.accounts import LocationSource
from geocrm.models.activity import VISIT_OUTCOMES
from geocrm.models.field import VisitPhoto
from geocrm.spatial import SpatialRepository, haversine_m

OUTCOMES = VISIT_OUTCOMES
OUTSIDE_GEOFENCE = "outside_geofence"
NO_LOCATION = "no_location"
MAX_PHOTO_BYTES = 600 * 1024  # the phone shrinks photos to ~1280 px JPEG, well under this
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"RIFF": "image/webp"}
MAX_TEXT = 4000


# -- small, strict parsers: every error names the field -------------------------------
def text_field(
    data: dict[str, Any], name: str, *, required: bool = False, max_len: int = MAX_TEXT
) -> str | None:
    """A trimmed string or ``None``; wrong types and over-long values name the field."""
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise ValidationError(name, "is required")
        return None
    if not isinstance(raw, str):
        raise ValidationError(name, "must be a string")
    value = raw.strip()
    if len(value) > max_len:
        raise ValidationError(name, f"is longer than {max_len} characters")
    return value


def number_field(
    data: dict[str, Any], name: str, lo: float, hi: float, *, required: bool = False
) -> float | None:
    """A finite JSON number within ``lo..hi`` (booleans and strings are refused)."""
    raw = data.get(name)
    if raw is None:
        if required:
            raise ValidationError(name, "is required")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationError(name, "must be a number")
    value = float(raw)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValidationError(name, f"must be between {lo} and {hi}")
    return value


def int_field(data: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    """A positive integer id."""
    raw = data.get(name)
    if raw is None:
        if required:
            raise ValidationError(name, "is required")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise ValidationError(name, "must be a positive whole number")
    return raw


def uuid_field(data: dict[str, Any], name: str) -> str:
    """A client-generated UUID (the phone's id for the write)."""
    import uuid

    raw = data.get(name)
    if not isinstance(raw, str):
        raise ValidationError(name, "is required (a UUID string)")
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise ValidationError(name, "is not a UUID") from exc


def time_field(data: dict[str, Any], name: str) -> datetime:
    """Client time as naive UTC; missing means now, and a phone clock ahead is clamped."""
    raw = data.get(name)
    now = utcnow()
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise ValidationError(name, "must be an ISO 8601 timestamp")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(name, "is not an ISO 8601 timestamp") from exc
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value.year < 2000:
        raise ValidationError(name, "is before 2000")
    # Phones drift; a write cannot come from the future, so the server clock caps it.
    return min(value, now)


def date_field(data: dict[str, Any], name: str) -> date | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise ValidationError(name, "must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(name, "is not a date (YYYY-MM-DD)") from exc


# -- visits ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Position:
    lat: float
    lon: float
    accuracy_m: float | None


def read_position(data: dict[str, Any]) -> Position | None:
    """The phone's fix, or ``None`` when the rep denied location (or had no fix)."""
    if data.get("lat") is None and data.get("lon") is None:
        return None
    lat = number_field(data, "lat", -90, 90, required=True)
    lon = number_field(data, "lon", -180, 180, required=True)
    accuracy = number_field(data, "accuracy", 0, 100_000)
    assert lat is not None and lon is not None
    return Position(lat, lon, accuracy)


def locate(account: Account, pos: Position | None) -> tuple[float | None, str | None]:
    """Distance to the account and the flag: kept either way, flagged when unverified."""
    if pos is None:
        return None, NO_LOCATION
    if account.lat is None or account.lon is None:
        return None, None
    distance = haversine_m(pos.lat, pos.lon, account.lat, account.lon)
    fence = float(current_app.config.get("GEOCRM_GEOFENCE_METERS", 150))
    return round(distance, 1), OUTSIDE_GEOFENCE if distance > fence else None


def _own_interaction(uuid: str, user: User) -> Interaction | None:
    found = db.session.scalars(select(Interaction).where(Interaction.uuid == uuid)).one_or_none()
    if found is not None and found.user_id != user.id:
        raise ConflictError(f"Interaction {uuid} belongs to someone else.", field="uuid")
    return found


def check_in(user: User, data: dict[str, Any]) -> Interaction:
    """Start a visit: record where the phone was and how far from the account.

    Outside the geofence the visit is kept with ``outside_geofence``; without a position
    (permission denied, no fix) it is kept with ``no_location``. Never refused.
    """
    uuid = uuid_field(data, "uuid")
    account = get_account_or_404(int_field(data, "account_id", required=True) or 0, user)
    pos = read_position(data)
    at = time_field(data, "at")
    stop_id = int_field(data, "route_stop_id")
    distance, flag = locate(account, pos)
    visit = _own_interaction(uuid, user)
    if visit is None:
        visit = Interaction(uuid=uuid, user_id=user.id, account_id=account.id, occurred_at=at)
        db.session.add(visit)
    elif visit.account_id != account.id:
        raise ValidationError("account_id", "does not match the visit")
    visit.kind = InteractionKind.VISIT
    visit.checkin_at = at
    visit.checkin_lat = pos.lat if pos else None
    visit.checkin_lon = pos.lon if pos else None
    visit.checkin_accuracy_m = pos.accuracy_m if pos else None
    visit.distance_m = distance
    visit.location_flag = flag
    if stop_id is not None:
        stop = db.session.get(RouteStop, stop_id)
        if stop is None or stop.account_id != account.id or stop.plan.rep_id != user.id:
            raise ValidationError("route_stop_id", "is not a stop of your plan at this account")
        visit.route_stop_id = stop.id
        stop.status = "visited"
    if account.last_visit_at is None or account.last_visit_at < at:
        account.last_visit_at = at
    db.session.flush()
    return visit


def check_out(user: User, data: dict[str, Any]) -> Interaction:
    """End a visit started by :func:`check_in` (position optional)."""
    uuid = uuid_field(data, "uuid")
    visit = _own_interaction(uuid, user)
    if visit is None:
        raise NotFoundError(f"No visit {uuid}.", field="uuid")
    get_account_or_404(visit.account_id, user)
    pos = read_position(data)
    at = time_field(data, "at")
    if visit.checkin_at and at < visit.checkin_at:
        raise ValidationError("at", "is before the check-in")
    visit.checkout_at = at
    visit.checkout_lat = pos.lat if pos else None
    visit.checkout_lon = pos.lon if pos else None
    db.session.flush()
    return visit


def log_interaction(user: User, data: dict[str, Any]) -> Interaction:
    """Record an interaction (or complete the visit with that ``uuid``), with an optional
    follow-up task and photo. Outcome must be one of :data:`OUTCOMES`."""
    uuid = uuid_field(data, "uuid")
    account = get_account_or_404(int_field(data, "account_id", required=True) or 0, user)
    kind_raw = data.get("kind", "visit")
    try:
        kind = InteractionKind(kind_raw)
    except (ValueError, TypeError) as exc:
        raise ValidationError("kind", f"unknown kind {kind_raw!r}") from exc
    outcome = text_field(data, "outcome", required=True, max_len=40)
    if outcome not in OUTCOMES:
        raise ValidationError("outcome", f"must be one of {', '.join(OUTCOMES)}")
    notes = text_field(data, "notes")
    next_step = text_field(data, "next_step", max_len=1000)
    at = time_field(data, "at")
    task_data = data.get("task")
    if task_data is not None and not isinstance(task_data, dict):
        raise ValidationError("task", "must be an object")
    photo = data.get("photo")
    if photo is not None and not isinstance(photo, dict):
        raise ValidationError("photo", "must be an object")

    item = _own_interaction(uuid, user)
    if item is None:
        pos = read_position(data)
        item = Interaction(uuid=uuid, user_id=user.id, account_id=account.id, occurred_at=at)
        if kind == InteractionKind.VISIT:
            item.distance_m, item.location_flag = locate(account, pos)
            if pos:
                item.checkin_lat, item.checkin_lon = pos.lat, pos.lon
                item.checkin_accuracy_m = pos.accuracy_m
        db.session.add(item)
    elif item.account_id != account.id:
        raise ValidationError("account_id", "does not match the visit")
    item.kind = kind
    item.outcome = outcome
    item.notes = notes
    item.next_step = next_step
    db.session.flush()
    if task_data:
        title = text_field(task_data, "title", max_len=200) or (next_step or "Follow up")[:200]
        task = Task(
            uuid=uuid_field(task_data, "uuid") if task_data.get("uuid") else None,
            title=title,
            account_id=account.id,
            assignee_id=user.id,
            created_by_id=user.id,
            interaction_id=item.id,
            due_date=date_field(task_data, "due_date"),
        )
        db.session.add(task)
    if photo:
        add_photo(item, photo)
    db.session.flush()
    return item


def add_photo(item: Interaction, photo: dict[str, Any]) -> VisitPhoto:
    """Store a photo the phone already shrank (base64 in JSON); type sniffed, size capped."""
    raw = photo.get("data")
    if not isinstance(raw, str):
        raise ValidationError("photo.data", "must be base64 text")
    if raw.startswith("data:"):
        raw = raw.split(",", 1)[-1]
    if len(raw) > MAX_PHOTO_BYTES * 4 // 3 + 8:
        raise ValidationError("photo.data", f"is larger than {MAX_PHOTO_BYTES // 1024} KiB")
    try:
        blob = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("photo.data", "is not valid base64") from exc
    content_type = next((t for magic, t in PHOTO_TYPES.items() if blob.startswith(magic)), None)
    if content_type is None:
        raise ValidationError("photo.data", "must be a JPEG, PNG or WebP image")
    stored = VisitPhoto(
        interaction_id=item.id,
        content_type=content_type,
        data=blob,
        width=int_field(photo, "width"),
        height=int_field(photo, "height"),
        caption=text_field(photo, "caption", max_len=300),
    )
    db.session.add(stored)
    return stored


def photo_for(photo_id: int, user: User) -> VisitPhoto:
    """A photo, if its account is visible to ``user`` (404 otherwise)."""
    photo = db.session.get(VisitPhoto, photo_id)
    if photo is None:
        raise NotFoundError(f"No photo {photo_id}.")
    interaction = db.session.get(Interaction, photo.interaction_id)
    assert interaction is not None
    get_account_or_404(interaction.account_id, user)
    return photo


def create_task(user: User, data: dict[str, Any]) -> Task:
    """A follow-up on an account the rep may see, assigned to the rep."""
    uuid = uuid_field(data, "uuid")
    account = get_account_or_404(int_field(data, "account_id", required=True) or 0, user)
    existing = db.session.scalars(select(Task).where(Task.uuid == uuid)).one_or_none()
    if existing is not None:
        raise ConflictError(f"Task {uuid} already exists.", field="uuid")
    task = Task(
        uuid=uuid,
        title=text_field(data, "title", required=True, max_len=200) or "",
        notes=text_field(data, "notes"),
        account_id=account.id,
        assignee_id=user.id,
        created_by_id=user.id,
        due_date=date_field(data, "due_date"),
    )
    db.session.add(task)
    db.session.flush()
    return task


def complete_task(user: User, data: dict[str, Any]) -> Task:
    """Mark one of the rep's tasks done (idempotent)."""
    task_id = int_field(data, "task_id", required=True)
    task = db.session.get(Task, task_id)
    if task is None or task.assignee_id != user.id:
        raise NotFoundError(f"No task {task_id}.", field="task_id")
    if task.status != TaskStatus.DONE:
        task.status = TaskStatus.DONE
        task.completed_at = time_field(data, "at")
    db.session.flush()
    return task


def open_tasks(user: User, limit: int = 200) -> list[Task]:
    """The rep's open tasks, soonest due first (undated last)."""
    return list(
        db.session.scalars(
            select(Task)
            .where(Task.assignee_id == user.id, Task.status == TaskStatus.OPEN)
            .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
            .limit(limit)
        )
    )


def add_account_here(user: User, data: dict[str, Any]) -> Account:
    """A prospect found on the road, placed at the phone's position and owned by the rep."""
    clean = clean_values({k: data.get(k) for k in ("name", "address", "phone", "email")},
                         allowed=FIELDS)
    coords = check_coordinates(data.get("lat"), data.get("lon"))
    if coords is None:
        raise ValidationError("lat", "is required (the phone's position)")
    if isinstance(data.get("lat"), bool | str) or isinstance(data.get("lon"), bool | str):
        raise ValidationError("lat", "must be a number")
    territory = SpatialRepository(db.session).territory_for(*coords)
    account = Account(
        name=clean["name"],
        name_key=normalise_name(clean["name"]),
        address=clean["address"],
        address_key=normalise_address(clean["address"]),
        phone=clean["phone"],
        email=clean["email"],
        lat=coords[0],
        lon=coords[1],
        location_source=LocationSource.CHECKIN.value,
        location_confidence=0.8,
        stage=Stage.PROSPECT,
        owner_id=user.id,
        territory_id=territory.id if territory else None,
        source="field",
    )
    db.session.add(account)
    db.session.flush()
    contact = text_field(data, "contact_name", max_len=120)
    if contact:
        db.session.add(Contact(account_id=account.id, name=contact, phone=account.phone))
    return account


# -- today's plan and the offline bundle ----------------------------------------------------
@dataclass
class Stop:
    seq: int
    account: Account
    route_stop_id: int | None
    arrival: datetime | None
    departure: datetime | None
    status: str
    overdue_days: int | None


@dataclass
class TodayPlan:
    day: date
    source: str  # "plan" (published by a planner) or "accounts" (fallback list)
    plan_id: int | None
    stops: list[Stop]


def today_plan(user: User, day: date | None = None, limit: int = 12) -> TodayPlan:
    """The published plan for ``user`` on ``day``; otherwise a sensible list of accounts.

    The fallback picks overdue accounts first (by their visit cadence), then the nearest
    to the rep's home, and orders the picks as a nearest-neighbour drive from home.
    """
    day = day or local_today()
    plan = db.session.scalars(
        select(RoutePlan)
        .where(
            RoutePlan.rep_id == user.id,
            RoutePlan.plan_date == day,
            RoutePlan.status == PlanStatus.PUBLISHED,
        )
        .order_by(RoutePlan.published_at.desc(), RoutePlan.id.desc())
        .limit(1)
    ).one_or_none()
    visited = _visited_today(user, day)
    if plan is not None:
        visible = set(
            db.session.scalars(
                visible_accounts(user)
                .with_only_columns(Account.id)
                .where(Account.id.in_([s.account_id for s in plan.stops]))
            )
        )
        stops = [
            Stop(
                s.seq,
                s.account,
                s.id,
                s.arrival,
                s.departure,
                "visited" if s.status == "visited" or s.account_id in visited else s.status,
                None,
            )
            for s in plan.stops
            if s.account_id in visible
        ]
        return TodayPlan(day, "plan", plan.id, stops)
    return TodayPlan(day, "accounts", None, _fallback_stops(user, day, limit, visited))


def _visited_today(user: User, day: date) -> set[int]:
    start, end = local_day_bounds_utc(day)
    return set(
        db.session.scalars(
            select(Interaction.account_id).where(
                Interaction.user_id == user.id,
                Interaction.occurred_at >= start,
                Interaction.occurred_at < end,
            )
        )
    )


def _fallback_stops(user: User, day: date, limit: int, visited: set[int]) -> list[Stop]:
    rows = db.session.execute(
        visible_accounts(user)
        .with_only_columns(
            Account.id, Account.lat, Account.lon, Account.cadence_days, Account.last_visit_at
        )
        .where(Account.archived.is_(False), Account.lat.is_not(None))
        .order_by(Account.id)
        .limit(20_000)
    ).all()
    if not rows:
        return []
    home = (user.home_lat, user.home_lon)
    if home[0] is None or home[1] is None:
        home = (rows[0][1], rows[0][2])

    def overdue(cadence: int | None, last: datetime | None) -> int | None:
        if not cadence:
            return None
        if last is None:
            return cadence
        days = (day - last.date()).days - cadence
        return days if days >= 0 else None

    scored = []
    for aid, lat, lon, cadence, last in rows:
        od = overdue(cadence, last)
        scored.append((0 if od is not None else 1, -(od or 0), haversine_m(*home, lat, lon), aid))
    scored.sort()
    picked = {s[3]: s for s in scored[:limit]}
    accounts = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(list(picked))))
    }
    # Order the picks as a greedy drive from home, so the list reads like a route.
    order: list[int] = []
    here = home
    left = set(picked)
    while left:
        nxt = min(left, key=lambda i: (haversine_m(*here, accounts[i].lat, accounts[i].lon), i))
        order.append(nxt)
        left.remove(nxt)
        here = (accounts[nxt].lat, accounts[nxt].lon)
    return [
        Stop(
            n + 1,
            accounts[i],
            None,
            None,
            None,
            "visited" if i in visited else "planned",
            overdue(accounts[i].cadence_days, accounts[i].last_visit_at),
        )
        for n, i in enumerate(order)
    ]


def offline_accounts(user: User, limit: int = 2000) -> list[Account]:
    """The accounts the phone keeps for offline use: the rep's own, nearest home first."""
    stmt = visible_accounts(user).where(Account.archived.is_(False))
    if user.home_lat is not None and user.home_lon is not None:
        # Cheap planar ordering is enough to choose which accounts travel with the phone.
        stmt = stmt.order_by(
            func.abs(Account.lat - user.home_lat) + func.abs(Account.lon - user.home_lon),
            Account.id,
        )
    else:
        stmt = stmt.order_by(Account.id)
    return list(db.session.scalars(stmt.limit(limit)))


def recent_interactions(account_ids: list[int], per_account: int = 3) -> dict[int, list[Any]]:
    """The last few interactions of each account (one query, trimmed in Python)."""
    out: dict[int, list[Interaction]] = {}
    for chunk in range(0, len(account_ids), 500):
        ids = account_ids[chunk : chunk + 500]
        rows = db.session.scalars(
            select(Interaction)
            .where(Interaction.account_id.in_(ids))
            .order_by(Interaction.account_id, Interaction.occurred_at.desc())
        )
        for row in rows:
            bucket = out.setdefault(row.account_id, [])
            if len(bucket) < per_account:
                bucket.append(row)
    return out


def contacts_for(account_ids: list[int]) -> dict[int, list[Contact]]:
    out: dict[int, list[Contact]] = {}
    for chunk in range(0, len(account_ids), 500):
        ids = account_ids[chunk : chunk + 500]
        for c in db.session.scalars(
            select(Contact).where(Contact.account_id.in_(ids)).order_by(Contact.id)
        ):
            out.setdefault(c.account_id, []).append(c)
    return out
