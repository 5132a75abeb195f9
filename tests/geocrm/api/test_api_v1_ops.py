"""Territories, plans, imports and users in ``/api/v1`` (issue 18): keyset pages, filters and
``updated_since``; GeoJSON in and out with a 422 naming a bad feature; plans as the planner's
job, polled and published with its webhook; an import's job and its rejects; people for
admins only; ETag/If-Match (412) and the pages' scope (404 outside it, 403 for a role)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import shapely
from sqlalchemy import func, select

from geocrm import jobs
from geocrm.api.tokens import create_token
from geocrm.extensions import db
from geocrm.models import Account, Notification, Role, Territory, utcnow
from geocrm.models.webhooks import WebhookDelivery
from geocrm.webhooks import endpoints
from tests.conftest import PASSWORD
from tests.factories import make_user

SQLITE_ONLY = pytest.mark.parametrize("engine_name", ["sqlite"])


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "GEOCRM_TIMEZONE": "Europe/Helsinki", "GEOCRM_PLAN_TIME_LIMIT": 0.3,
            "GEOCRM_WEBHOOK_ALLOW_PRIVATE": True, "GEOCRM_SMTP_HOST": "127.0.0.1",
            "GEOCRM_SMTP_PORT": 9}


def bearer(user, scopes=("read", "write")) -> dict[str, str]:
    _, token = create_token(user, "test", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def walk(client, url: str, headers, key: str = "items", **params) -> list[dict]:
    """Every page of a list, following ``next_cursor``."""
    out: list[dict] = []
    cursor = None
    for _ in range(50):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = client.get(url, query_string=query, headers=headers)
        assert r.status_code == 200, r.get_json()
        out += r.get_json()[key]
        cursor = r.get_json()["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("the cursor never ended")


def feature(name: str, box: tuple[float, float, float, float], **props: Any) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(*box)),
            "properties": {"name": name, **props}}


# -- territories ------------------------------------------------------------------------------
def test_territory_geojson_round_trip_pages_scope_and_if_match(client, world):
    """A Korean-named FeatureCollection goes in and comes back the same; pages walk by
    cursor in each order; reps see their own only (404 for another, 403 to write); a
    stale If-Match is a 412."""
    manager = bearer(world.manager)
    body = {"type": "FeatureCollection", "features": [
        feature("서울 강남 구역", (25.00, 60.15, 25.05, 60.20), color="#123456", priority=3,
                rep_ids=[world.rep_east.id]),
        feature("Pohjoinen", (24.90, 60.20, 25.00, 60.25))]}
    r = client.post("/api/v1/territories", json=body, headers=manager)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()["features"]
    korean = created[0]
    assert korean["properties"]["name"] == "서울 강남 구역"
    assert korean["properties"]["manager_id"] == world.manager.id
    assert korean["properties"]["rep_ids"] == [world.rep_east.id]
    got = client.get(f"/api/v1/territories/{korean['id']}", headers=manager)
    assert got.status_code == 200 and got.headers["ETag"]
    assert shapely.geometry.shape(got.get_json()["geometry"]).equals(
        shapely.box(25.00, 60.15, 25.05, 60.20))
    # the Feature as read goes back in unchanged: read-only members are ignored
    etag = got.headers["ETag"]
    same = client.patch(f"/api/v1/territories/{korean['id']}", json=got.get_json(),
                        headers={**manager, "If-Match": etag})
    assert same.status_code == 200, same.get_json()
    renamed = client.patch(f"/api/v1/territories/{korean['id']}",
                           json={"properties": {"name": "강남"}},
                           headers={**manager, "If-Match": same.headers["ETag"]})
    assert renamed.status_code == 200 and renamed.get_json()["properties"]["name"] == "강남"
    stale = client.patch(f"/api/v1/territories/{korean['id']}",
                         json={"properties": {"name": "Old"}},
                         headers={**manager, "If-Match": etag})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    # pages, orders, filters
    for sort in ("id", "-name", "updated_at"):
        items = walk(client, "/api/v1/territories", manager, key="features", limit=1,
                     sort=sort, geometry="false")
        assert len(items) == 4 and all(f["geometry"] is None for f in items), sort
    assert [f["properties"]["name"] for f in walk(
        client, "/api/v1/territories", manager, key="features", q="강")] == ["강남"]
    assert {f["id"] for f in walk(client, "/api/v1/territories", manager, key="features",
                                  rep=world.rep_east.id)} == {world.east.id, korean["id"]}
    world.west.updated_at = utcnow() - timedelta(days=10)
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).isoformat() + "Z"
    fresh = {f["id"] for f in walk(client, "/api/v1/territories", manager, key="features",
                                   updated_since=since)}
    assert world.west.id not in fresh and korean["id"] in fresh
    # reps: their own territories only
    rep = bearer(world.rep_west)
    assert [f["id"] for f in walk(client, "/api/v1/territories", rep, key="features")] == [
        world.west.id]
    assert client.get(f"/api/v1/territories/{world.east.id}", headers=rep).status_code == 404
    assert client.post("/api/v1/territories", json=body, headers=rep).status_code == 403
    outsider = make_user("m2@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    other = bearer(outsider)
    assert client.patch(f"/api/v1/territories/{world.west.id}", json={
        "properties": {"name": "Mine"}}, headers=other).status_code == 404
    assert client.delete(f"/api/v1/territories/{korean['id']}",
                         headers={**manager, "If-Match": '"nope"'}).status_code == 412
    gone = client.delete(f"/api/v1/territories/{korean['id']}", headers=manager)
    assert gone.status_code == 204
    assert db.session.get(Territory, korean["id"]) is None


@SQLITE_ONLY
def test_broken_or_swapped_geojson_is_a_422_naming_the_feature(client, world):
    """A self-crossing polygon and positions written [lat, lon] are refused with the
    feature's number and name; nothing of the collection is written."""
    manager = bearer(world.manager)
    before = db.session.scalar(select(func.count(Territory.id)))
    bowtie = {"type": "Feature", "properties": {"name": "나비"}, "geometry": {
        "type": "Polygon", "coordinates": [[[25.0, 60.15], [25.05, 60.2], [25.05, 60.15],
                                            [25.0, 60.2], [25.0, 60.15]]]}}
    body = {"type": "FeatureCollection",
            "features": [feature("Good", (25.0, 60.2, 25.05, 60.25)), bowtie]}
    r = client.post("/api/v1/territories", json=body, headers=manager)
    problem = r.get_json()
    assert r.status_code == 422 and problem["field"] == "features.1.geometry"
    assert "나비" in problem["detail"] and "features[1]" in problem["detail"]
    # Helsinki written [lat, lon]: a valid place in the Arabian Sea, but far from the company
    swapped = feature("Käännetty", (60.15, 24.90, 60.20, 24.95))
    r = client.post("/api/v1/territories", json=swapped, headers=manager)
    assert r.status_code == 422 and "swapped" in r.get_json()["detail"]
    assert "Käännetty" in r.get_json()["detail"]
    # Seoul written [lat, lon]: latitude 127 is no latitude at all
    seoul = feature("서울", (37.50, 127.00, 37.55, 127.05))
    r = client.post("/api/v1/territories", json=seoul, headers=manager)
    assert r.status_code == 422 and "swapped" in r.get_json()["detail"]
    # with ?repair=true the bow-tie is repaired, as the editor offers
    r = client.post("/api/v1/territories?repair=true", json=bowtie, headers=manager)
    assert r.status_code == 201, r.get_json()
    assert db.session.scalar(select(func.count(Territory.id))) == before + 1


