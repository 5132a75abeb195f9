"""The field JSON API: bearer tokens and CSRF, today's plan, near me, single writes,
problem documents on nasty input (never a 500), the OpenAPI document."""

from __future__ import annotations

import base64
import io
import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from geocrm.api.tokens import create_token, hash_token
from geocrm.extensions import db
from geocrm.models import Interaction, PlanStatus, RoutePlan, RouteStop, Task, utcnow
from geocrm.models.field import ApiToken, VisitPhoto
from tests.factories import make_account


def uid() -> str:
    return str(uuid.uuid4())


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def csrf_app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


# -- tokens and CSRF ---------------------------------------------------------------------
def test_token_is_stored_hashed_and_authenticates(client, world):
    """A token works as a bearer credential; the database holds only its SHA-256."""
    row, plain = create_token(world.rep_west, "phone")
    assert plain.startswith("gcrm_") and row.token_hash == hash_token(plain)
    assert plain not in {t.token_hash for t in db.session.scalars(select(ApiToken))}
    r = client.get("/api/v1/today", headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 200
    assert {s["account"]["name"] for s in r.get_json()["stops"]} == {"Kahvila Aalto", "Kirja & Co"}
    assert "Set-Cookie" not in r.headers  # a token never turns into a session


def test_bad_revoked_and_expired_tokens_are_401(client, world):
    """Unknown, malformed, revoked and expired tokens answer 401 problems."""
    row, plain = create_token(world.rep_west, "phone")
    for header in ("Bearer nope", "Bearer ", "Basic abc", "Bearer"):
        r = client.get("/api/v1/today", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.mimetype == "application/problem+json"
    row.revoked_at = utcnow()
    db.session.commit()
    assert (
        client.get("/api/v1/today", headers={"Authorization": f"Bearer {plain}"}).status_code == 401
    )
    row2, plain2 = create_token(world.rep_west, "old", days=1)
    row2.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert (
        client.get("/api/v1/today", headers={"Authorization": f"Bearer {plain2}"}).status_code
        == 401
    )


def test_session_writes_need_csrf_header_bearer_writes_do_not(csrf_app_config, app, client, world):
    """Session-authenticated unsafe API requests need X-CSRFToken; token requests are exempt;
    a token together with a session cookie is refused."""
    a = world.west_accounts[0]
    _, plain = create_token(world.rep_west, "phone")
    body = {"uuid": uid(), "account_id": a.id, "outcome": "interested"}
    # Token, no cookie, no CSRF header: fine.
    r = client.post("/api/v1/interactions", json=body, headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 201, r.get_json()
    # Session: log in through the form (needs its CSRF token), then POST without the header.
    login_page = client.get("/login")
    page = login_page.get_data(as_text=True)
    assert login_page.status_code == 200, page[:300]
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = client.post(
        "/login",
        data={
            "email": "west@example.com",
            "password": "correct-horse-battery",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    body2 = {"uuid": uid(), "account_id": a.id, "outcome": "interested"}
    r = client.post("/api/v1/interactions", json=body2)
    assert r.status_code == 400 and "CSRF" in r.get_json()["detail"]
    app_page = client.get("/app/").get_data(as_text=True)
    csrf = app_page.split('name="csrf-token" content="')[1].split('"')[0]
    r = client.post("/api/v1/interactions", json=body2, headers={"X-CSRFToken": csrf})
    assert r.status_code == 201
    # Cookie + token: refused, so a forged cross-site request cannot pass with a junk token.
    r = client.post(
        "/api/v1/interactions",
        json={**body2, "uuid": uid()},
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert r.status_code == 400
    assert count(Interaction) == 2


def test_tokens_endpoints_and_cli(client, auth, runner, world):
    """Users create, list and revoke their tokens; ``flask create-token`` prints one."""
    auth.login("west@example.com")
    r = client.post("/api/v1/tokens", json={"name": "tablet", "days": 30})
    assert r.status_code == 201 and r.get_json()["token"].startswith("gcrm_")
    listed = client.get("/api/v1/tokens").get_json()["items"]
    assert [t["name"] for t in listed] == ["tablet"] and "token" not in listed[0]
    assert client.post("/api/v1/tokens", json={"name": 5}).status_code == 422
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}").status_code == 204
    assert client.get("/api/v1/tokens").get_json()["items"] == []
    result = runner.invoke(args=["create-token", "--email", "east@example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip()
    client.post("/logout")
    r = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 200
    bad = runner.invoke(args=["create-token", "--email", "nobody@example.com", "--name", "x"])
    assert bad.exit_code != 0


# -- reading ---------------------------------------------------------------------------------
def test_today_uses_the_published_plan_when_there_is_one(client, auth, world):
    """A published plan for today wins over the fallback list, in its stop order."""
    auth.login("west@example.com")
    fallback = client.get("/api/v1/today").get_json()
    assert fallback["source"] == "accounts"
    plan = RoutePlan(
        rep_id=world.rep_west.id,
        plan_date=date.today(),
        status=PlanStatus.PUBLISHED,
        published_at=utcnow(),
    )
    draft = RoutePlan(rep_id=world.rep_west.id, plan_date=date.today(), status=PlanStatus.DRAFT)
    a, b = world.west_accounts
    plan.stops = [RouteStop(seq=1, account_id=b.id), RouteStop(seq=2, account_id=a.id)]
    draft.stops = [RouteStop(seq=1, account_id=a.id)]
    db.session.add_all([plan, draft])
    db.session.commit()
    body = client.get("/api/v1/today").get_json()
    assert body["source"] == "plan" and body["plan_id"] == plan.id
    assert [s["account"]["id"] for s in body["stops"]] == [b.id, a.id]


def test_fallback_today_puts_overdue_accounts_first(client, auth, world):
    """Without a plan: accounts overdue by cadence come first, then the nearest to home."""
    far_overdue = make_account(
        "Overdue Far",
        60.199,
        24.949,
        territory_id=world.west.id,
        cadence_days=14,
        last_visit_at=datetime(2020, 1, 1),
    )
    db.session.commit()
    auth.login("west@example.com")
    from geocrm.field.services import today_plan

    plan = today_plan(world.rep_west, limit=1)
    assert [s.account.id for s in plan.stops] == [far_overdue.id]
    assert plan.stops[0].overdue_days > 0
    stops = client.get("/api/v1/today").get_json()["stops"]
    assert len(stops) == 3


def _near(client, **body):
    return client.post("/api/v1/accounts/near", json=body)


def test_near_me_is_scoped_filtered_and_validated(client, auth, world):
    """Near me lists only visible accounts by distance, takes filters, and names bad fields."""
    auth.login("west@example.com")
    r = _near(client, lat=60.17, lon=24.95, radius=20000)
    names = [i["name"] for i in r.get_json()["items"]]
    assert names and set(names) <= {"Kahvila Aalto", "Kirja & Co"}
    d = [i["distance_m"] for i in r.get_json()["items"]]
    assert d == sorted(d)
    r = _near(client, lat=60.17, lon=24.95, radius=20000, stage="customer")
    assert [i["name"] for i in r.get_json()["items"]] == ["Kahvila Aalto"]
    for body, field in (
        ({"lat": "abc", "lon": 1}, "lat"),
        ({"lat": "nan", "lon": 1}, "lat"),
        ({"lat": 1, "lon": "inf"}, "lon"),
        ({"lat": 1}, "lon"),
        ({"lat": 1, "lon": 1, "radius": -5}, "radius"),
        ({"lat": 1, "lon": 1, "stage": "zzz"}, "stage"),
        ({"lat": 1, "lon": 1, "limit": 1e9}, "limit"),
        ({"lat": 1, "lon": 1, "offset": -1}, "offset"),
    ):
        r = _near(client, **body)
        assert r.status_code == 422, body
        assert r.get_json()["field"] == field, body


def test_near_me_never_takes_a_position_in_the_url(client, auth, world):
    """A position in a URL ends up in access logs: the GET form is refused, naming lat."""
    auth.login("west@example.com")
    r = client.get("/api/v1/accounts/near?lat=60.17&lon=24.95&radius=20000")
    assert r.status_code == 422 and r.get_json()["field"] == "lat"
    assert "body" in r.get_json()["detail"]


def test_near_me_says_when_there_is_more_and_pages_on(client, auth, world):
    auth.login("admin@example.com")
    everyone = _near(client, lat=60.17, lon=24.95, radius=50_000, limit=500).get_json()
    assert everyone["more"] is False and everyone["next_offset"] is None
    total = len(everyone["items"])
    assert total >= 3
    first = _near(client, lat=60.17, lon=24.95, radius=50_000, limit=2).get_json()
    assert first["more"] is True and first["next_offset"] == 2 and len(first["items"]) == 2
    rest = _near(client, lat=60.17, lon=24.95, radius=50_000, limit=500, offset=2).get_json()
    paged = [i["id"] for i in first["items"] + rest["items"]]
    assert paged == [i["id"] for i in everyone["items"]]  # no gap, no repeat
    assert rest["more"] is False


def test_bundle_says_how_many_accounts_it_left_out(client, auth, world):
    auth.login("west@example.com")
    full = client.get("/api/v1/bundle").get_json()
    assert full["accounts_left_out"] == 0
    assert full["accounts_visible"] == len(full["accounts"])
    cut = client.get("/api/v1/bundle?limit=1").get_json()
    assert len(cut["accounts"]) == 1
    assert cut["accounts_left_out"] == full["accounts_visible"] - 1
    assert cut["accounts_kept_rule"] == "nearest_home"


def test_bundle_carries_what_the_phone_needs_offline(client, auth, world):
    """The offline bundle: today's route, visible accounts with contacts and last
    interactions, open tasks, the outcome list and the geofence."""
    auth.login("west@example.com")
    a = world.west_accounts[0]
    db.session.add(Task(title="Bring samples", account_id=a.id, assignee_id=world.rep_west.id))
    db.session.commit()
    body = client.get("/api/v1/bundle").get_json()
    assert {x["name"] for x in body["accounts"]} == {"Kahvila Aalto", "Kirja & Co"}
    assert body["tasks"][0]["title"] == "Bring samples"
    assert body["geofence_m"] == 150 and "interested" in body["outcomes"]
    assert body["today"]["stops"]


def test_unauthenticated_api_is_401_problem(client, world):
    """No session, no token: a JSON 401, not a redirect to the login page."""
    for url in ("/api/v1/today", "/api/v1/bundle", "/api/v1/tasks"):
        r = client.get(url)
        assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert client.post("/api/v1/sync", json={"ops": []}).status_code == 401


# -- writing -----------------------------------------------------------------------------------
def test_check_in_flags_and_distance(app, client, auth, world):
    """Check-in stores position, accuracy and distance; flags outside the geofence (kept)
    and without a position (kept); the geofence comes from the configuration."""
    auth.login("west@example.com")
    a = world.west_accounts[0]  # 60.16, 24.91
    near, far, blind = uid(), uid(), uid()
    r = client.post(
        "/api/v1/checkins",
        json={"uuid": near, "account_id": a.id, "lat": 60.1601, "lon": 24.91, "accuracy": 8},
    )
    assert r.status_code == 201
    got = r.get_json()["interaction"]
    assert got["location_flag"] is None and 10 < got["distance_m"] < 12
    assert got["checkin_accuracy_m"] == 8
    r = client.post(
        "/api/v1/checkins",
        json={"uuid": far, "account_id": a.id, "lat": 60.16 + 500 / 111_195, "lon": 24.91},
    )
    assert r.get_json()["interaction"]["location_flag"] == "outside_geofence"
    assert r.get_json()["interaction"]["distance_m"] == pytest.approx(500, abs=1)
    r = client.post("/api/v1/checkins", json={"uuid": blind, "account_id": a.id})
    assert r.get_json()["interaction"]["location_flag"] == "no_location"
    app.config["GEOCRM_GEOFENCE_METERS"] = 1000
    r = client.post(
        "/api/v1/checkins",
        json={"uuid": uid(), "account_id": a.id, "lat": 60.16 + 500 / 111_195, "lon": 24.91},
    )
    assert r.get_json()["interaction"]["location_flag"] is None
    r = client.post("/api/v1/checkouts", json={"uuid": near, "lat": 60.16, "lon": 24.91})
    assert r.status_code == 201 and r.get_json()["interaction"]["checkout_at"]
    assert db.session.get(type(a), a.id).last_visit_at is not None


def test_single_write_replay_answers_the_stored_result(client, auth, world):
    """POSTing the same interaction twice creates one row; the replay is flagged."""
    auth.login("west@example.com")
    body = {
        "uuid": uid(),
        "account_id": world.west_accounts[0].id,
        "outcome": "follow_up",
        "notes": "n",
        "task": {"title": "Send offer", "due_date": "2030-01-02"},
    }
    first = client.post("/api/v1/interactions", json=body)
    again = client.post("/api/v1/interactions", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == again.get_json()
    assert count(Interaction) == 1 and count(Task) == 1


def test_photo_is_stored_shrunk_scoped_and_size_limited(client, auth, world):
    """A JPEG from the phone is stored and served to who may see the account; junk is 422."""
    auth.login("west@example.com")
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, "JPEG")
    data = base64.b64encode(buf.getvalue()).decode()
    a = world.west_accounts[0]
    r = client.post(
        "/api/v1/interactions",
        json={
            "uuid": uid(),
            "account_id": a.id,
            "outcome": "interested",
            "photo": {"data": data, "width": 64, "height": 48},
        },
    )
    assert r.status_code == 201
    photo = db.session.scalars(select(VisitPhoto)).one()
    got = client.get(f"/api/v1/photos/{photo.id}")
    assert got.status_code == 200 and got.mimetype == "image/jpeg" and got.data == buf.getvalue()
    for bad in ("%%%", base64.b64encode(b"GIF89a....").decode(), "A" * 900_000):
        r = client.post(
            "/api/v1/interactions",
            json={
                "uuid": uid(),
                "account_id": a.id,
                "outcome": "interested",
                "photo": {"data": bad},
            },
        )
        assert r.status_code == 422 and r.get_json()["field"] == "photo.data"
    client.post("/logout")
    auth.login("east@example.com")
    assert client.get(f"/api/v1/photos/{photo.id}").status_code == 404


def test_rep_cannot_write_on_another_territorys_account(client, auth, world):
    """Check-ins and interactions on an account the rep cannot see are 404, nothing stored."""
    auth.login("west@example.com")
    east = world.east_accounts[0].id
    assert (
        client.post("/api/v1/checkins", json={"uuid": uid(), "account_id": east}).status_code == 404
    )
    r = client.post(
        "/api/v1/interactions", json={"uuid": uid(), "account_id": east, "outcome": "interested"}
    )
    assert r.status_code == 404
    assert count(Interaction) == 0


NASTY: list[tuple[str, Any, str]] = [
    ("/api/v1/interactions", [], "body"),
    ("/api/v1/interactions", "x", "body"),
    ("/api/v1/interactions", {"account_id": 1, "outcome": "interested"}, "uuid"),
    ("/api/v1/interactions", {"uuid": "not-a-uuid", "account_id": 1, "outcome": "x"}, "uuid"),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": "1", "outcome": "interested"},
        "account_id",
    ),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": True, "outcome": "interested"},
        "account_id",
    ),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": 2**80, "outcome": "interested"},
        "account_id",
    ),
    ("/api/v1/interactions", {"uuid": "U", "account_id": "A", "outcome": "maybe"}, "outcome"),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": "A", "outcome": ["interested"]},
        "outcome",
    ),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": "A", "outcome": "interested", "notes": "x" * 5000},
        "notes",
    ),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": "A", "outcome": "interested", "kind": {"$ne": 1}},
        "kind",
    ),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": "A", "outcome": "interested", "at": "yesterday"},
        "at",
    ),
    (
        "/api/v1/interactions",
        {"uuid": "U", "account_id": "A", "outcome": "interested", "task": "call"},
        "task",
    ),
    (
        "/api/v1/interactions",
        {
            "uuid": "U",
            "account_id": "A",
            "outcome": "interested",
            "task": {"due_date": "2030-02-31"},
        },
        "due_date",
    ),
    ("/api/v1/checkins", {"uuid": "U", "account_id": "A", "lat": "60", "lon": 24}, "lat"),
    ("/api/v1/checkins", {"uuid": "U", "account_id": "A", "lat": 91, "lon": 24}, "lat"),
    ("/api/v1/checkins", {"uuid": "U", "account_id": "A", "lat": 60, "lon": None}, "lon"),
    (
        "/api/v1/checkins",
        {"uuid": "U", "account_id": "A", "lat": 60, "lon": 24, "accuracy": -1},
        "accuracy",
    ),
    ("/api/v1/checkins", {"uuid": "U", "account_id": "A", "route_stop_id": 999}, "route_stop_id"),
    ("/api/v1/checkouts", {"uuid": "U"}, "uuid"),
    ("/api/v1/accounts", {"uuid": "U", "name": "", "lat": 60, "lon": 24}, "name"),
    ("/api/v1/accounts", {"uuid": "U", "name": "X", "lat": 0, "lon": 0}, "lat"),
    ("/api/v1/accounts", {"uuid": "U", "name": "X", "lat": 160.2, "lon": 24.9}, "lat"),
    ("/api/v1/tasks", {"uuid": "U", "account_id": "A", "title": None}, "title"),
]


