"""Notifications (issue 17): the outbox, mail received by a real SMTP server process (aiosmtpd),
Web Push decrypted by a local push endpoint, retries with back-off, choices, the digest."""

from __future__ import annotations

import base64
import email
import json
import mailbox
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import g
from sqlalchemy import select

from geocrm.crm.digest import digest_text, queue_digests
from geocrm.crm.tasks import create_task
from geocrm.extensions import db
from geocrm.models import (
    Notification,
    PlanStatus,
    PushSubscription,
    RoutePlan,
    RouteStop,
    Task,
    User,
    utcnow,
)
from geocrm.notify import dispatch, outbox
from tests.conftest import PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server process (aiosmtpd) that stores what it receives in a Maildir."""
    port = _free_port()
    maildir = tmp_path / "maildir"
    mailbox.Maildir(str(maildir), create=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("aiosmtpd did not start: " + proc.stderr.read().decode()[-500:])
    yield port, maildir
    proc.terminate()
    proc.wait(timeout=10)
    proc.stderr.close()


@pytest.fixture
def mail_app_config(app_config, smtp_server):
    port, _ = smtp_server
    app_config.update(GEOCRM_SMTP_HOST="127.0.0.1", GEOCRM_SMTP_PORT=port,
                      GEOCRM_SMTP_STARTTLS=False, GEOCRM_MAIL_FROM="crm@example.com")
    return app_config


def _received(maildir: Path) -> list[email.message.Message]:
    box = mailbox.Maildir(str(maildir), create=False)
    return [email.message_from_bytes(box.get_bytes(k)) for k in box.keys()]


def _subject(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def _body(msg) -> str:
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


def _assign(world, assignee, title="見積書を送る", due=None) -> Task:
    task = create_task(world.manager, {"title": title, "account_id": world.west_accounts[0].id,
                                       "assignee_id": assignee.id,
                                       "due_date": (due or date.today()).isoformat()})
    db.session.commit()
    return task


@pytest.fixture
def mail_app(mail_app_config, engine_name):
    from geocrm import create_app

    application = create_app(mail_app_config)
    with application.app_context():
        if engine_name == "postgres":
            from tests.conftest import _truncate_postgres

            _truncate_postgres()
        else:
            db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


def test_task_assigned_mail_reaches_the_smtp_server_in_the_assignees_language(
        mail_app, smtp_server):
    from tests.factories import build_world

    world = build_world(PASSWORD)
    world.rep_west.locale = "ja"
    db.session.commit()
    _assign(world, world.rep_west)
    rows = list(db.session.scalars(select(Notification)))
    assert [(r.kind, r.channel, r.status) for r in rows] == [("task_assigned", "email", "pending")]
    counts = dispatch.send_due()
    db.session.commit()
    assert counts["sent"] == 1
    [msg] = _received(smtp_server[1])
    assert msg["To"].endswith("<west@example.com>")
    assert _subject(msg) == "新しいタスク: 見積書を送る"
    assert "見積書を送る" in _body(msg) and world.west_accounts[0].name in _body(msg)
    assert db.session.scalars(select(Notification)).one().status == "sent"


def test_self_assigned_tasks_and_deactivated_people_get_nothing(mail_app, smtp_server):
    from tests.factories import build_world

    world = build_world(PASSWORD)
    create_task(world.rep_west, {"title": "Mine", "account_id": world.west_accounts[0].id})
    db.session.commit()
    assert db.session.scalars(select(Notification)).all() == []
    _assign(world, world.rep_west)  # queued, then the rep leaves before it is sent
    world.rep_west.active = False
    db.session.commit()
    assert dispatch.send_due() == {"sent": 0, "retry": 0, "failed": 1}
    db.session.commit()
    assert _received(smtp_server[1]) == []


def test_choices_turn_a_kind_off(mail_app, smtp_server):
    from tests.factories import build_world

    world = build_world(PASSWORD)
    outbox.set_choices(world.rep_west, {"task_assigned": [], "digest": ["email"]})
    db.session.commit()
    _assign(world, world.rep_west)
    assert db.session.scalars(select(Notification)).all() == []
    assert outbox.choices(world.rep_west)["digest"] == ["email"]
    assert outbox.choices(world.rep_east)["plan_published"] == ["email", "push"]  # default


def test_failed_sends_are_retried_with_backoff_then_marked_failed(app, world, monkeypatch):
    app.config.update(GEOCRM_SMTP_HOST="127.0.0.1", GEOCRM_SMTP_PORT=_free_port(),
                      GEOCRM_SMTP_STARTTLS=False)  # nothing listens there
    _assign(world, world.rep_west)
    note = db.session.scalars(select(Notification)).one()
    for attempt in range(1, dispatch.MAX_ATTEMPTS + 1):
        note.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        before = utcnow()
        dispatch.send_due()
        db.session.commit()
        assert note.attempts == attempt and note.last_error
        if attempt < dispatch.MAX_ATTEMPTS:
            assert note.status == "pending"
            wait = note.next_attempt_at - before
            assert dispatch.backoff(attempt) - timedelta(seconds=5) <= wait \
                <= dispatch.backoff(attempt) + timedelta(seconds=5)
            assert dispatch.send_due() == {"sent": 0, "retry": 0, "failed": 0}  # not yet due
    assert note.status == "failed"


def test_a_request_that_queues_mail_sends_it_from_a_job(mail_app, smtp_server):
    from geocrm.jobs import drain
    from tests.factories import build_world

    world = build_world(PASSWORD)
    client = mail_app.test_client()
    client.post("/login", data={"email": world.admin.email, "password": PASSWORD})
    g.pop("_login_user", None)
    r = client.post(f"/crm/accounts/{world.west_accounts[0].id}/tasks",
                    data={"title": "Call the buyer", "assignee_id": world.rep_west.id})
    assert r.status_code in (200, 302, 303), r.status_code
    drain(mail_app, timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _received(smtp_server[1]):
        time.sleep(0.1)
    assert [_subject(m) for m in _received(smtp_server[1])] == ["New task: Call the buyer"]


# -- Web Push ------------------------------------------------------------------------------
class _Browser:
    """What a browser keeps for a push subscription: an ECDH key pair and an auth secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def keys(self) -> dict[str, str]:
        raw = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)
        enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
        return {"p256dh": enc(raw), "auth": enc(self.auth)}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key,
                                           auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture
