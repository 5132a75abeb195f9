"""Registering, changing and removing webhook endpoints (admins only; the views check)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import User
from geocrm.models.types import utcnow
from geocrm.models.webhooks import WebhookDelivery, WebhookEndpoint
from geocrm.webhooks.events import PATTERNS, forget_subscriptions
from geocrm.webhooks.urls import check_url

SECRET_PREFIX = "whsec_"


def create_endpoint(user: User, url: str, events: Iterable[str],
                    description: str | None = None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; returns it and its secret (shown once). Flushes."""
    clean_url = check_url(url)
    chosen = sorted({e.strip() for e in events if e and e.strip()})
    if not chosen:
        raise ValidationError("events", _("choose at least one event"))
    unknown = [e for e in chosen if e not in PATTERNS]
    if unknown:
        raise ValidationError("events", _("unknown event %(name)s", name=unknown[0]))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = WebhookEndpoint(url=clean_url, events=chosen, secret=secret,
                          description=(description or "").strip()[:200] or None,
                          created_by_id=user.id, active=True)
    db.session.add(row)
    db.session.flush()
    forget_subscriptions()
    return row, secret


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    row = db.session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise NotFoundError(f"No webhook endpoint {endpoint_id}.")
    return row


def set_active(endpoint_id: int, active: bool) -> WebhookEndpoint:
    """Pause or resume an endpoint (a paused one gets no new events). Flushes."""
    row = get_endpoint_or_404(endpoint_id)
    row.active = active
    db.session.flush()
    forget_subscriptions()
    return row


def delete_endpoint(endpoint_id: int) -> None:
    """Remove an endpoint and its delivery log. Flushes."""
    db.session.delete(get_endpoint_or_404(endpoint_id))
    db.session.flush()
    forget_subscriptions()


def deliveries(endpoint_id: int, limit: int = 200) -> list[WebhookDelivery]:
    """The endpoint's newest deliveries first (the delivery log)."""
    return list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)))


def replay(delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (same event id and body, newly signed): pending now. Flushes."""
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFoundError(f"No webhook delivery {delivery_id}.")
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.delivered_at = None
    db.session.flush()
    return row