@pytest.mark.parametrize("url,body,field", NASTY)
def test_nasty_payloads_answer_4xx_naming_the_field(client, auth, world, url, body, field):
    """Wrong types, ranges, shapes and sizes: a 4xx problem naming the field, never a 500."""
    auth.login("west@example.com")
    account = world.west_accounts[0].id

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return {"U": uid(), "A": account}.get(value, value) if isinstance(value, str) else value

    r = client.post(url, json=fill(body))
    assert 400 <= r.status_code < 500, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert r.get_json().get("field") == field, r.get_json()
    assert count(Interaction) == 0


def test_non_json_bodies_are_4xx(client, auth, world):
    """Form bodies, broken JSON and huge numbers never reach a 500."""
    auth.login("west@example.com")
    for kwargs in (
        {"data": "uuid=1", "content_type": "application/x-www-form-urlencoded"},
        {"data": "{not json", "content_type": "application/json"},
        {"data": '{"ops": [' + "1e999," * 3 + "null]}", "content_type": "application/json"},
    ):
        for url in ("/api/v1/interactions", "/api/v1/sync", "/api/v1/checkins"):
            r = client.post(url, **kwargs)
            if r.status_code == 200:  # a batch answers per write: each one refused
                assert r.get_json()["failed"] == len(r.get_json()["results"]) > 0
            else:
                assert 400 <= r.status_code < 500, (url, kwargs, r.status_code)


