"""The CRM objects of ``/api/v1`` (issue 18): contacts, interactions, tasks, opportunities,
segments and reports. Keyset pages across pages, filters and ``updated_since``; writes through
the pages' rules with their webhooks; entity tags and 412 on a stale ``If-Match``; a rep gets
404 for what is not theirs; a read-only token cannot write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from geocrm.api.tokens import create_token
from geocrm.extensions import db
from geocrm.models import Contact, Interaction, InteractionKind, Opportunity, Task, utcnow
from geocrm.models.crm import Segment
from geocrm.models.webhooks import WebhookDelivery, WebhookEndpoint
from geocrm.webhooks import delivery
from tests.factories import make_interaction


def _bearer(user: Any, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
    _, token = create_token(user, "test", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _walk(client: Any, url: str, headers: dict[str, str], **params: Any) -> list[dict]:
    """Every page of a list, following ``next_cursor``; each page at most ``limit`` long."""
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = client.get(url, query_string=query, headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert len(body["items"]) <= params.get("limit", 100)
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def _ids(items: list[dict]) -> list[int]:
    return [i["id"] for i in items]


@pytest.fixture
def hooks(app: Any, world: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An endpoint subscribed to everything; deliveries stay queued (no job, no network), so a
    test counts the events a request emitted."""
    monkeypatch.setattr(delivery, "kick", lambda: None)
    db.session.add(WebhookEndpoint(url="https://hooks.example.com/x", events=["*"],
                                   secret="s", created_by_id=world.admin.id, active=True))
    db.session.commit()

    def events() -> list[str]:
        return list(db.session.scalars(select(WebhookDelivery.kind).order_by(WebhookDelivery.id)))

    return events


def _stale_write(client: Any, method: str, url: str, headers: dict[str, str],
                 body: dict | None) -> str:
    """A write with the current ``ETag`` goes through, the same tag again is 412; returns
    the new tag."""
    etag = client.get(url, headers=headers).headers["ETag"]
    call = getattr(client, method)
    ok = call(url, json=body, headers={**headers, "If-Match": etag})
    assert ok.status_code in (200, 204), ok.get_json()
    if method == "delete":
        return ""
    assert ok.headers["ETag"] != etag
    stale = call(url, json=body, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert stale.get_json()["current_etag"] == ok.headers["ETag"]
    return str(ok.headers["ETag"])


# -- contacts ---------------------------------------------------------------------------------
def test_contacts_pages_filters_writes_and_scoping(client, world):
    """Korean and Japanese names round-trip; a rep pages through their accounts' contacts only,
    edits with If-Match, deletes; another territory's contact is 404; read tokens cannot write."""
    rep = _bearer(world.rep_west)
    west, east = world.west_accounts[0], world.east_accounts[0]
    names = ["김민수", "山田太郎", "이서연", "佐藤花子", "Anna Virtanen"]
    made = []
    for name in names:
        r = client.post("/api/v1/contacts", json={"account_id": west.id, "name": name,
                                                  "title": "部長", "email": "a@b.jp"},
                        headers=rep)
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["name"] == name and r.headers["ETag"]
        made.append(r.get_json()["id"])
    db.session.add(Contact(account_id=east.id, name="Other Person"))
    db.session.commit()
    other = db.session.scalar(select(Contact.id).where(Contact.name == "Other Person"))
    for sort in ("id", "-id", "name", "-name", "updated_at", "-updated_at"):
        ids = _ids(_walk(client, "/api/v1/contacts", rep, limit=2, sort=sort))
        assert sorted(ids) == sorted(made), sort  # each once, none of the other territory
    assert _ids(_walk(client, "/api/v1/contacts", rep, limit=2, sort="-id")) == made[::-1]
    found = _walk(client, "/api/v1/contacts", rep, q="山田")
    assert [c["name"] for c in found] == ["山田太郎"]
    assert _walk(client, "/api/v1/contacts", rep, account=east.id) == []
    manager = _bearer(world.manager)
    assert other in _ids(_walk(client, "/api/v1/contacts", manager, account=east.id))
    # updated_since: an old contact drops out, an edit brings it back.
    db.session.execute(update(Contact).values(updated_at=utcnow() - timedelta(days=3)))
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).isoformat() + "Z"
    assert _walk(client, "/api/v1/contacts", rep, updated_since=since) == []
    url = f"/api/v1/contacts/{made[0]}"
    _stale_write(client, "patch", url, rep, {"phone": "010-1234-5678", "title": None})
    changed = _walk(client, "/api/v1/contacts", rep, updated_since=since)
    assert _ids(changed) == [made[0]] and changed[0]["title"] is None
    assert client.patch(url, json={"name": ""}, headers=rep).status_code == 422
    assert client.patch(url, json={"email": "nope"}, headers=rep).status_code == 422
    # Another territory's contact does not exist for the rep, whatever the method.
    for method in ("get", "patch", "delete"):
        r = getattr(client, method)(f"/api/v1/contacts/{other}", json={}, headers=rep)
        assert r.status_code == 404, method
    assert client.post("/api/v1/contacts", json={"account_id": east.id, "name": "x"},
                       headers=rep).status_code == 404
    reader = _bearer(world.rep_west, ("read",))
    r = client.post("/api/v1/contacts", json={"account_id": west.id, "name": "x"},
                    headers=reader)
    assert r.status_code == 403 and r.get_json()["missing_scope"] == "write"
    assert client.delete(url, headers=reader).status_code == 403
    _stale_write(client, "delete", url, rep, None)
    assert client.get(url, headers=rep).status_code == 404


