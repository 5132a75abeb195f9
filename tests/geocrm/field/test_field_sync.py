"""The batch sync: every client id applied exactly once, rejected writes answered the same
way on replay, field-by-field last-writer-wins merge with the conflict recorded."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from geocrm.extensions import db
from geocrm.field.sync import apply_batch, apply_op
from geocrm.models import Account, Interaction, Task, utcnow
from geocrm.models.field import SyncConflict, SyncRecord


def uid() -> str:
    return str(uuid.uuid4())


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def outbox(account_id: int) -> list[dict[str, Any]]:
    visit = uid()
    return [
        {
            "id": uid(),
            "op": "checkin",
            "data": {"uuid": visit, "account_id": account_id, "lat": 60.16, "lon": 24.91},
        },
        {
            "id": uid(),
            "op": "interaction",
            "data": {"uuid": visit, "account_id": account_id, "outcome": "interested"},
        },
        {
            "id": uid(),
            "op": "interaction",
            "data": {
                "uuid": uid(),
                "account_id": account_id,
                "kind": "call",
                "outcome": "follow_up",
                "task": {"title": "Call back"},
            },
        },
        {
            "id": uid(),
            "op": "interaction",
            "data": {
                "uuid": uid(),
                "account_id": account_id,
                "kind": "note",
                "outcome": "no_answer",
            },
        },
        {"id": uid(), "op": "checkout", "data": {"uuid": visit}},
    ]


def test_batch_applies_each_write_once_and_replays_answer_the_same(client, auth, world):
    """A replayed outbox changes nothing and gets the stored answers, flagged as replays."""
    auth.login("west@example.com")
    ops = outbox(world.west_accounts[0].id)
    first = client.post("/api/v1/sync", json={"ops": ops}).get_json()
    assert first["applied"] == 5 and first["failed"] == 0
    assert count(Interaction) == 3 and count(Task) == 1
    again = client.post("/api/v1/sync", json={"ops": ops}).get_json()
    assert again["replayed"] == 5 and again["applied"] == 0
    assert [r["result"] for r in again["results"]] == [r["result"] for r in first["results"]]
    assert count(Interaction) == 3 and count(Task) == 1 and count(SyncRecord) == 5


def test_one_bad_write_does_not_block_the_rest_and_its_replay_is_the_same(client, auth, world):
    """A rejected write is answered 4xx (field named), the others apply; replay: same answer."""
    auth.login("west@example.com")
    a = world.west_accounts[0].id
    ops = [
        {
            "id": uid(),
            "op": "interaction",
            "data": {"uuid": uid(), "account_id": a, "outcome": "bogus"},
        },
        {
            "id": uid(),
            "op": "interaction",
            "data": {"uuid": uid(), "account_id": a, "outcome": "closed"},
        },
        {"id": uid(), "op": "teleport", "data": {}},
        {"id": uid(), "op": "interaction", "data": "nope"},
        {"id": "not-a-uuid", "op": "interaction", "data": {}},
        "junk",
    ]
    body = client.post("/api/v1/sync", json={"ops": ops}).get_json()
    assert [r["status"] for r in body["results"]] == [422, 201, 422, 422, 422, 422]
    assert body["results"][0]["problem"]["field"] == "outcome"
    assert body["results"][2]["problem"]["field"] == "op"
    assert count(Interaction) == 1
    again = client.post("/api/v1/sync", json={"ops": ops[:4]}).get_json()
    assert [r["status"] for r in again["results"]] == [422, 201, 422, 422]
    assert all(r["replayed"] for r in again["results"])


def test_client_id_of_another_user_is_a_conflict(client, auth, world):
    """An id already used by someone else is refused, not answered with their result."""
    auth.login("west@example.com")
    op = outbox(world.west_accounts[0].id)[1]
    op["data"]["uuid"] = uid()
    assert client.post("/api/v1/sync", json={"ops": [op]}).get_json()["applied"] == 1
    client.post("/logout")
    auth.login("east@example.com")
    res = client.post("/api/v1/sync", json={"ops": [op]}).get_json()["results"][0]
    assert res["status"] == 409 and "result" not in res


def test_sync_rejects_bad_batches(client, auth, world):
    """The batch itself must be a list of at most 2000 writes."""
    auth.login("west@example.com")
    for body in ({}, {"ops": "x"}, {"ops": [{}] * 2001}):
        r = client.post("/api/v1/sync", json=body)
        assert r.status_code == 422 and r.get_json()["field"] == "ops"


def test_concurrent_replays_apply_once(app, world, engine_name):
    """Two threads replaying the same outbox at once (as a batch, then write by write):
    each write exists once."""
    rep_id = world.rep_west.id
    ops = outbox(world.west_accounts[0].id)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                from geocrm.models import User

                user = db.session.get(User, rep_id)
                apply_batch(user, ops)
                for op in ops:  # and one by one, as the single-write endpoints do
                    apply_op(user, op)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    assert count(Interaction) == 3 and count(SyncRecord) == 5


def test_account_edit_merges_field_by_field(client, auth, world):
    """The rep edits phone and stage offline; meanwhile the manager changes phone and city.
    Phone: the later writer wins and the conflict is recorded; stage: applied; city: kept."""
    a = world.west_accounts[0]
    seen_at = utcnow() - timedelta(minutes=10)
    rep_edited_at = utcnow() - timedelta(minutes=5)
    auth.login("manager@example.com")
    r = client.patch(f"/api/v1/accounts/{a.id}", json={"phone": "+358 manager", "city": "Espoo"})
    assert r.status_code == 200
    client.post("/logout")
    auth.login("west@example.com")
    op = {
        "id": uid(),
        "op": "account_edit",
        "data": {
            "account_id": a.id,
            "seen_at": seen_at.isoformat(),
            "edited_at": rep_edited_at.isoformat(),
            "changes": {"phone": "+358 rep", "stage": "prospect"},
        },
    }
    res = client.post("/api/v1/sync", json={"ops": [op]}).get_json()["results"][0]
    assert res["ok"], res
    assert res["result"]["applied"] == ["stage"]
    assert res["result"]["conflicts"] == [{"field": "phone", "winner": "server"}]
    account = db.session.get(Account, a.id)
    db.session.refresh(account)
    assert (account.phone, account.city, account.stage.value) == (
        "+358 manager",
        "Espoo",
        "prospect",
    )
    conflict = db.session.scalars(select(SyncConflict)).one()
    assert conflict.client_value == "+358 rep" and conflict.server_value == "+358 manager"

    # An edit made on the phone after the manager's change wins that field.
    op2 = {
        "id": uid(),
        "op": "account_edit",
        "data": {
            "account_id": a.id,
            "seen_at": seen_at.isoformat(),
            "edited_at": utcnow().isoformat(),
            "changes": {"city": "Vantaa"},
        },
    }
    res2 = client.post("/api/v1/sync", json={"ops": [op2]}).get_json()["results"][0]
    assert res2["result"]["conflicts"] == [{"field": "city", "winner": "client"}]
    db.session.refresh(account)
    assert account.city == "Vantaa" and count(SyncConflict) == 2
    # Replaying the merged edit applies nothing new.
    assert client.post("/api/v1/sync", json={"ops": [op2]}).get_json()["replayed"] == 1
    assert count(SyncConflict) == 2


def test_account_edit_rejects_unknown_fields(client, auth, world):
    """Only editable fields may be merged; the error names the field."""
    auth.login("west@example.com")
    op = {
        "id": uid(),
        "op": "account_edit",
        "data": {"account_id": world.west_accounts[0].id, "changes": {"owner_id": 1}},
    }
    res = client.post("/api/v1/sync", json={"ops": [op]}).get_json()["results"][0]
    assert res["status"] == 422 and res["problem"]["field"] == "changes.owner_id"


def test_add_account_here_places_it_in_the_territory(client, auth, world):
    """A prospect added on the road is owned by the rep and placed by the spatial rule."""
    auth.login("west@example.com")
    op = {
        "id": uid(),
        "op": "account_create",
        "data": {
            "uuid": uid(),
            "name": "Roadside Kiosk",
            "lat": 60.17,
            "lon": 24.92,
            "contact_name": "Aino",
        },
    }
    res = client.post("/api/v1/sync", json={"ops": [op, op]}).get_json()
    assert res["applied"] == 1 and res["replayed"] == 1
    account = db.session.scalars(select(Account).where(Account.name == "Roadside Kiosk")).one()
    assert account.owner_id == world.rep_west.id and account.territory_id == world.west.id
    assert [c.name for c in account.contacts] == ["Aino"]


def test_field_app_pages(client, auth, world):
    """The shell needs a login; the manifest and worker are public with the right headers."""
    assert client.get("/app/").status_code == 302
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert body["display"] == "standalone" and body["start_url"].startswith("/app/")
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    assert any(i["purpose"] == "maskable" for i in body["icons"])
    for icon in body["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.data[:4] == b"\x89PNG"
        got.close()
    sw = client.get("/sw.js")
    assert sw.headers["Service-Worker-Allowed"] == "/" and sw.mimetype == "text/javascript"
    assert "/static/vendor/leaflet/leaflet.js" in sw.get_data(as_text=True)
    auth.login("west@example.com")
    page = client.get("/app/").get_data(as_text=True)
    assert 'rel="manifest"' in page and "cdn" not in page.lower()


def test_clashing_task_uuid_is_a_409_not_a_500(client, auth, world):
    """A follow-up task reusing an existing task's uuid is refused; nothing half-written."""
    auth.login("west@example.com")
    a = world.west_accounts[0].id
    task_uuid = uid()
    ops = [
        {"id": uid(), "op": "task", "data": {"uuid": task_uuid, "account_id": a, "title": "T"}},
        {
            "id": uid(),
            "op": "interaction",
            "data": {
                "uuid": uid(),
                "account_id": a,
                "outcome": "follow_up",
                "task": {"uuid": task_uuid, "title": "again"},
            },
        },
    ]
    body = client.post("/api/v1/sync", json={"ops": ops}).get_json()
    assert [r["status"] for r in body["results"]] == [201, 409]
    assert count(Task) == 1 and count(Interaction) == 0