def test_openapi_document_lists_the_field_endpoints(client):
    """The OpenAPI document is public, valid-looking, and covers every /api/v1 route."""
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/api/v1/today",
        "/api/v1/accounts/near",
        "/api/v1/accounts/{account_id}",
        "/api/v1/interactions",
        "/api/v1/tasks",
        "/api/v1/sync",
        "/api/v1/checkins",
    ):
        assert path in doc["paths"], path
    assert doc["paths"]["/api/v1/sync"]["post"]["requestBody"]
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth", "csrfHeader"}


def test_verified_check_in_offers_and_moves_the_pin(client, auth, world):
    """A ±8 m check-in 300 m from the pin is offered on the card and moves the pin when asked
    (re-placing the account); a ±200 m one is not offered and is refused by name."""
    auth.login("west@example.com")
    a = world.west_accounts[0]  # 60.16, 24.91
    north = 60.16 + 300 / 111_195
    vague, good = uid(), uid()
    for u, acc in ((vague, 200), (good, 8)):
        r = client.post("/api/v1/checkins",
                        json={"uuid": u, "account_id": a.id, "lat": north, "lon": 24.91,
                              "accuracy": acc})
        assert r.status_code == 201
    card = client.get(f"/api/v1/accounts/{a.id}").get_json()
    offer = card["pin_suggestion"]
    assert offer["offset_m"] == pytest.approx(300, abs=1) and offer["accuracy_m"] == 8
    vague_id = db.session.scalars(select(Interaction.id).where(Interaction.uuid == vague)).one()
    r = client.post(f"/api/v1/accounts/{a.id}/pin", json={"interaction_id": vague_id})
    assert r.status_code == 422 and r.get_json()["field"] == "interaction_id"
    r = client.post(f"/api/v1/accounts/{a.id}/pin", json={"interaction_id": "x"})
    assert r.status_code == 422 and r.get_json()["field"] == "interaction_id"
    r = client.post(f"/api/v1/accounts/{a.id}/pin",
                    json={"interaction_id": offer["interaction_id"]})
    assert r.status_code == 200 and r.get_json()["lat"] == pytest.approx(north)
    assert client.get(f"/api/v1/accounts/{a.id}").get_json()["pin_suggestion"] is None
    # Another rep's account: 404, whatever the interaction.
    east = world.east_accounts[0].id
    r = client.post(f"/api/v1/accounts/{east}/pin",
                    json={"interaction_id": offer["interaction_id"]})
    assert r.status_code == 404
