"""The accounts of ``/api/v1`` for integrations (issue 18): keyset pages with filters, sorting
and ``updated_since``; ETag/If-Match; bulk upsert by external id through the import's rules;
the document generated from the same declarations; 401 before CSRF."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from geocrm.api.tokens import create_token
from geocrm.extensions import db
from geocrm.models import Account, utcnow
from geocrm.models.provenance import ImportConflict
from tests.factories import make_account


def _bearer(user) -> dict[str, str]:
    _, token = create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _walk(client, headers, **params) -> list[dict]:
    """Every page of the list, following ``next_cursor``."""
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = client.get("/api/v1/accounts", query_string=query, headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def test_cursor_pages_walk_every_visible_account_once_in_each_order(client, world):
    for i in range(7):
        make_account(f"Shop {i % 3}", 60.17, 24.92, territory_id=world.west.id)
    db.session.commit()
    headers = _bearer(world.rep_west)
    visible = db.session.scalar(
        select(func.count()).select_from(Account).where(
            (Account.territory_id == world.west.id) | (Account.owner_id == world.rep_west.id),
            Account.archived.is_(False)))
    for sort in ("id", "-id", "name", "-name", "updated_at", "-updated_at"):
        items = _walk(client, headers, limit=2, sort=sort)
        ids = [a["id"] for a in items]
        assert len(ids) == len(set(ids)) == visible, sort
        key = sort.lstrip("-")
        pairs = [(a[key], a["id"]) for a in items]
        assert pairs == sorted(pairs, reverse=sort.startswith("-")), sort
    east_ids = {a.id for a in world.east_accounts}
    assert not east_ids & {a["id"] for a in _walk(client, headers, limit=3)}
    first = client.get("/api/v1/accounts", query_string={"limit": 2}, headers=headers).get_json()
    assert first["total"] == visible


def test_filters_updated_since_and_bad_cursors(client, world):
    headers = _bearer(world.manager)
    old = world.west_accounts[0]
    old.updated_at = utcnow() - timedelta(days=30)
    fresh = make_account("Fresh Bakery", 60.17, 24.96, territory_id=world.east.id)
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).isoformat() + "Z"
    ids = {a["id"] for a in _walk(client, headers, updated_since=since)}
    assert fresh.id in ids and old.id not in ids
    # An archived account still reaches an incremental sync (the client learns of it).
    fresh.archived = True
    db.session.commit()
    assert fresh.id in {a["id"] for a in _walk(client, headers, updated_since=since)}
    assert fresh.id not in {a["id"] for a in _walk(client, headers)}
    east = _walk(client, headers, territory=world.east.id, stage="lead")
    assert east and all(a["territory_id"] == world.east.id and a["stage"] == "lead"
                        for a in east)
    for params, field in [({"stage": "nope"}, "stage"), ({"limit": 0}, "limit"),
                          ({"sort": "email"}, "sort"), ({"cursor": "garbage"}, "cursor"),
                          ({"territory": "x"}, "territory"), ({"bogus": "1"}, "bogus"),
                          ({"updated_since": "yesterday"}, "updated_since")]:
        r = client.get("/api/v1/accounts", query_string=params, headers=headers)
        assert r.status_code == 422, params
        assert r.mimetype == "application/problem+json"
        assert r.get_json()["field"].startswith(field), (params, r.get_json())
    # A cursor of one order is refused in another (it names a place in that order only).
    page = client.get("/api/v1/accounts", query_string={"limit": 1, "sort": "name"},
                      headers=headers).get_json()
    r = client.get("/api/v1/accounts", query_string={"cursor": page["next_cursor"]},
                   headers=headers)
    assert r.status_code == 422
    forged = base64.urlsafe_b64encode(json.dumps(["id", 1, 2**40]).encode()).decode()
    assert client.get("/api/v1/accounts", query_string={"cursor": forged},
                      headers=headers).status_code == 422


def test_etag_and_if_match(client, world):
    headers = _bearer(world.rep_west)
    account = world.west_accounts[0]
    r = client.get(f"/api/v1/accounts/{account.id}", headers=headers)
    etag = r.headers["ETag"]
    assert etag == f'"{account.version}"'
    ok = client.patch(f"/api/v1/accounts/{account.id}", json={"phone": "+358 40 1234567"},
                      headers={**headers, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = client.patch(f"/api/v1/accounts/{account.id}", json={"phone": "+358 40 7654321"},
                         headers={**headers, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert stale.get_json()["current_etag"] == ok.headers["ETag"]
    db.session.expire_all()
    assert db.session.get(Account, account.id).phone == "+358 40 1234567"
    assert client.patch(f"/api/v1/accounts/{account.id}", json={"phone": "+358 40 1"},
                        headers={**headers, "If-Match": "*"}).status_code == 200
    # Another territory's account is a 404 whatever the precondition says.
    other = world.east_accounts[0]
    assert client.patch(f"/api/v1/accounts/{other.id}", json={"phone": "1"},
                        headers={**headers, "If-Match": '"1"'}).status_code == 404


def test_bulk_upsert_goes_through_the_import_rules(client, world):
    headers = _bearer(world.manager)
    items = [
        {"external_id": "ERP-1", "name": "Kahvila Meri", "address": "Mannerheimintie 1",
         "lat": 60.17, "lon": 24.93, "stage": "prospect", "tags": ["vip", "cafe"]},
        {"external_id": "ERP-2", "name": "Kirjakauppa Tuuli", "lat": 60.18, "lon": 24.97},
    ]
    r = client.post("/api/v1/accounts/bulk", json={"source": "erp", "items": items},
                    headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"]["inserted"] == 2, r.get_json()
    a1 = db.session.scalars(select(Account).where(Account.external_id == "ERP-1")).one()
    assert (a1.source, a1.stage.value, a1.territory_id) == ("erp", "prospect", world.west.id)
    assert sorted(a1.tag_names) == ["cafe", "vip"]
    # The same records again change nothing (no version bump), as a re-imported file.
    version = a1.version
    again = client.post("/api/v1/accounts/bulk", json={"source": "erp", "items": items},
                        headers=headers).get_json()
    assert again["status"] == "unchanged"
    db.session.expire_all()
    assert db.session.get(Account, a1.id).version == version
    # A person's edit wins over the source: kept, and listed as a conflict.
    client.patch(f"/api/v1/accounts/{a1.id}", json={"name": "Café Meri"}, headers=headers)
    items[0]["name"] = "Kahvila Meri Oy"
    after = client.post("/api/v1/accounts/bulk", json={"source": "erp", "items": items},
                        headers=headers).get_json()
    db.session.expire_all()
    assert db.session.get(Account, a1.id).name == "Café Meri"
    assert after["conflicts"] and db.session.scalar(select(func.count(ImportConflict.id))) >= 1
    # One bad record: 422 naming record and field, and nothing written.
    before = db.session.scalar(select(func.count(Account.id)))
    bad = client.post("/api/v1/accounts/bulk", headers=headers, json={"items": [
        {"external_id": "N-1", "name": "Fine", "lat": 60.17, "lon": 24.93},
        {"external_id": "N-2", "name": "", "lat": 60.17, "lon": 24.93},
        {"external_id": "N-3", "name": "No lon", "lat": 60.17},
    ]})
    assert bad.status_code == 422
    assert [(x["row"], x["field"]) for x in bad.get_json()["rejects"]] == [(2, "name"),
                                                                         (3, "lon")]
    assert db.session.scalar(select(func.count(Account.id))) == before
    unknown = client.post("/api/v1/accounts/bulk", headers=headers,
                          json={"items": [{"external_id": "X", "name": "Y", "colour": "red"}]})
    assert unknown.status_code == 422 and unknown.get_json()["field"] == "items.1.colour"


def test_bulk_upsert_is_for_the_importing_roles(client, world):
    r = client.post("/api/v1/accounts/bulk", headers=_bearer(world.rep_west),
                    json={"items": [{"external_id": "E", "name": "N"}]})
    assert r.status_code == 403


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_unauthenticated_writes_are_401_even_with_csrf_on(csrf_app_config, app, world):
    client = app.test_client()
    for method, url in [("post", "/api/v1/tasks"), ("patch", "/api/v1/accounts/1"),
                        ("post", "/api/v1/accounts/bulk"), ("delete", "/api/v1/tokens/1")]:
        r = getattr(client, method)(url, json={})
        assert r.status_code == 401, (method, url, r.status_code)
        assert r.mimetype == "application/problem+json"


def test_document_comes_from_the_declarations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    listing = doc["paths"]["/api/v1/accounts"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"cursor", "limit", "sort", "updated_since", "stage", "territory", "q"} <= names
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] \
        == "#/components/schemas/AccountPage"
    assert "AccountPage" in doc["components"]["schemas"]
    patch = doc["paths"]["/api/v1/accounts/{account_id}"]["patch"]
    assert {"412", "404", "422", "401"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    bulk = doc["paths"]["/api/v1/accounts/bulk"]["post"]
    assert bulk["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BulkUpsert")
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "401" in op["responses"], (path, method)
            problems = [s for s in op["responses"] if s.startswith("4")]
            assert all(op["responses"][s] == {"$ref": "#/components/responses/Problem"}
                       for s in problems), (path, method)


@pytest.fixture
def private_hooks(app_config):
    app_config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = True
    return app_config


def test_required_skills_in_the_account_and_its_webhook(private_hooks, client, world):
    """The skills a visit needs travel with the account: read, written through the account
    rules (tags cleaned, any script), and carried by the ``account.updated`` event."""
    from geocrm.models.webhooks import WebhookDelivery
    from geocrm.webhooks import endpoints

    endpoints.create_endpoint(world.admin, "http://127.0.0.1:9/hook", ["account.*"])
    db.session.commit()
    headers = _bearer(world.rep_west)
    account = world.west_accounts[0]
    r = client.patch(f"/api/v1/accounts/{account.id}",
                     json={"required_skills": " Forklift,  지게차 , forklift"}, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["required_skills"] == "Forklift, 지게차"
    assert client.get(f"/api/v1/accounts/{account.id}",
                      headers=headers).get_json()["required_skills"] == "Forklift, 지게차"
    payloads = [d.payload for d in db.session.scalars(select(WebhookDelivery))]
    assert any(p["data"].get("required_skills") == "Forklift, 지게차" for p in payloads), payloads