# -- plans ------------------------------------------------------------------------------------
def test_plan_job_create_poll_publish_with_webhook_and_notification(app, client, world):
    """POST starts the planner's job; polling shows it finish with the plans; publish fires
    the page's notification and ``plan.published`` webhook; a stale If-Match is a 412, a
    second publish a 409; reps get 403, a manager outside the team 404."""
    endpoints.create_endpoint(world.admin, "http://127.0.0.1:9/hook", ["plan.published"])
    db.session.commit()
    planner = bearer(world.planner)
    tomorrow = (utcnow() + timedelta(days=1)).date()
    while tomorrow.isoweekday() > 5:
        tomorrow += timedelta(days=1)
    try:
        bad = client.post("/api/v1/plans", json={"rep_ids": [999], "start": str(tomorrow)},
                          headers=planner)
        assert bad.status_code == 422 and bad.get_json()["field"] == "rep_ids"
        r = client.post("/api/v1/plans", json={
            "rep_ids": [world.rep_west.id], "start": str(tomorrow),
            "territory_ids": [world.west.id]}, headers=planner)
        assert r.status_code == 202, r.get_json()
        run = r.get_json()
        assert r.headers["Location"].endswith(f"/api/v1/plans/{run['id']}")
        job = jobs.wait_for_job(run["job"]["id"], timeout=60)
        assert job.status.value == "done", job.error
        polled = client.get(f"/api/v1/plans/{run['id']}", headers=planner)
        body = polled.get_json()
        assert body["job"]["finished"] and len(body["plans"]) == 1
        assert {s["account_id"] for s in body["plans"][0]["stops"]} == {
            a.id for a in world.west_accounts}
        assert client.get(f"/api/v1/jobs/{run['job']['id']}",
                          headers=planner).get_json()["status"] == "done"
        listed = walk(client, "/api/v1/plans", planner, limit=1, status="draft")
        assert [p["id"] for p in listed] == [run["id"]]
        stale = client.post(f"/api/v1/plans/{run['id']}/publish",
                            headers={**planner, "If-Match": '"stale"'})
        assert stale.status_code == 412
        published = client.post(f"/api/v1/plans/{run['id']}/publish",
                                headers={**planner, "If-Match": polled.headers["ETag"]})
        assert published.status_code == 200 and published.get_json()["status"] == "published"
        assert client.post(f"/api/v1/plans/{run['id']}/publish",
                           headers=planner).status_code == 409
        kinds = set(db.session.scalars(select(WebhookDelivery.kind)))
        assert kinds == {"plan.published"}
        assert db.session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == world.rep_west.id,
            Notification.kind == "plan_published")) >= 1
        assert client.get("/api/v1/plans", headers=bearer(world.rep_west)).status_code == 403
        outsider = make_user("m3@example.com", Role.MANAGER, PASSWORD)
        db.session.commit()
        assert client.get(f"/api/v1/plans/{run['id']}",
                          headers=bearer(outsider)).status_code == 404
        assert client.get(f"/api/v1/jobs/{run['job']['id']}",
                          headers=bearer(outsider)).status_code == 404
    finally:
        jobs.drain(app, 30)


