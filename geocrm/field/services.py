"""Field rules shared by the PWA, the JSON API and the sync endpoint.

Every function takes the acting ``user`` and reaches accounts through
:mod:`geocrm.access`, so a rep can only check in at, log on, or edit what they may see.
Functions here ``flush`` but never ``commit``: the sync layer wraps each outbox write and
its :class:`~geocrm.models.field.SyncRecord` in one transaction (the exactly-once rule).

The rules live in :mod:`~geocrm.field.values` (the JSON value readers),
:mod:`~geocrm.field.visits` (check-in/out, interactions, photos) and
:mod:`~geocrm.field.today` (today's stops, the offline bundle); this module keeps the
rep's tasks and the account added on the road, and re-exports the rest so the sync batch
and the API reach every field rule as ``services.<name>``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.access import get_account_or_404
from geocrm.core.accounts import (
    FIELDS,
    announce_new,
    check_coordinates,
    clean_values,
    new_address,
    normalise_address,
    normalise_name,
)
from geocrm.core.addresses import PARTS
from geocrm.core.names import normalise_reading
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.field.today import (
    Stop,
    TodayPlan,
    contacts_for,
    offline_accounts,
    recent_interactions,
    today_plan,
    visible_account_count,
)
from geocrm.field.values import (
    MAX_TEXT,
    date_field,
    int_field,
    number_field,
    text_field,
    time_field,
    uuid_field,
)
from geocrm.field.visits import (
    MAX_PHOTO_BYTES,
    NO_LOCATION,
    OUTCOMES,
    OUTSIDE_GEOFENCE,
    PHOTO_TYPES,
    Position,
    add_photo,
    check_in,
    check_out,
    locate,
    log_interaction,
    photo_for,
    read_position,
)
from geocrm.geocoding.services import fill_address_at_pin
from geocrm.models import Account, Contact, Stage, Task, TaskStatus, User
from geocrm.models.accounts import LocationSource
from geocrm.spatial import SpatialRepository
from geocrm.webhooks import events as webhooks

__all__ = [
    "MAX_PHOTO_BYTES",
    "MAX_TEXT",
    "NO_LOCATION",
    "OUTCOMES",
    "OUTSIDE_GEOFENCE",
    "PHOTO_TYPES",
    "Position",
    "Stop",
    "TodayPlan",
    "add_account_here",
    "add_photo",
    "check_in",
    "check_out",
    "complete_task",
    "contacts_for",
    "create_task",
    "date_field",
    "int_field",
    "locate",
    "log_interaction",
    "number_field",
    "offline_accounts",
    "visible_account_count",
    "open_tasks",
    "photo_for",
    "read_position",
    "recent_interactions",
    "text_field",
    "time_field",
    "today_plan",
    "uuid_field",
]


# -- the rep's tasks and the account found on the road --------------------------------------
def create_task(user: User, data: dict[str, Any]) -> Task:
    """A follow-up on an account the rep may see, assigned to the rep."""
    uuid = uuid_field(data, "uuid")
    account = get_account_or_404(int_field(data, "account_id", required=True) or 0, user)
    existing = db.session.scalars(select(Task).where(Task.uuid == uuid)).one_or_none()
    if existing is not None:
        raise ConflictError(_("Task %(uuid)s already exists.", uuid=uuid), field="uuid")
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
    webhooks.emit_object("task.created", task)
    return task


def complete_task(user: User, data: dict[str, Any]) -> Task:
    """Mark one of the rep's tasks done (idempotent)."""
    task_id = int_field(data, "task_id", required=True)
    task = db.session.get(Task, task_id)
    if task is None or task.assignee_id != user.id:
        raise NotFoundError(_("No task %(id)s.", id=task_id), field="task_id")
    if task.status != TaskStatus.DONE:
        task.status = TaskStatus.DONE
        task.completed_at = time_field(data, "at")
        webhooks.emit_object("task.updated", task)
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


_NEW_EXTRA = ("name_reading", "country", *PARTS)


def add_account_here(user: User, data: dict[str, Any]) -> Account:
    """A prospect found on the road, placed at the phone's position and owned by the rep."""
    clean = clean_values(
        {k: data.get(k) for k in ("name", "address", "phone", "email")}, allowed=FIELDS
    )
    # The address may come in parts and the name with its reading (フリガナ).
    clean.update(clean_values({k: data[k] for k in _NEW_EXTRA if k in data}, allowed=FIELDS))
    new_address(clean)
    coords = check_coordinates(data.get("lat"), data.get("lon"))
    if coords is None:
        raise ValidationError("lat", _("is required (the phone's position)"))
    if isinstance(data.get("lat"), bool | str) or isinstance(data.get("lon"), bool | str):
        raise ValidationError("lat", _("must be a number"))
    territory = SpatialRepository(db.session).territory_for(*coords)
    account = Account(
        **{k: v for k, v in clean.items() if k in _NEW_EXTRA and v is not None},
        name=clean["name"],
        name_key=normalise_name(clean["name"]),
        address=clean["address"],
        address_key=normalise_address(clean["address"]),
        reading_key=normalise_reading(clean.get("name_reading")),
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
    # Added offline without an address (or without postcode and city): the address where the
    # rep stood, by reverse geocoding; never blocks the write.
    fill_address_at_pin(account, user)
    announce_new(account)
    return account