def push_endpoint():
    """A local push service: records each POST (headers and encrypted body); answers 201, or
    410 for paths ending in /gone."""
    received: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, dict(self.headers), body))
            self.send_response(410 if self.path.endswith("/gone") else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_push_message_is_encrypted_for_the_phone_and_signed_with_vapid(
        app, client, world, push_endpoint):
    base, received = push_endpoint
    phone = _Browser()
    client.post("/login", data={"email": world.rep_west.email, "password": PASSWORD})
    g.pop("_login_user", None)
    key = client.get("/api/v1/push/key").get_json()["public_key"]
    assert len(base64.urlsafe_b64decode(key + "==")) == 65  # an uncompressed P-256 point
    g.pop("_login_user", None)
    r = client.post("/api/v1/push/subscriptions",
                    json={"endpoint": f"{base}/push/abc", "keys": phone.keys()})
    assert r.status_code == 201
    _assign(world, world.rep_west, title="Kahvila Sävy: ask for the order")
    assert {n.channel for n in db.session.scalars(select(Notification))} == {"push"}
    assert dispatch.send_due()["sent"] == 1
    db.session.commit()
    [(path, raw_headers, body)] = received
    headers = {k.lower(): v for k, v in raw_headers.items()}
    assert path == "/push/abc"
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=") and f"k={key}" in headers[
        "authorization"]
    payload = phone.decrypt(body)
    assert payload["title"] == "New task: Kahvila Sävy: ask for the order"
    assert payload["url"] == "/crm/tasks"


