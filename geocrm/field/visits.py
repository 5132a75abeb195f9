"""Visits on the road: check-in and check-out with the geofence flag, logged interactions
with their follow-up task and photo, and reading a photo back.

Every function reaches accounts through :mod:`geocrm.access` (a rep only visits what they may
see) and flushes; the sync batch or the request commits.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.access import get_account_or_404
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.field.values import (
    date_field,
    int_field,
    number_field,
    text_field,
    time_field,
    uuid_field,
)
from geocrm.models import Account, Interaction, InteractionKind, RouteStop, Task, User
from geocrm.models.activity import VISIT_OUTCOMES
from geocrm.models.field import VisitPhoto
from geocrm.spatial import haversine_m
from geocrm.webhooks import events as webhooks

OUTCOMES = VISIT_OUTCOMES
OUTSIDE_GEOFENCE = "outside_geofence"
POOR_ACCURACY = "poor_accuracy"
NO_LOCATION = "no_location"
NO_PIN = "no_pin"
MAX_PHOTO_BYTES = 600 * 1024  # the phone shrinks photos to ~1280 px JPEG, well under this
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"RIFF": "image/webp"}


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
    """Distance to the account and the flag: kept either way, flagged unless verified.

    Verified (no flag) means inside the geofence *with a fix good enough to say so*
    (``GEOCRM_CHECKIN_MAX_ACCURACY_M``): a ±4 km fix proves nothing. With a poor fix the
    visit is ``outside_geofence`` only when even the fix's whole error circle lies beyond the
    fence, else ``poor_accuracy``. A fix without a stated accuracy (old clients) is judged by
    its position alone.
    """
    if pos is None:
        return None, NO_LOCATION
    if account.lat is None or account.lon is None:
        return None, NO_PIN
    distance = haversine_m(pos.lat, pos.lon, account.lat, account.lon)
    fence = float(current_app.config.get("GEOCRM_GEOFENCE_METERS", 150))
    good = float(current_app.config.get("GEOCRM_CHECKIN_MAX_ACCURACY_M", 100))
    accuracy = pos.accuracy_m
    if accuracy is not None and accuracy > good:
        return round(distance, 1), OUTSIDE_GEOFENCE if distance - accuracy > fence \
            else POOR_ACCURACY
    return round(distance, 1), OUTSIDE_GEOFENCE if distance > fence else None


def _own_interaction(uuid: str, user: User) -> Interaction | None:
    found = db.session.scalars(select(Interaction).where(Interaction.uuid == uuid)).one_or_none()
    if found is not None and found.user_id != user.id:
        raise ConflictError(_(
            "Interaction %(uuid)s belongs to someone else.", uuid=uuid), field="uuid")
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
    new = visit is None
    if visit is None:
        visit = Interaction(uuid=uuid, user_id=user.id, account_id=account.id, occurred_at=at)
        db.session.add(visit)
    elif visit.account_id != account.id:
        raise ValidationError("account_id", _("does not match the visit"))
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
            raise ValidationError("route_stop_id", _("is not a stop of your plan at this account"))
        visit.route_stop_id = stop.id
        stop.status = "visited"
    if account.last_visit_at is None or account.last_visit_at < at:
        account.last_visit_at = at
    db.session.flush()
    webhooks.emit_object("interaction.created" if new else "interaction.updated", visit)
    return visit


def check_out(user: User, data: dict[str, Any]) -> Interaction:
    """End a visit started by :func:`check_in` (position optional)."""
    uuid = uuid_field(data, "uuid")
    visit = _own_interaction(uuid, user)
    if visit is None:
        raise NotFoundError(_("No visit %(uuid)s.", uuid=uuid), field="uuid")
    get_account_or_404(visit.account_id, user)
    pos = read_position(data)
    at = time_field(data, "at")
    if visit.checkin_at and at < visit.checkin_at:
        raise ValidationError("at", _("is before the check-in"))
    visit.checkout_at = at
    visit.checkout_lat = pos.lat if pos else None
    visit.checkout_lon = pos.lon if pos else None
    db.session.flush()
    webhooks.emit_object("interaction.updated", visit)
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
        raise ValidationError("kind", _(
            "unknown kind %(kind)s", kind=repr(kind_raw))) from exc
    outcome = text_field(data, "outcome", required=True, max_len=40)
    if outcome not in OUTCOMES:
        raise ValidationError("outcome", _("must be one of %(values)s", values=', '.join(OUTCOMES)))
    notes = text_field(data, "notes")
    next_step = text_field(data, "next_step", max_len=1000)
    at = time_field(data, "at")
    task_data = data.get("task")
    if task_data is not None and not isinstance(task_data, dict):
        raise ValidationError("task", _("must be an object"))
    photo = data.get("photo")
    if photo is not None and not isinstance(photo, dict):
        raise ValidationError("photo", _("must be an object"))

    item = _own_interaction(uuid, user)
    new = item is None
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
        raise ValidationError("account_id", _("does not match the visit"))
    item.kind = kind
    item.outcome = outcome
    item.notes = notes
    item.next_step = next_step
    db.session.flush()
    # Children are idempotent with their parent: the same interaction sent again (a phone
    # that retried under a new write id) keeps its one follow-up task and its photos.
    existing_task = None if new else db.session.scalars(
        select(Task).where(Task.interaction_id == item.id).order_by(Task.id)).first()
    if task_data and existing_task is not None:
        task = existing_task
    elif task_data:
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
    if photo and (new or not _has_photo(item, photo)):
        add_photo(item, photo)
    db.session.flush()
    webhooks.emit_object("interaction.created" if new else "interaction.updated", item)
    if task_data:
        webhooks.emit_object("task.created", task)
    return item


def _has_photo(item: Interaction, photo: dict[str, Any]) -> bool:
    """Whether the interaction already holds this very photo (a re-sent interaction)."""
    raw = photo.get("data")
    if not isinstance(raw, str):
        return False
    try:
        blob = base64.b64decode(raw.split(",", 1)[-1] if raw.startswith("data:") else raw,
                                validate=True)
    except (binascii.Error, ValueError):
        return False
    return any(p.data == blob for p in db.session.scalars(
        select(VisitPhoto).where(VisitPhoto.interaction_id == item.id)))


def add_photo(item: Interaction, photo: dict[str, Any]) -> VisitPhoto:
    """Store a photo the phone already shrank (base64 in JSON); type sniffed, size capped."""
    raw = photo.get("data")
    if not isinstance(raw, str):
        raise ValidationError("photo.data", _("must be base64 text"))
    if raw.startswith("data:"):
        raw = raw.split(",", 1)[-1]
    if len(raw) > MAX_PHOTO_BYTES * 4 // 3 + 8:
        raise ValidationError("photo.data", _(
            "is larger than %(num)s KiB", num=MAX_PHOTO_BYTES // 1024))
    try:
        blob = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("photo.data", _("is not valid base64")) from exc
    content_type = next((t for magic, t in PHOTO_TYPES.items() if blob.startswith(magic)), None)
    if content_type is None:
        raise ValidationError("photo.data", _("must be a JPEG, PNG or WebP image"))
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
        raise NotFoundError(_("No photo %(id)s.", id=photo_id))
    interaction = db.session.get(Interaction, photo.interaction_id)
    assert interaction is not None
    get_account_or_404(interaction.account_id, user)
    return photo