# -- tasks ------------------------------------------------------------------------------------
def test_tasks_list_patch_webhook_and_scoping(client, world, hooks):
    """The task list pages and filters what the task page shows; PATCH uses its rule and fires
    ``task.updated``; a stale If-Match is 412; another rep's task is 404."""
    west, east = world.west_accounts[0], world.east_accounts[0]
    mine = [Task(title=f"Call {i}", account_id=west.id, assignee_id=world.rep_west.id,
                 created_by_id=world.rep_west.id) for i in range(5)]
    theirs = Task(title="East task", account_id=east.id, assignee_id=world.rep_east.id)
    db.session.add_all([*mine, theirs])
    db.session.commit()
    rep = _bearer(world.rep_west)
    ids = _ids(_walk(client, "/api/v1/tasks", rep, limit=2))
    assert ids == [t.id for t in mine]
    assert _ids(_walk(client, "/api/v1/tasks", rep, limit=3, sort="-updated_at")) \
        == ids[::-1]  # made in that order: the newest change first
    url = f"/api/v1/tasks/{mine[0].id}"
    _stale_write(client, "patch", url, rep, {"status": "done"})
    assert hooks() == ["task.updated"]
    open_ids = _ids(_walk(client, "/api/v1/tasks", rep, status="open", mine="true"))
    assert open_ids == [t.id for t in mine[1:]]
    done = _walk(client, "/api/v1/tasks", rep, status="done")
    assert _ids(done) == [mine[0].id] and done[0]["completed_at"]
    since = (utcnow() - timedelta(minutes=5)).isoformat()
    db.session.execute(update(Task).where(Task.id != mine[0].id)
                       .values(updated_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    assert _ids(_walk(client, "/api/v1/tasks", rep, updated_since=since)) == [mine[0].id]
    r = client.patch(url, json={"due_date": "2030-01-02", "assignee_id": world.rep_east.id},
                     headers=rep)
    assert r.status_code == 422 and r.get_json()["field"] == "assignee_id"  # cannot see it
    assert client.patch(url, json={"status": "nope"}, headers=rep).status_code == 422
    for method in ("get", "patch"):
        r = getattr(client, method)(f"/api/v1/tasks/{theirs.id}", json={"status": "done"},
                                    headers=rep)
        assert r.status_code == 404, method
    manager = _bearer(world.manager)
    assert theirs.id in _ids(_walk(client, "/api/v1/tasks", manager))
    reader = _bearer(world.rep_west, ("read",))
    assert client.patch(url, json={"status": "open"}, headers=reader).status_code == 403
    db.session.expire_all()
    assert db.session.get(Task, theirs.id).status.value == "open"


# -- interactions -----------------------------------------------------------------------------
def test_interactions_pages_filters_and_scoping(client, world):
    """The timeline of every visible account, paged; kind, account and time filters; an
    interaction on another territory's account is 404."""
    west, east = world.west_accounts, world.east_accounts[0]
    now = utcnow()
    made = [make_interaction(west[i % 2], world.rep_west, occurred_at=now - timedelta(hours=i),
                             kind=InteractionKind.VISIT if i % 2 else InteractionKind.CALL)
            for i in range(5)]
    hidden = make_interaction(east, world.rep_east, occurred_at=now)
    db.session.commit()
    rep = _bearer(world.rep_west)
    assert _ids(_walk(client, "/api/v1/interactions", rep, limit=2)) == [i.id for i in made]
    by_time = _walk(client, "/api/v1/interactions", rep, limit=2, sort="-occurred_at")
    assert _ids(by_time) == [i.id for i in made]  # the newest first
    calls = _walk(client, "/api/v1/interactions", rep, kind="call")
    assert _ids(calls) == [made[0].id, made[2].id, made[4].id]
    assert _ids(_walk(client, "/api/v1/interactions", rep, account=west[1].id)) \
        == [made[1].id, made[3].id]
    since = (now - timedelta(hours=2, minutes=30)).isoformat()
    assert len(_walk(client, "/api/v1/interactions", rep, occurred_from=since)) == 3
    db.session.execute(update(Interaction).values(updated_at=now - timedelta(days=2)))
    made[3].outcome = "interested"  # a later outcome changes the visit
    db.session.commit()
    changed = _walk(client, "/api/v1/interactions", rep,
                    updated_since=(now - timedelta(days=1)).isoformat())
    assert _ids(changed) == [made[3].id] and changed[0]["outcome"] == "interested"
    one = client.get(f"/api/v1/interactions/{made[0].id}", headers=rep)
    assert one.status_code == 200 and one.headers["ETag"] and "checkin_lat" not in one.get_json()
    assert client.get(f"/api/v1/interactions/{hidden.id}", headers=rep).status_code == 404
    assert client.get("/api/v1/interactions", query_string={"kind": "fax"},
                      headers=rep).status_code == 422


# -- opportunities ----------------------------------------------------------------------------
def test_opportunities_create_patch_webhooks_and_scoping(client, world, hooks):
    """Deals with Korean and Japanese names are opened and moved through the pipeline's rules
    and webhooks; filters and pages; 412 on a stale tag; another territory's deal is 404."""
    rep = _bearer(world.rep_west)
    west = world.west_accounts[0]
    made = []
    for name, amount in [("김민수 상사 갱신", "1200000"), ("山田商事 新規", "350000.50"),
                         ("Kahvila laajennus", None)]:
        r = client.post("/api/v1/opportunities",
                        json={"account_id": west.id, "name": name, "amount": amount,
                              "expected_close": "2030-03-31"}, headers=rep)
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["name"] == name and r.get_json()["owner_id"] == world.rep_west.id
        made.append(r.get_json()["id"])
    assert hooks() == ["opportunity.created"] * 3
    other = Opportunity(account_id=world.east_accounts[0].id, name="East deal")
    db.session.add(other)
    db.session.commit()
    assert sorted(_ids(_walk(client, "/api/v1/opportunities", rep, limit=2, sort="name"))) \
        == made
    url = f"/api/v1/opportunities/{made[1]}"
    _stale_write(client, "patch", url, rep, {"stage": "won"})
    assert hooks()[-1] == "opportunity.updated"
    won = _walk(client, "/api/v1/opportunities", rep, closed="true")
    assert _ids(won) == [made[1]] and won[0]["stage"] == "won"
    assert won[0]["amount"] == "350000.50"
    assert _ids(_walk(client, "/api/v1/opportunities", rep, stage="qualify")) \
        == [made[0], made[2]]
    manager = _bearer(world.manager)
    east_deals = _walk(client, "/api/v1/opportunities", manager, territory=world.east.id)
    assert _ids(east_deals) == [other.id]
    for body, field in [({"amount": "-1"}, "amount"), ({"stage": "maybe"}, "stage"),
                        ({"name": ""}, "name"), ({"owner_id": world.rep_east.id}, "owner_id")]:
        r = client.patch(url, json=body, headers=rep)
        assert r.status_code == 422 and r.get_json()["field"].startswith(field), body
    for method in ("get", "patch"):
        r = getattr(client, method)(f"/api/v1/opportunities/{other.id}", json={},
                                    headers=rep)
        assert r.status_code == 404, method
    r = client.post("/api/v1/opportunities", json={"account_id": world.east_accounts[0].id,
                                                   "name": "x"}, headers=rep)
    assert r.status_code == 404
    reader = _bearer(world.rep_west, ("read",))
    assert client.patch(url, json={"stage": "lost"}, headers=reader).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Opportunity)) == 4


