"""Sending what is due in the outbox: mail and push, with retries and back-off.

Runs as a background job (submitted after a request that queued messages commits, and by
``flask notify send`` from cron), never inside a request. A failed send is retried after 1, 2,
4 … 32 minutes; after :data:`MAX_ATTEMPTS` the message is marked failed with the error, for an
admin to see. Delivery is at-least-once: a job that dies between sending and recording may
send a message twice, never lose one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.jobs import submit_job
from geocrm.models import Notification, PushSubscription, User, utcnow
from geocrm.notify.mail import send_mail
from geocrm.notify.push import SubscriptionGone, send_push

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BATCH = 200
JOB_FUNC = "geocrm.notify.dispatch:send_due_job"


class NoRecipient(RuntimeError):
    """Nowhere to deliver (no phone left for push): failed at once, not retried."""


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 1, 2, 4 … minutes."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


def _absolute(url: str | None) -> str | None:
    base = (current_app.config.get("GEOCRM_BASE_URL") or "").rstrip("/")
    if not url:
        return None
    return base + url if base and url.startswith("/") else url


#: Messages that carry a one-time link: their body is blanked once sent.
SECRET_KINDS = frozenset({"invitation", "password_reset"})


def _send(note: Notification, user: User | None) -> None:
    if note.channel == "email":
        body = note.body
        link = _absolute(note.url)
        if link:
            body = f"{body}\n\n{link}"
        to = user.email if user is not None else note.to_email
        if not to:
            raise NoRecipient("no address to mail")
        send_mail(current_app.config, to, note.subject, body,
                  to_name=user.name if user is not None else None)
        return
    if user is None:
        raise NoRecipient("push needs a person")
    subscriptions = list(db.session.scalars(
        select(PushSubscription).where(PushSubscription.user_id == user.id)
    ))
    payload = {"title": note.subject, "body": note.body[:500], "url": note.url or "/app/",
               "id": note.id}
    if not subscriptions:
        raise NoRecipient("no phone registered for push")
    for sub in subscriptions:
        try:
            send_push(sub, payload)
        except SubscriptionGone:
            db.session.delete(sub)  # the phone unsubscribed: forget it, the others got it


def send_due(limit: int = BATCH) -> dict[str, int]:
    """Send the pending messages whose time has come; record each outcome. Flushes."""
    now = utcnow()
    due = list(db.session.scalars(
        select(Notification)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)
    ))
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for note in due:
        user = db.session.get(User, note.user_id) if note.user_id is not None else None
        if note.user_id is not None and (user is None or not user.active):
            note.status, note.last_error = "failed", "recipient deactivated"
            counts["failed"] += 1
            continue
        try:
            _send(note, user)
        except NoRecipient as exc:
            note.status, note.last_error = "failed", str(exc)
            counts["failed"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
            note.attempts += 1
            note.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if note.attempts >= MAX_ATTEMPTS:
                note.status = "failed"
                counts["failed"] += 1
            else:
                note.next_attempt_at = now + backoff(note.attempts)
                counts["retry"] += 1
            log.warning("notification %s (%s) not sent: %s", note.id, note.channel, exc)
        else:
            note.status, note.sent_at = "sent", utcnow()
            note.attempts += 1
            if note.kind in SECRET_KINDS:
                note.body = ""  # the one-time link lives only in the mail now
            counts["sent"] += 1
    db.session.flush()
    return counts


def send_due_job() -> dict[str, Any]:
    """The background job: one batch (run_job commits the outcomes with the job's status)."""
    return send_due()


def init_app(app: Flask) -> None:
    """After a request that queued messages has committed, send them from a job."""

    @app.after_request
    def _kick(response: Response) -> Response:
        if g.pop("notify_pending", False) and response.status_code < 400:
            try:
                submit_job("notify", JOB_FUNC, {}, None)
            except Exception:  # noqa: BLE001 - the outbox keeps them; cron sends them later
                log.exception("could not start the notification job")
        return response