def test_a_synced_pin_move_into_another_territory_is_in_the_history(client, auth, world):
    """One batch: W1's pin moved into East and a phone edit on W2. Both apply (recording
    the move expires the session mid-batch; the rest of the batch must not notice), W1 is
    East's with an open history row naming East and the manager, and a replay adds nothing."""
    from geocrm.models import AssignmentHistory

    w1, w2 = world.west_accounts
    auth.login("manager@example.com")
    now = utcnow()

    def edit(account_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return {"id": uid(), "op": "account_edit", "data": {
            "account_id": account_id, "seen_at": now.isoformat(),
            "edited_at": now.isoformat(), "changes": changes}}

    ops = [edit(w1.id, {"lat": 60.17, "lon": 24.97}), edit(w2.id, {"phone": "+358 9 1"})]
    body = client.post("/api/v1/sync", json={"ops": ops}).get_json()
    assert [r["ok"] for r in body["results"]] == [True, True], body
    db.session.expire_all()
    assert db.session.get(Account, w1.id).territory_id == world.east.id
    assert db.session.get(Account, w2.id).phone == "+358 9 1"
    rows = db.session.scalars(select(AssignmentHistory).where(
        AssignmentHistory.account_id == w1.id)).all()
    assert [(r.territory_id, r.territory_name, r.changed_by_id, r.until) for r in rows] == [
        (world.east.id, "East", world.manager.id, None)]
    assert client.post("/api/v1/sync", json={"ops": ops}).get_json()["replayed"] == 2
    assert count(AssignmentHistory) == 1
