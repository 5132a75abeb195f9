"""Webhooks (issue 18): events written with the change, signed deliveries to a real HTTP
receiver on loopback, retries with back-off, the delivery log and replay, SSRF refusal."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from geocrm.api.tokens import create_token
from geocrm.crm.tasks import create_task, update_task
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import utcnow
from geocrm.models.webhooks import WebhookDelivery
from geocrm.webhooks import endpoints
from geocrm.webhooks.delivery import MAX_ATTEMPTS, deliver_due


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers scripted statuses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answer {status}".encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app: Any) -> Iterator[Receiver]:
    """Also lets the app's delivery jobs end before the app's database goes."""
    from geocrm import jobs

    r = Receiver()
    yield r
    jobs.drain(app, 30)
    r.close()


@pytest.fixture
def private_ok(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = True
    app_config["GEOCRM_WEBHOOK_BACKOFF_SECONDS"] = 60
    return app_config


def independent_verify(secret: str, body: bytes, header: str, max_age: int = 300) -> bool:
    """The receiver's check written from the documented format, not from geocrm's code."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    t = int(fields["t"])
    if abs(time.time() - t) > max_age:
        return False
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, fields["v1"])


def pending() -> int:
    return int(db.session.scalar(select(func.count(WebhookDelivery.id))
                                 .where(WebhookDelivery.status == "pending")) or 0)


def test_event_is_written_with_the_change_and_delivered_signed(private_ok, app, world, receiver):
    ep, secret = endpoints.create_endpoint(world.admin, receiver.url, ["task.*"])
    db.session.commit()
    task = create_task(world.rep_west, {"title": "Call back", "account_id":
                                        world.west_accounts[0].id})
    db.session.rollback()  # the change rolled back: so did its event
    assert pending() == 0
    task = create_task(world.rep_west, {"title": "Call back", "account_id":
                                        world.west_accounts[0].id})
    db.session.commit()
    assert pending() == 1
    assert deliver_due() == {"delivered": 1, "retry": 0, "failed": 0}
    db.session.commit()
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got["headers"]["X-GeoCRM-Event"] == "task.created"
    assert independent_verify(secret, got["body"], got["headers"]["X-GeoCRM-Signature"])
    assert not independent_verify("whsec_wrong", got["body"], got["headers"]["X-GeoCRM-Signature"])
    tampered = got["body"].replace(b"Call back", b"Call later")
    assert not independent_verify(secret, tampered, got["headers"]["X-GeoCRM-Signature"])
    event = json.loads(got["body"])
    assert event["type"] == "task.created" and event["data"]["id"] == task.id
    assert event["data"]["title"] == "Call back"
    assert got["headers"]["X-GeoCRM-Event-Id"] == event["id"]
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "delivered" and row.last_status_code == 200
    assert row.last_response == "answer 200" and row.last_duration_ms is not None
    # an endpoint only gets what it subscribed to
    update_task(world.rep_west, task.id, {"status": "done"})
    db.session.commit()
    assert pending() == 1  # task.updated matches task.*
    ep2, _ = endpoints.create_endpoint(world.admin, receiver.url, ["plan.published"])
    db.session.commit()
    update_task(world.rep_west, task.id, {"title": "Call back today"})
    db.session.commit()
    assert pending() == 2  # not ep2


def test_retries_back_off_then_deliver(private_ok, app, world, receiver):
    endpoints.create_endpoint(world.admin, receiver.url, ["*"])
    db.session.commit()
    create_task(world.rep_west, {"title": "Retry me"})
    db.session.commit()
    receiver.statuses = [500, 503]
    t0 = utcnow()
    assert deliver_due(now=t0)["retry"] == 1
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.attempts == 1 and row.last_status_code == 500
    assert row.next_attempt_at == t0 + timedelta(seconds=60)
    assert deliver_due(now=t0 + timedelta(seconds=59)) == {"delivered": 0, "retry": 0,
                                                           "failed": 0}
    assert deliver_due(now=t0 + timedelta(seconds=61))["retry"] == 1
    assert row.attempts == 2 and row.last_status_code == 503
    assert row.next_attempt_at == t0 + timedelta(seconds=61 + 120)  # doubled
    assert deliver_due(now=t0 + timedelta(seconds=200))["delivered"] == 1
    db.session.commit()
    assert row.status == "delivered" and row.attempts == 3
    assert len(receiver.requests) == 3
    ids = {r["headers"]["X-GeoCRM-Event-Id"] for r in receiver.requests}
    assert len(ids) == 1  # the same event each time: receivers de-duplicate on it


