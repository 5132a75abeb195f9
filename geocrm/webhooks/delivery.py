"""Sending the webhook outbox: signed POSTs from a background job, retried with back-off.

Runs as a job, never inside a request: kicked after a request whose events committed, and
for the retries by the first request after the earliest retry falls due (each process
remembers that time, no query per request), with ``flask webhooks deliver`` from cron as the
safety net for a quiet site. A delivery succeeds on any 2xx
answer; anything else (another status, a timeout, a refused connection) is retried after
``GEOCRM_WEBHOOK_BACKOFF_SECONDS`` × 1, 2, 4 … (default 60 s), and after :data:`MAX_ATTEMPTS`
it is marked failed; the delivery log shows the last attempt and offers a replay. Redirects
are not followed (a redirect could lead to an address the URL check refused). Delivery is
at-least-once: receivers de-duplicate on the event id (``X-GeoCRM-Event-Id``).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import Flask, Response, current_app, g
from sqlalchemy import func, select

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.jobs import submit_job
from geocrm.models.planning import Job, JobStatus
from geocrm.models.types import utcnow
from geocrm.models.webhooks import WebhookDelivery, WebhookEndpoint
from geocrm.webhooks.signing import HEADER, sign
from geocrm.webhooks.urls import UnresolvableHost, check_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 50
SNIPPET = 500
JOB_FUNC = "geocrm.webhooks.delivery:deliver_due_job"
NEXT_KEY = "geocrm_webhooks_next_retry"


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: base × 1, 2, 4 …"""
    base = float(current_app.config.get("GEOCRM_WEBHOOK_BACKOFF_SECONDS") or 60)
    return timedelta(seconds=base * 2 ** max(0, attempts - 1))


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed): compact JSON with sorted keys."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode()


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> requests.Response:
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GeoCRM-Webhooks/1",
        HEADER: sign(endpoint.secret, body),
        "X-GeoCRM-Event": delivery.kind,
        "X-GeoCRM-Event-Id": delivery.event_id,
        "X-GeoCRM-Delivery": str(delivery.id),
    }
    timeout = float(current_app.config.get("GEOCRM_WEBHOOK_TIMEOUT") or 10)
    return requests.post(endpoint.url, data=body, headers=headers, timeout=timeout,
                         allow_redirects=False)


def _attempt(delivery: WebhookDelivery, now: datetime) -> str:
    """One attempt; records its outcome on the row and answers the new status."""
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    delivery.attempts += 1
    if endpoint is None or not endpoint.active:
        delivery.status, delivery.last_error = "failed", "endpoint removed or paused"
        return delivery.status
    started = time.perf_counter()
    try:
        check_url(endpoint.url)  # again: the host may resolve elsewhere since registration
        response = _post(endpoint, delivery)
    except UnresolvableHost as exc:  # DNS trouble: retried like a refused connection
        delivery.last_status_code = None
        delivery.last_response = None
        delivery.last_error = str(exc)[:500]
        ok = False
    except ValidationError as exc:  # now points somewhere forbidden: never retried
        delivery.status, delivery.last_error = "failed", str(exc)[:500]
        return delivery.status
    except requests.RequestException as exc:
        delivery.last_status_code = None
        delivery.last_response = None
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
        ok = False
    else:
        delivery.last_status_code = response.status_code
        delivery.last_response = response.text[:SNIPPET]
        delivery.last_error = None
        ok = 200 <= response.status_code < 300
    delivery.last_duration_ms = round((time.perf_counter() - started) * 1000)
    if ok:
        delivery.status, delivery.delivered_at = "delivered", utcnow()
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    return delivery.status


def deliver_due(limit: int = BATCH, now: datetime | None = None) -> dict[str, int]:
    """Attempt every pending delivery whose time has come (``now``: tests move the clock).

    Rows are locked with SKIP LOCKED on PostgreSQL, so two jobs never send one twice. Flushes.
    """
    now = now or utcnow()
    due = list(db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
        .with_for_update(skip_locked=True)
    ))
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for delivery in due:
        status = _attempt(delivery, now)
        counts["retry" if status == "pending" else status] += 1
        if status != "delivered":
            log.warning("webhook delivery %s (%s): %s", delivery.id, delivery.kind,
                        delivery.last_error or delivery.last_status_code)
    db.session.flush()
    _remember_next_retry()
    return counts


def _remember_next_retry() -> None:
    """Note when the earliest pending delivery falls due, for the after-request kick."""
    current_app.extensions[NEXT_KEY] = db.session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at))
        .where(WebhookDelivery.status == "pending"))


def deliver_due_job() -> dict[str, Any]:
    """The background job: one batch (run_job commits the outcomes with the job's status)."""
    return deliver_due()


#: A queued (not yet started) delivery job younger than this will pick up new rows too.
QUEUED_FRESH = timedelta(seconds=60)


def kick() -> None:
    """Start a delivery job now, unless one is queued and not started yet (it will see the
    new rows: they committed before this runs), so a busy API does not make a job per
    request. The outbox keeps the rows if the queue is unreachable."""
    try:
        waiting = db.session.scalar(
            select(Job.id).where(Job.kind == "webhooks", Job.status == JobStatus.QUEUED,
                                 Job.created_at > utcnow() - QUEUED_FRESH).limit(1))
        if waiting is not None:
            return
        submit_job("webhooks", JOB_FUNC, {}, None)
    except Exception:  # noqa: BLE001 - the rows stay pending; cron delivers them later
        log.exception("could not start the webhook delivery job")


def init_app(app: Flask) -> None:
    """After a request that emitted events has committed, deliver them from a job."""

    @app.after_request
    def _kick(response: Response) -> Response:
        if g.pop("webhooks_pending", False) and response.status_code < 400:
            kick()
            return response
        due = app.extensions.get(NEXT_KEY)
        if due is not None and due <= utcnow():
            app.extensions[NEXT_KEY] = None  # the job notes the next one
            kick()
        return response