# -- segments ---------------------------------------------------------------------------------
def test_segments_crud_accounts_and_who_may_change(client, world):
    """A saved filter through the segment pages' rules: its accounts as each user sees them,
    paged; only its maker changes or deletes it (403), 412 on a stale tag."""
    manager = _bearer(world.manager)
    r = client.post("/api/v1/segments", json={
        "name": "리드 セグメント", "shared": True,
        "filters": {"stages": ["lead", "customer"]}}, headers=manager)
    assert r.status_code == 201, r.get_json()
    seg = r.get_json()
    assert seg["filters"] == {"stages": ["lead", "customer"]}
    accounts = _walk(client, f"/api/v1/segments/{seg['id']}/accounts", manager, limit=1)
    expected = {world.west_accounts[0].id, *(a.id for a in world.east_accounts),
                world.unassigned.id}
    assert set(_ids(accounts)) == expected and len(accounts) == len(expected)
    rep = _bearer(world.rep_west)
    assert _ids(_walk(client, f"/api/v1/segments/{seg['id']}/accounts", rep)) \
        == [world.west_accounts[0].id]  # the same segment, the rep's own scope
    assert seg["id"] in _ids(_walk(client, "/api/v1/segments", rep))
    url = f"/api/v1/segments/{seg['id']}"
    assert client.patch(url, json={"name": "mine now"}, headers=rep).status_code == 403
    assert client.delete(url, headers=rep).status_code == 403
    _stale_write(client, "patch", url, manager, {"filters": {"stages": ["lead"]},
                                                 "description": "説明"})
    body = client.get(url, headers=manager).get_json()
    assert body["filters"] == {"stages": ["lead"]} and body["name"] == "리드 セグメント"
    private = Segment(name="Private", filters={}, created_by_id=world.manager.id)
    db.session.add(private)
    db.session.commit()
    assert client.get(f"/api/v1/segments/{private.id}", headers=rep).status_code == 404
    r = client.post("/api/v1/segments", json={"name": "x", "filters": {"near_lat": 60.1}},
                    headers=manager)
    assert r.status_code == 422 and r.get_json()["field"] in ("near_lon", "near_km")
    _stale_write(client, "delete", url, manager, None)
    assert client.get(url, headers=manager).status_code == 404