# -- imports ----------------------------------------------------------------------------------
KOREAN_CSV = ("상호,위도,경도,외부ID\n"
              "카페 소담,60.17,24.93,K-1\n"
              "빵집 하루,이상한값,24.94,K-2\n")
JAPANESE_CSV = ("name,lat,lon,external_id\n"
                "喫茶 さくら,60.171,24.931,J-1\n"
                "ｲｲﾀﾞﾊﾞｼ 書店,60.172,24.932,J-2\n")


def upload(client, headers, text: str, encoding: str, name: str, **form: Any):
    data = {"file": (io.BytesIO(text.encode(encoding)), name), "source": "erp", **form}
    return client.post("/api/v1/imports", data=data, headers=headers,
                       content_type="multipart/form-data")


def test_import_upload_job_status_and_rejects(app, client, world):
    """A CP949 file with a bad row: the job rejects it all, the rejects come as JSON (in the
    reader's language) and CSV; a Shift_JIS file imports; another manager gets 404, a rep
    403, an unreadable file 422 at once."""
    manager = bearer(world.manager)
    try:
        r = upload(client, manager, KOREAN_CSV, "cp949", "거래처.csv")
        assert r.status_code == 202, r.get_json()
        first = r.get_json()
        assert first["filename"] == "거래처.csv" and first["source"] == "erp"
        assert jobs.wait_for_job(first["id"], timeout=60).status.value == "done"
        status = client.get(f"/api/v1/imports/{first['id']}", headers=manager).get_json()
        assert status["result"]["status"] == "rejected"
        assert status["result"]["rejects_total"] == 1
        rejects = client.get(f"/api/v1/imports/{first['id']}/rejects",
                             headers={**manager, "Accept-Language": "ko"}).get_json()
        assert rejects["total"] == 1 and rejects["items"][0]["row"] == 3
        assert rejects["items"][0]["field"] == "lat"
        assert rejects["items"][0]["value"] == "이상한값"
        csv = client.get(f"/api/v1/imports/{first['id']}/rejects.csv", headers=manager)
        assert csv.status_code == 200 and csv.mimetype == "text/csv"
        assert "이상한값" in csv.get_data(as_text=True)
        assert db.session.scalar(select(func.count(Account.id)).where(
            Account.external_id.like("K-%"))) == 0
        r = upload(client, manager, JAPANESE_CSV, "shift_jis", "顧客.csv")
        second = r.get_json()
        assert jobs.wait_for_job(second["id"], timeout=60).status.value == "done"
        result = client.get(f"/api/v1/imports/{second['id']}", headers=manager).get_json()
        assert result["result"]["status"] == "committed", result
        assert result["result"]["counts"]["inserted"] == 2
        names = set(db.session.scalars(select(Account.name).where(
            Account.external_id.in_(["J-1", "J-2"]))))
        assert "喫茶 さくら" in names
        assert [i["id"] for i in walk(client, "/api/v1/imports", manager, limit=1)] == [
            first["id"], second["id"]]
        assert [i["id"] for i in walk(client, "/api/v1/imports", manager,
                                      sort="-id")][0] == second["id"]
        outsider = make_user("m4@example.com", Role.MANAGER, PASSWORD)
        db.session.commit()
        other = bearer(outsider)
        assert client.get(f"/api/v1/imports/{first['id']}", headers=other).status_code == 404
        assert walk(client, "/api/v1/imports", other) == []
        assert client.get("/api/v1/imports", headers=bearer(world.rep_west)).status_code == 403
        empty = upload(client, manager, "\n", "utf-8", "empty.csv")
        assert empty.status_code == 422 and empty.get_json()["field"] == "file"
    finally:
        jobs.drain(app, 30)


