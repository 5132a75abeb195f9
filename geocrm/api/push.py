"""Web Push for the installed field app: the server's public key, and the phone's subscription.

The field app asks the browser for a push subscription with the key from ``/push/key`` and
sends it here; messages (a task assigned, a plan published) then reach the phone even when
the app is closed. Which messages a person gets is their choice on "Your account".
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required

from geocrm.api import bp
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.notify import push


@bp.route("/push/key")
@login_required
def push_key() -> Any:
    """The VAPID public key (the browser's ``applicationServerKey``)."""
    return jsonify({"public_key": push.public_key()})


@bp.route("/push/subscriptions", methods=["POST"])
@login_required
@commits
def push_subscribe() -> Any:
    """Register this phone's push subscription (``PushSubscription.toJSON()``)."""
    row = push.subscribe(current_user, request.get_json(silent=True))
    return jsonify({"id": row.id}), 201


@bp.route("/push/subscriptions", methods=["DELETE"])
@login_required
@commits
def push_unsubscribe() -> Any:
    """Forget this phone's subscription (``{"endpoint": ...}``)."""
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str):
        raise ValidationError("endpoint", "is required")
    return jsonify({"removed": push.unsubscribe(current_user, endpoint)})
