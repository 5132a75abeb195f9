"""Twenty phones at once (issue 18): replaying the same batch in different orders and editing
the same field of the same account — 0 errors, 0 lost, 0 doubled, every conflict recorded, on
both engines (PostgreSQL deadlocked on this before the batch took its locks in order)."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from geocrm.extensions import db
from geocrm.field.sync import apply_batch, lock_keys
from geocrm.models import Account, Interaction, Task, User, utcnow
from geocrm.models.field import SyncConflict, SyncRecord

CLIENTS = 20


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _run_all(app, rep_id: int, batches: list[list[dict[str, Any]]]) -> list[Any]:
    """Apply each batch in its own thread and app context; return every result or error."""
    results: list[Any] = [None] * len(batches)
    start = threading.Barrier(len(batches))

    def run(k: int) -> None:
        try:
            start.wait(timeout=30)  # all at once (before any takes a pooled connection)
            with app.app_context():
                user = db.session.get(User, rep_id)
                results[k] = apply_batch(user, batches[k])
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return results


def _outbox(accounts: list[int]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for account_id in accounts:
        visit = str(uuid.uuid4())
        ops += [
            {"id": str(uuid.uuid4()), "op": "checkin",
             "data": {"uuid": visit, "account_id": account_id, "lat": 60.16, "lon": 24.91}},
            {"id": str(uuid.uuid4()), "op": "interaction",
             "data": {"uuid": visit, "account_id": account_id, "outcome": "interested",
                      "task": {"uuid": str(uuid.uuid4()), "title": "Call back"}}},
        ]
    return ops


def test_twenty_phones_replaying_one_batch_in_different_orders(app, world):
    accounts = [a.id for a in world.west_accounts]
    ops = _outbox(accounts)
    batches = []
    for k in range(CLIENTS):
        shuffled = list(ops)
        random.Random(k).shuffle(shuffled)
        batches.append(shuffled)
    results = _run_all(app, world.rep_west.id, batches)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    statuses = [r["status"] for batch in results for r in batch]
    assert all(s < 500 for s in statuses)
    db.session.expire_all()
    assert _count(SyncRecord) == len(ops)  # each write recorded once
    assert _count(Interaction) == len(accounts)  # one visit per account, never two
    assert _count(Task) == len(accounts)  # each follow-up once


def test_twenty_phones_editing_one_field_record_every_conflict(app, world):
    account = world.west_accounts[0]
    seen = utcnow() - timedelta(minutes=30)
    batches = []
    for k in range(CLIENTS):
        batches.append([{"id": str(uuid.uuid4()), "op": "account_edit", "data": {
            "account_id": account.id, "seen_at": seen.isoformat(),
            "edited_at": (seen + timedelta(seconds=k + 1)).isoformat(),
            "changes": {"phone": f"+358 40 {k:07d}"}}}])
    results = _run_all(app, world.rep_west.id, batches)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(b[0]["status"] == 201 for b in results), [b[0] for b in results]
    db.session.expire_all()
    # The first edit to land finds nothing changed since the phones last saw the account;
    # every later one changes a field changed meanwhile: a recorded conflict each.
    assert _count(SyncConflict) == CLIENTS - 1
    assert db.session.get(Account, account.id).phone.startswith("+358 40 ")


def test_lock_keys_are_the_same_whatever_the_order():
    ops = _outbox([3, 1, 2])
    shuffled = list(reversed(ops))
    assert lock_keys(ops) == lock_keys(shuffled)
    assert "account:1" in lock_keys(ops) and len(lock_keys(ops)) == 6 + 3 + 3


def test_an_interaction_sent_again_keeps_one_task_and_one_photo(app, client, world):
    """A phone that re-sends one interaction under new write ids (four times) gets one
    follow-up task and one photo, not four."""
    import base64

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    visit = str(uuid.uuid4())
    data = {"uuid": visit, "account_id": world.west_accounts[0].id, "outcome": "interested",
            "task": {"title": "Send the offer"}, "photo": {"data": png}}
    from geocrm.models.field import VisitPhoto

    with app.app_context():
        user = db.session.get(User, world.rep_west.id)
        for _ in range(4):
            [result] = apply_batch(user, [{"id": str(uuid.uuid4()), "op": "interaction",
                                           "data": data}])
            assert result["status"] == 201
    db.session.expire_all()
    assert _count(Interaction) == 1 and _count(Task) == 1 and _count(VisitPhoto) == 1


def test_twenty_clients_over_http_replay_the_batch_and_edit_the_account(app, world):
    """The Done-when of issue 18 through the HTTP API: twenty signed-in clients (each its own
    test client and session, in its own thread) send the same outbox in shuffled orders, each
    with its own offline edit of the same field; then all PATCH the account with the
    ``If-Match`` they read (one wins, nineteen get 412), then all PATCH it without (twenty
    edits, twenty new versions). No 5xx, every write once, every same-field conflict
    recorded, no lost update."""
    from tests.conftest import PASSWORD

    account_id, email = world.west_accounts[0].id, world.rep_west.email
    accounts = [a.id for a in world.west_accounts]
    ops = _outbox(accounts)
    seen = (utcnow() - timedelta(minutes=30)).isoformat()
    statuses: dict[str, list[int]] = {"sync": [], "if_match": [], "plain": [], "read": []}
    versions: list[str] = []
    step = threading.Barrier(CLIENTS)
    lock = threading.Lock()

    def client_run(k: int) -> None:
        client = app.test_client()
        assert client.post("/login", data={"email": email,
                                           "password": PASSWORD}).status_code == 302
        batch = list(ops)
        random.Random(k).shuffle(batch)
        batch.append({"id": str(uuid.uuid4()), "op": "account_edit", "data": {
            "account_id": account_id, "seen_at": seen,
            "edited_at": (utcnow() - timedelta(minutes=20 - k / 10)).isoformat(),
            "changes": {"phone": f"+358 40 {k:07d}"}}})
        url = f"/api/v1/accounts/{account_id}"
        step.wait(timeout=120)
        synced = client.post("/api/v1/sync", json={"ops": batch})
        step.wait(timeout=120)  # every batch is in: all read the same version
        read = client.get(url)
        step.wait(timeout=120)
        stale = client.patch(url, json={"website": f"https://if-match-{k}.example.com"},
                             headers={"If-Match": read.headers.get("ETag", "")})
        plain = client.patch(url, json={"website": f"https://client-{k}.example.com"})
        with lock:
            statuses["sync"].append(synced.status_code)
            statuses["read"].append(read.status_code)
            statuses["if_match"].append(stale.status_code)
            statuses["plain"].append(plain.status_code)
            versions.append(plain.headers.get("ETag", ""))

    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            client_run(k)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion
            errors.append(exc)
            step.abort()

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == []
    assert statuses["sync"] == statuses["read"] == statuses["plain"] == [200] * CLIENTS
    assert sorted(statuses["if_match"]) == [200] + [412] * (CLIENTS - 1)
    assert len(set(versions)) == CLIENTS  # each plain edit made its own version
    db.session.expire_all()
    assert _count(SyncRecord) == len(ops) + CLIENTS  # each write recorded once
    assert _count(Interaction) == len(accounts) and _count(Task) == len(accounts)
    assert _count(SyncConflict) == CLIENTS - 1  # every later edit of the phone, recorded
    final = db.session.get(Account, account_id)
    assert final.website.startswith("https://client-") and f'"{final.version}"' in versions
