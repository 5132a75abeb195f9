"""Web Push to the installed field app: VAPID keys, subscriptions, sending (RFC 8030/8291/8292).

The keys are made once in the instance folder (like the secret key), never in the repository.
The payload is encrypted for the browser by pywebpush (aes128gcm), so the push service that
carries it cannot read it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import PushSubscription, User

KEY_FILE = "vapid_private.pem"


class SubscriptionGone(RuntimeError):
    """The push service says the subscription no longer exists (404/410): forget it."""


def _key_path() -> Path:
    return Path(current_app.instance_path) / KEY_FILE


def private_key_path() -> Path:
    """The VAPID private key's PEM file, made on first use (owner-only permissions)."""
    path = _key_path()
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return path
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    return path


def public_key() -> str:
    """The VAPID public key as the browser's ``applicationServerKey`` (base64url, no padding)."""
    key = serialization.load_pem_private_key(private_key_path().read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    raw = key.public_key().public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscribe(user: User, data: Any) -> PushSubscription:
    """Register (or move to ``user``) a browser's subscription: ``{endpoint, keys: {p256dh,
    auth}}`` as ``PushSubscription.toJSON()`` gives it. Flushes."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    endpoint = data.get("endpoint")
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")) \
            or len(endpoint) > 1000:
        raise ValidationError("endpoint", "must be the push service's URL")
    for name, limit in (("p256dh", 200), ("auth", 100)):
        value = keys.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            raise ValidationError(f"keys.{name}", "is required")
    row = db.session.scalars(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).one_or_none()
    if row is None:
        row = PushSubscription(endpoint=endpoint, user_id=user.id, extra={})
        db.session.add(row)
    row.user_id = user.id  # a shared phone signed in by someone else now
    row.p256dh, row.auth = keys["p256dh"], keys["auth"]
    db.session.flush()
    return row


def unsubscribe(user: User, endpoint: str) -> int:
    result = db.session.execute(
        delete(PushSubscription).where(PushSubscription.user_id == user.id,
                                       PushSubscription.endpoint == endpoint)
    )
    db.session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def send_push(subscription: PushSubscription, payload: dict[str, Any]) -> None:
    """Encrypt and deliver one message to one browser; raises on failure (the caller retries),
    :class:`SubscriptionGone` when the browser unsubscribed."""
    try:
        with requests.Session() as session:  # closed after the one request, not left to GC
            _webpush(subscription, payload, session)
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            raise SubscriptionGone(str(exc)) from exc
        raise


def _webpush(subscription: PushSubscription, payload: dict[str, Any],
             session: requests.Session) -> None:
    webpush(
        subscription_info={"endpoint": subscription.endpoint,
                           "keys": {"p256dh": subscription.p256dh,
                                    "auth": subscription.auth}},
        data=json.dumps(payload, ensure_ascii=False),
        vapid_private_key=str(private_key_path()),
        vapid_claims={"sub": current_app.config.get("GEOCRM_VAPID_SUBJECT")
                      or "mailto:admin@localhost"},
        content_encoding="aes128gcm",
        ttl=24 * 3600,
        timeout=20,
        requests_session=session,
    )