# -- reports ----------------------------------------------------------------------------------
@pytest.mark.parametrize("engine_name", ["sqlite"])  # the report functions test both engines
def test_reports_as_json_scoped_and_validated(client, world):
    """Each report answers its columns and rows as JSON in the user's scope; bad parameters are
    422 naming them."""
    make_interaction(world.west_accounts[0], world.rep_west, occurred_at=utcnow())
    make_interaction(world.east_accounts[0], world.rep_east, occurred_at=utcnow())
    db.session.commit()
    rep = _bearer(world.rep_west)
    keys = [r["key"] for r in client.get("/api/v1/reports", headers=rep).get_json()["items"]]
    assert keys == ["visits", "coverage", "overdue", "falling", "planned", "pipeline"]
    for key in keys:
        r = client.get(f"/api/v1/reports/{key}", headers=rep)
        assert r.status_code == 200, (key, r.get_json())
        body = r.get_json()
        assert body["key"] == key and body["columns"] and isinstance(body["rows"], list)
    visits = client.get("/api/v1/reports/visits", query_string={"group": "week"},
                        headers=rep).get_json()
    assert [row[visits["columns"].index("rep")] for row in visits["rows"]] \
        == [world.rep_west.name]  # never the other territory's rep
    for key, params, field in [("visits", {"group": "month"}, "group"),
                               ("visits", {"start": "2026-01-10", "end": "2026-01-01"}, "end"),
                               ("falling", {"window": 3}, "window"),
                               ("coverage", {"as_of": "yesterday"}, "as_of"),
                               ("pipeline", {"x": "1"}, "x")]:
        r = client.get(f"/api/v1/reports/{key}", query_string=params, headers=rep)
        assert r.status_code == 422 and r.get_json()["field"] == field, (key, params)