def test_gives_up_after_max_attempts_and_replay_sends_again(private_ok, app, client, world,
                                                             auth, receiver):
    ep, secret = endpoints.create_endpoint(world.admin, receiver.url, ["task.created"])
    db.session.commit()
    create_task(world.rep_west, {"title": "Doomed"})
    db.session.commit()
    receiver.statuses = [500] * MAX_ATTEMPTS
    now = utcnow()
    for _ in range(MAX_ATTEMPTS):
        deliver_due(now=now)
        now += timedelta(days=1)
    db.session.commit()
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert deliver_due(now=now + timedelta(days=30))["retry"] == 0  # stays failed
    # the delivery log shows it; Replay queues it again and a job delivers it
    auth.login("admin@example.com")
    page = client.get(f"/admin/webhooks/{ep.id}").get_data(as_text=True)
    assert f'data-delivery-id="{row.id}" data-status="failed"' in page and "HTTP 500" in page
    assert client.post(f"/admin/webhooks/deliveries/{row.id}/replay").status_code == 302
    deadline = time.monotonic() + 15
    while len(receiver.requests) < MAX_ATTEMPTS + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.requests) == MAX_ATTEMPTS + 1, "the replay job did not deliver"
    last = receiver.requests[-1]
    assert independent_verify(secret, last["body"], last["headers"]["X-GeoCRM-Signature"])
    db.session.expire_all()
    deadline = time.monotonic() + 10
    while db.session.get(WebhookDelivery, row.id).status != "delivered":
        assert time.monotonic() < deadline
        time.sleep(0.1)
        db.session.expire_all()


def test_request_that_changes_data_kicks_a_delivery_job(private_ok, app, client, world,
                                                         receiver):
    """A task made through the API is delivered by the background job, no cron needed."""
    _, secret = endpoints.create_endpoint(world.admin, receiver.url, ["task.*"])
    _, plain = create_token(world.rep_west, "phone")
    db.session.commit()
    r = client.post("/api/v1/tasks", json={"uuid": "5f0e8f2e-8f7e-4d6a-9a65-4c3f1f2b9a10",
                                            "account_id": world.west_accounts[0].id,
                                            "title": "From the phone"},
                    headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 201, r.get_json()
    deadline = time.monotonic() + 15
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.requests, "no delivery arrived"
    got = receiver.requests[0]
    assert json.loads(got["body"])["data"]["title"] == "From the phone"
    assert independent_verify(secret, got["body"], got["headers"]["X-GeoCRM-Signature"])


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fe80::1]/hook",  # link-local v6
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.0.0.5/hook",
    "http://[::ffff:169.254.169.254]/",
    "ftp://example.com/hook",
    "http://user:pw@example.com/hook",
])
def test_private_and_metadata_addresses_are_refused(app, world, url):
    with pytest.raises(ValidationError) as err:
        endpoints.create_endpoint(world.admin, url, ["*"])
    assert err.value.field == "url"


def test_refusal_on_the_page_and_before_each_delivery(app_config, app, client, world, auth,
                                                      receiver):
    """The admin page answers 422 naming the URL; a row queued while private addresses were
    allowed fails (not retried) once they are not."""
    auth.login("admin@example.com")
    r = client.post("/admin/webhooks/", data={"url": "http://169.254.169.254/x",
                                              "events": ["*"]})
    assert r.status_code == 422 and "url:" in r.get_data(as_text=True)
    app.config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = True
    endpoints.create_endpoint(world.admin, receiver.url, ["*"])
    db.session.commit()
    create_task(world.rep_west, {"title": "x"})
    db.session.commit()
    app.config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = False
    assert deliver_due()["failed"] == 1
    assert receiver.requests == []