# -- users ------------------------------------------------------------------------------------
@SQLITE_ONLY
def test_users_for_admins_list_invite_deactivate(client, world):
    """Admins page through people, invite one and deactivate one (If-Match: 412 when stale);
    managers and reps get 403, and so does an admin token without the admin scope."""
    admin = bearer(world.admin, scopes=("read", "write", "admin"))
    everyone = walk(client, "/api/v1/users", admin, limit=2, sort="name")
    assert len(everyone) == 5
    assert [u["name"] for u in everyone] == sorted(u["name"] for u in everyone)
    reps = walk(client, "/api/v1/users", admin, role="rep")
    assert {u["id"] for u in reps} == {world.rep_west.id, world.rep_east.id}
    invited = client.post("/api/v1/users", json={
        "email": "New.Rep@Example.com", "name": "새 영업", "role": "rep",
        "territory_ids": [world.west.id]}, headers=admin)
    assert invited.status_code == 201, invited.get_json()
    assert invited.get_json()["email"] == "new.rep@example.com"
    assert "/people/join/" in invited.get_json()["join_url"]
    again = client.post("/api/v1/users", json={"email": world.rep_west.email, "name": "X"},
                        headers=admin)
    assert again.status_code == 422 and again.get_json()["field"] == "email"
    for user in (world.admin, world.manager, world.planner, world.rep_west, world.rep_east):
        user.created_at = utcnow() - timedelta(days=10)
    db.session.commit()
    person = client.get(f"/api/v1/users/{world.rep_east.id}", headers=admin)
    _, rep_token = create_token(world.rep_east, "phone")
    db.session.commit()
    moved = client.patch(f"/api/v1/users/{world.rep_east.id}", json={"name": "East Rep"},
                         headers={**admin, "If-Match": person.headers["ETag"]})
    assert moved.status_code == 200
    stale = client.patch(f"/api/v1/users/{world.rep_east.id}", json={"active": False},
                         headers={**admin, "If-Match": person.headers["ETag"]})
    assert stale.status_code == 412
    gone = client.patch(f"/api/v1/users/{world.rep_east.id}", json={"active": False},
                        headers={**admin, "If-Match": moved.headers["ETag"]})
    assert gone.status_code == 200 and gone.get_json()["active"] is False
    assert client.get("/api/v1/territories", headers={
        "Authorization": f"Bearer {rep_token}"}).status_code == 401
    since = (utcnow() - timedelta(minutes=5)).isoformat()
    changed = {u["id"] for u in walk(client, "/api/v1/users", admin, updated_since=since)}
    assert changed == {world.rep_east.id}
    assert client.get(f"/api/v1/users/{world.admin.id}", headers=bearer(
        world.manager)).status_code == 403
    assert client.get("/api/v1/users", headers=bearer(world.rep_west)).status_code == 403
    no_scope = client.get("/api/v1/users", headers=bearer(world.admin))
    assert no_scope.status_code == 403 and no_scope.get_json()["missing_scope"] == "admin"
    assert client.get("/api/v1/users/999999", headers=admin).status_code == 404