def test_a_gone_subscription_is_forgotten(app, client, world, push_endpoint):
    base, received = push_endpoint
    client.post("/login", data={"email": world.rep_west.email, "password": PASSWORD})
    g.pop("_login_user", None)
    client.post("/api/v1/push/subscriptions",
                json={"endpoint": f"{base}/push/gone", "keys": _Browser().keys()})
    _assign(world, world.rep_west)
    dispatch.send_due()
    db.session.commit()
    assert received and db.session.scalars(select(PushSubscription)).all() == []


def test_bad_subscriptions_name_the_field(client, world):
    client.post("/login", data={"email": world.rep_west.email, "password": PASSWORD})
    g.pop("_login_user", None)
    r = client.post("/api/v1/push/subscriptions", json={"endpoint": "ftp://x", "keys": {}})
    assert r.status_code == 422 and "endpoint" in r.get_data(as_text=True)


# -- the digest ----------------------------------------------------------------------------
def test_digest_has_todays_route_tasks_and_drift(app, world):
    today = date.today()
    a, b = world.west_accounts
    plan = RoutePlan(rep_id=world.rep_west.id, plan_date=today, status=PlanStatus.PUBLISHED,
                     published_at=utcnow())
    nine = datetime.combine(today, dtime(9))
    plan.stops = [RouteStop(seq=1, account_id=a.id, arrival=nine, start=nine,
                            departure=nine + timedelta(minutes=30))]
    a.cadence_days, a.last_visit_at = 14, datetime(2020, 1, 1)
    db.session.add(plan)
    db.session.add(Task(title="Overdue call", assignee_id=world.rep_west.id, account_id=b.id,
                        due_date=today - timedelta(days=3)))
    db.session.commit()
    subject, body = digest_text(world.rep_west, today)
    assert "Today's route: 1 visit" in body and a.name in body
    assert "Overdue tasks (1)" in body and "Overdue call" in body
    assert "account is overdue for a visit" in body
    assert digest_text(world.rep_east, today) is None  # nothing to say: no message


def test_digests_are_queued_once_a_day(app, world):
    app.config["GEOCRM_SMTP_HOST"] = "127.0.0.1"
    db.session.add(Task(title="Due today", assignee_id=world.rep_west.id,
                        due_date=date.today()))
    db.session.commit()
    assert queue_digests() >= 1
    db.session.commit()
    first = db.session.scalars(select(Notification).where(Notification.kind == "digest")).all()
    assert {n.user_id for n in first} >= {world.rep_west.id}
    assert all(n.body for n in first)
    assert queue_digests() == 0  # not twice
    users = {u.id for u in db.session.scalars(select(User))}
    assert {n.user_id for n in first} <= users


def test_invitations_and_resets_are_mailed_and_the_link_is_not_kept(mail_app, smtp_server):
    from tests.factories import build_world

    world = build_world(PASSWORD)
    world.admin.locale = "ko"
    db.session.commit()
    client = mail_app.test_client()
    client.post("/login", data={"email": world.admin.email, "password": PASSWORD})
    g.pop("_login_user", None)
    r = client.post("/people/invite", data={"email": "newbie@example.com", "name": "New",
                                            "role": "rep"})
    assert r.status_code == 200
    g.pop("_login_user", None)
    client.post(f"/people/{world.rep_west.id}/reset")
    from geocrm.jobs import drain

    drain(mail_app, timeout=30)  # the requests kicked the sending job: let it finish
    dispatch.send_due()
    db.session.commit()
    db.session.expire_all()
    mails = {m["To"].split("<")[-1].rstrip(">"): m for m in _received(smtp_server[1])}
    invite, reset = mails["newbie@example.com"], mails["west@example.com"]
    assert "/people/join/" in _body(invite) and "GeoCRM" in _subject(invite)
    assert "초대" in _body(invite)  # in the inviter's language
    assert "/people/join/" in _body(reset)
    assert all(n.body == "" for n in db.session.scalars(select(Notification)))