def test_admin_pages_show_the_secret_once_and_are_admin_only(private_ok, app, client, world,
                                                              auth, receiver):
    auth.login("west@example.com")
    assert client.get("/admin/webhooks/").status_code == 403
    auth.logout()
    auth.login("admin@example.com")
    r = client.post("/admin/webhooks/", data={"url": receiver.url, "description": "ERP",
                                              "events": ["account.*", "plan.published"]})
    assert r.status_code == 201
    page = r.get_data(as_text=True)
    assert 'id="webhook-secret">whsec_' in page
    listing = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "whsec_" not in listing and receiver.url in listing
    r = client.post("/admin/webhooks/", data={"url": receiver.url, "events": []})
    assert r.status_code == 422


def _wait(predicate: Any, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_later_request_starts_the_due_retry(private_ok, app, client, world, receiver):
    """No cron: the first request after a retry falls due starts the delivery job."""
    app.config["GEOCRM_WEBHOOK_BACKOFF_SECONDS"] = 0.3
    endpoints.create_endpoint(world.admin, receiver.url, ["task.created"])
    _, plain = create_token(world.rep_west, "phone")
    db.session.commit()
    receiver.statuses = [500]
    r = client.post("/api/v1/tasks", json={"uuid": "0b7d3c52-7a49-4a5e-9d0e-2f5a1b8c9d01",
                                            "account_id": world.west_accounts[0].id,
                                            "title": "Flaky receiver"},
                    headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 201
    assert _wait(lambda: len(receiver.requests) == 1)
    assert _wait(lambda: app.extensions.get("geocrm_webhooks_next_retry") is not None)
    time.sleep(0.4)
    client.get("/api/v1/today", headers={"Authorization": f"Bearer {plain}"})
    assert _wait(lambda: len(receiver.requests) == 2), "the retry was not started"


def test_cli_delivers_what_is_due(private_ok, app, runner, world, receiver):
    endpoints.create_endpoint(world.admin, receiver.url, ["*"])
    db.session.commit()
    create_task(world.rep_west, {"title": "By cron"})
    db.session.commit()
    result = runner.invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output and len(receiver.requests) == 1


def test_subscriptions_are_read_once_per_transaction(private_ok, app, world, receiver):
    """Many changes in one transaction ask for the endpoints once; a new endpoint counts from
    the next change on, also inside the same transaction."""
    from sqlalchemy import event as sa_event

    endpoints.create_endpoint(world.admin, receiver.url, ["task.*"])
    db.session.commit()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM webhook_endpoints" in statement:
            statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        for i in range(5):
            create_task(world.rep_west, {"title": f"t{i}"})
        assert len(statements) == 1
        endpoints.create_endpoint(world.admin, receiver.url, ["task.created"])
        create_task(world.rep_west, {"title": "after"})
        db.session.commit()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert pending() == 5 + 2
    create_task(world.rep_west, {"title": "next transaction"})
    db.session.commit()
    assert pending() == 7 + 2


def test_a_host_that_stops_resolving_is_retried_not_dropped(private_ok, app, world):
    """DNS trouble at delivery time is a retry (a forbidden address is not)."""
    from geocrm.models.webhooks import WebhookEndpoint

    ep, _ = endpoints.create_endpoint(world.admin, "http://127.0.0.1:9/hook", ["*"])
    db.session.commit()
    create_task(world.rep_west, {"title": "x"})
    db.session.commit()
    db.session.get(WebhookEndpoint, ep.id).url = "http://no-such-host.invalid/hook"
    db.session.commit()
    assert deliver_due()["retry"] == 1
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "pending" and "host cannot be found" in (row.last_error or "")


def test_one_queued_job_serves_many_requests(private_ok, app, world):
    """While a delivery job waits in the queue, further kicks add none; a stale queued row
    (its process died) does not block new jobs."""
    from geocrm.models.planning import Job, JobStatus
    from geocrm.webhooks.delivery import JOB_FUNC, kick

    db.session.add(Job(kind="webhooks", func=JOB_FUNC, kwargs={}, backend="thread",
                       status=JobStatus.QUEUED, progress=0.0, message="queued"))
    db.session.commit()
    kick()
    kick()
    count = db.session.scalar(select(func.count(Job.id)).where(Job.kind == "webhooks"))
    assert count == 1
    db.session.scalars(select(Job)).one().created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    kick()
    count = db.session.scalar(select(func.count(Job.id)).where(Job.kind == "webhooks"))
    assert count == 2
    from geocrm import jobs

    jobs.drain(app, 30)
