"""Emitting events: one outbox row per subscribed endpoint, in the caller's transaction.

The one call a change makes is :func:`emit` (``emit("task.created", {...})``). It only adds
rows and flushes, so the event commits with the change or rolls back with it; after a request
that emitted commits, :func:`geocrm.webhooks.delivery.init_app`'s hook starts the job that
sends them. With no endpoint registered, an emit costs one small query.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from geocrm.extensions import db
from geocrm.models.types import utcnow
from geocrm.models.webhooks import WebhookDelivery, WebhookEndpoint

#: Every event a change emits, with what it means to the admin choosing them.
EVENTS: dict[str, Any] = {
    "account.created": _l("An account is created"),
    "account.updated": _l("An account is changed"),
    "interaction.created": _l("A visit, call or note is logged"),
    "interaction.updated": _l("A visit is checked out or its outcome is logged"),
    "task.created": _l("A task is created"),
    "task.updated": _l("A task is changed or done"),
    "opportunity.created": _l("An opportunity is created"),
    "opportunity.updated": _l("An opportunity is changed"),
    "plan.published": _l("A visit plan is published"),
}
#: What an admin may subscribe to: each event, each family (``account.*``) and everything.
PATTERNS = sorted({"*", *EVENTS, *(k.split(".")[0] + ".*" for k in EVENTS)})


def matches(patterns: list[str], kind: str) -> bool:
    """Whether an endpoint subscribed to ``patterns`` wants ``kind``."""
    family = kind.split(".")[0] + ".*"
    return any(p in ("*", kind, family) for p in patterns)


def jsonable(value: Any) -> Any:
    """A payload value as JSON: dates in ISO 8601, enums by value, decimals as text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


#: What each kind of object carries in its events (a rep's own position at a check-in is not
#: sent: the distance to the account and the flag say what an integration needs).
FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("id", "version", "name", "address", "city", "postcode", "country", "phone",
                "email", "stage", "lat", "lon", "owner_id", "territory_id", "required_skills",
                "updated_at"),
    "interaction": ("id", "uuid", "account_id", "user_id", "kind", "occurred_at", "outcome",
                    "notes", "next_step", "checkin_at", "checkout_at", "distance_m",
                    "location_flag"),
    "task": ("id", "uuid", "title", "account_id", "assignee_id", "created_by_id",
             "interaction_id", "due_date", "status", "completed_at"),
    "opportunity": ("id", "account_id", "owner_id", "name", "stage", "amount",
                    "expected_close", "closed", "updated_at"),
    "plan": ("id", "rep_id", "plan_date", "status", "published_at", "distance_m",
             "duration_s"),
}


def emit_object(kind: str, obj: Any) -> list[WebhookDelivery]:
    """:func:`emit` ``kind`` (``task.created``) with the object's public fields."""
    fields = FIELDS[kind.split(".")[0]]
    return emit(kind, {f: getattr(obj, f, None) for f in fields})


_CACHE_KEY = "geocrm_webhook_subscriptions"


@event.listens_for(Session, "after_transaction_end")
def _forget_subscriptions(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CACHE_KEY, None)


def forget_subscriptions() -> None:
    """Drop this transaction's copy of the endpoints (after registering or changing one)."""
    db.session.info.pop(_CACHE_KEY, None)


def _subscriptions() -> list[tuple[int, list[str]]]:
    """The active endpoints and their patterns, read once per transaction: a job that
    changes 100,000 accounts asks once, not per account."""
    found: list[tuple[int, list[str]]] | None = db.session.info.get(_CACHE_KEY)
    if found is None:
        found = [(e.id, list(e.events or [])) for e in db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))]
        db.session.info[_CACHE_KEY] = found
    return found


def emit(kind: str, data: Mapping[str, Any]) -> list[WebhookDelivery]:
    """Queue ``kind`` with ``data`` for each active endpoint that wants it. Flushes, never sends."""
    if kind not in EVENTS:
        raise ValueError(f"unknown webhook event {kind!r}")
    endpoints = [endpoint_id for endpoint_id, patterns in _subscriptions()
                 if matches(patterns, kind)]
    if not endpoints:
        return []
    event_id = str(uuid.uuid4())
    body = {"id": event_id, "type": kind, "created_at": utcnow().isoformat() + "Z",
            "data": jsonable(data)}
    rows = [WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id, kind=kind, payload=body)
            for endpoint_id in endpoints]
    db.session.add_all(rows)
    db.session.flush()
    if has_request_context():
        g.webhooks_pending = True
    return rows
