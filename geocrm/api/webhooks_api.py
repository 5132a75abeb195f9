"""/api/v1/webhooks (issue 18): admins manage endpoints and replay deliveries from a script.

Admin-only: the admin role, and with a bearer token also the ``admin`` scope
(:func:`geocrm.api.tokens.requires_scope`). The secret is in the creation answer only.
"""

from __future__ import annotations

from typing import Any

import click
from flask import g, jsonify, request
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.api import bp
from geocrm.api.tokens import requires_scope
from geocrm.core.transaction import commits, transaction
from geocrm.errors import ValidationError
from geocrm.models import Role
from geocrm.models.webhooks import WebhookDelivery, WebhookEndpoint
from geocrm.webhooks import endpoints
from geocrm.webhooks.delivery import BATCH, deliver_due


def _endpoint_json(row: WebhookEndpoint) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "description": row.description,
            "events": list(row.events or []), "active": row.active,
            "created_at": row.created_at.isoformat() if row.created_at else None}


def _delivery_json(row: WebhookDelivery) -> dict[str, Any]:
    def iso(v: Any) -> str | None:
        return v.isoformat() if v else None

    return {"id": row.id, "event_id": row.event_id, "type": row.kind, "status": row.status,
            "attempts": row.attempts, "next_attempt_at": iso(row.next_attempt_at),
            "status_code": row.last_status_code, "duration_ms": row.last_duration_ms,
            "response": row.last_response, "error": row.last_error,
            "created_at": iso(row.created_at), "delivered_at": iso(row.delivered_at)}


@bp.route("/webhooks")
@requires_scope("admin")
@roles_required(Role.ADMIN)
def list_webhooks() -> Any:
    """Every registered endpoint (never its secret)."""
    return jsonify({"items": [_endpoint_json(e) for e in endpoints.list_endpoints()]})


@bp.route("/webhooks", methods=["POST"])
@requires_scope("admin")
@roles_required(Role.ADMIN)
@commits
def create_webhook() -> Any:
    """Register an endpoint: ``{"url", "events": [...], "description"}``; answers its secret."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    events = data.get("events")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValidationError("events", "must be a list of event names")
    url, description = data.get("url"), data.get("description")
    if not isinstance(url, str):
        raise ValidationError("url", "is required")
    if description is not None and not isinstance(description, str):
        raise ValidationError("description", "must be text")
    row, secret = endpoints.create_endpoint(current_user, url, events, description)
    response = jsonify({**_endpoint_json(row), "secret": secret})
    response.status_code = 201
    return response


@bp.route("/webhooks/<int:endpoint_id>/deliveries")
@requires_scope("admin")
@roles_required(Role.ADMIN)
def webhook_deliveries(endpoint_id: int) -> Any:
    """The endpoint's delivery log, newest first."""
    endpoints.get_endpoint_or_404(endpoint_id)
    return jsonify({"items": [_delivery_json(d) for d in endpoints.deliveries(endpoint_id)]})


@bp.route("/webhooks/deliveries/<int:delivery_id>/replay", methods=["POST"])
@requires_scope("admin")
@roles_required(Role.ADMIN)
@commits
def replay_delivery(delivery_id: int) -> Any:
    """Send a delivery again; the job starts after this answer."""
    row = endpoints.replay(delivery_id)
    g.webhooks_pending = True
    response = jsonify(_delivery_json(row))
    response.status_code = 202
    return response


@click.group("webhooks")
def webhooks_command() -> None:
    """Webhook deliveries."""


@webhooks_command.command("deliver")
def deliver_command() -> None:
    """Deliver every webhook that is due (cron: every minute, as a safety net for retries)."""
    total = {"delivered": 0, "retry": 0, "failed": 0}
    while True:
        with transaction():
            counts = deliver_due()
        for key, value in counts.items():
            total[key] += value
        if sum(counts.values()) < BATCH:
            break
    click.echo(f"delivered {total['delivered']}, to retry {total['retry']}, "
               f"failed {total['failed']}")
