"""Personal access tokens (issue 18): scopes enforced on every /api/v1 request, expiry,
revocation, the token page, and per-token rate limits (Flask-Limiter, memory and Redis)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from geocrm.api.tokens import create_token
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import utcnow
from geocrm.models.field import ApiToken


def bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}


def interaction(account_id: int) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "account_id": account_id, "outcome": "interested"}


def test_read_token_reads_but_cannot_write(client, world):
    """A read-only token: GET works, POST answers a 403 problem naming the 'write' scope."""
    _, plain = create_token(world.rep_west, "dashboard", scopes=["read"])
    db.session.commit()
    assert client.get("/api/v1/today", headers=bearer(plain)).status_code == 200
    assert client.head("/api/v1/today", headers=bearer(plain)).status_code == 200
    r = client.post("/api/v1/interactions", json=interaction(world.west_accounts[0].id),
                    headers=bearer(plain))
    assert r.status_code == 403
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["missing_scope"] == "write" and "'write'" in body["detail"]


def test_write_only_token_cannot_read(client, world):
    _, plain = create_token(world.rep_west, "feeder", scopes=["write"])
    db.session.commit()
    r = client.get("/api/v1/today", headers=bearer(plain))
    assert r.status_code == 403 and r.get_json()["missing_scope"] == "read"
    r = client.post("/api/v1/interactions", json=interaction(world.west_accounts[0].id),
                    headers=bearer(plain))
    assert r.status_code == 201, r.get_json()


def test_admin_endpoints_need_the_admin_scope(client, world):
    """An admin's read/write token is refused on admin-only endpoints; an admin-scope token is
    let through; the scope never lifts a role (a rep cannot hold one)."""
    _, plain_rw = create_token(world.admin, "erp")
    _, plain_admin = create_token(world.admin, "ops", scopes=["read", "admin"])
    db.session.commit()
    r = client.get("/api/v1/webhooks", headers=bearer(plain_rw))
    assert r.status_code == 403 and r.get_json()["missing_scope"] == "admin"
    assert client.get("/api/v1/webhooks", headers=bearer(plain_admin)).status_code == 200
    # admin scope without write: a POST to the admin endpoint still needs write
    r = client.post("/api/v1/webhooks", json={"url": "https://example.com/h", "events": ["*"]},
                    headers=bearer(plain_admin))
    assert r.status_code == 403 and r.get_json()["missing_scope"] == "write"
    with pytest.raises(ValidationError):
        create_token(world.rep_west, "sneaky", scopes=["read", "admin"])
    with pytest.raises(ValidationError):
        create_token(world.rep_west, "nothing", scopes=[])
    with pytest.raises(ValidationError):
        create_token(world.rep_west, "typo", scopes=["reed"])


def test_session_keeps_full_rights_of_the_role(client, world, auth):
    """No token: a signed-in admin reaches the admin endpoint (a rep does not: role, 403)."""
    auth.login("admin@example.com")
    assert client.get("/api/v1/webhooks").status_code == 200
    auth.logout()
    auth.login("west@example.com")
    assert client.get("/api/v1/webhooks").status_code == 403


def test_a_token_cannot_mint_a_wider_token(client, world):
    _, plain = create_token(world.rep_west, "limited", scopes=["read", "write"])
    db.session.commit()
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["read", "write", "admin"]},
                    headers=bearer(plain))
    assert r.status_code == 403 and r.get_json()["missing_scope"] == "admin"
    r = client.post("/api/v1/tokens", json={"name": "ro", "scopes": ["read"]},
                    headers=bearer(plain))
    assert r.status_code == 201 and r.get_json()["scopes"] == ["read"]


def test_expired_and_revoked_tokens_stop_working(client, world):
    row, plain = create_token(world.rep_west, "short", days=1, scopes=["read"])
    db.session.commit()
    assert client.get("/api/v1/today", headers=bearer(plain)).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/today", headers=bearer(plain)).status_code == 401
    row2, plain2 = create_token(world.rep_west, "revoke me")
    db.session.commit()
    assert client.get("/api/v1/today", headers=bearer(plain2)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{row2.id}", headers=bearer(plain2)).status_code == 204
    assert client.get("/api/v1/today", headers=bearer(plain2)).status_code == 401


def test_token_page_lists_creates_once_and_revokes(client, world, auth):
    """/people/me links the page; a new token is shown once; revoking one of another user's
    tokens answers 404."""
    other, _ = create_token(world.rep_east, "theirs")
    db.session.commit()
    auth.login("west@example.com")
    assert 'href="/people/me/tokens/"' in client.get("/people/me").get_data(as_text=True)
    r = client.post("/people/me/tokens/", data={"name": "ERP sync", "days": "30",
                                                "scopes": ["read"]})
    assert r.status_code == 201
    page = r.get_data(as_text=True)
    plain = re.search(r'id="plain-token">(gcrm_[^<]+)<', page).group(1)
    assert client.get("/people/me/tokens/").get_data(as_text=True).count(plain) == 0
    row = db.session.query(ApiToken).filter_by(name="ERP sync").one()
    assert row.scopes == "read" and row.expires_at is not None
    auth.logout()
    assert client.get("/api/v1/today", headers=bearer(plain)).status_code == 200
    auth.login("west@example.com")
    # a rep is not offered the admin scope, and cannot force it
    r = client.post("/people/me/tokens/", data={"name": "x", "days": "0",
                                                "scopes": ["admin"]})
    assert r.status_code == 422
    assert client.post(f"/people/me/tokens/{other.id}/revoke").status_code == 404
    assert client.post(f"/people/me/tokens/{row.id}/revoke").status_code == 302
    auth.logout()
    assert client.get("/api/v1/today", headers=bearer(plain)).status_code == 401


@pytest.fixture
def limited_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["GEOCRM_API_RATE_LIMIT"] = "3/minute"
    app_config["GEOCRM_RATELIMIT_PREFIX"] = f"test-{uuid.uuid4().hex}"
    return app_config


def _exhaust(client: Any, headers: dict[str, str]) -> Any:
    for _ in range(3):
        assert client.get("/api/v1/today", headers=headers).status_code == 200
    return client.get("/api/v1/today", headers=headers)


def test_rate_limit_is_per_token_with_retry_after(limited_config, client, world):
    """The fourth request in a minute answers a 429 problem with Retry-After; another token
    of the same user still has its own budget."""
    _, one = create_token(world.rep_west, "one")
    _, two = create_token(world.rep_west, "two")
    db.session.commit()
    r = _exhaust(client, bearer(one))
    assert r.status_code == 429
    assert r.mimetype == "application/problem+json"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.get_json()["status"] == 429
    assert client.get("/api/v1/today", headers=bearer(two)).status_code == 200


def test_rate_limit_by_session_user(limited_config, client, world, auth):
    auth.login("west@example.com")
    assert _exhaust(client, {}).status_code == 429


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0").ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_rate_limit_counts_in_redis_when_configured(limited_config, client, world):
    """With GEOCRM_REDIS_URL the counters live in Redis (shared by every worker)."""
    import redis

    limited_config["GEOCRM_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    from geocrm import create_app

    app2 = create_app(limited_config)
    _, plain = create_token(world.rep_west, "redis")
    db.session.commit()
    with app2.app_context():
        c2 = app2.test_client()
        assert _exhaust(c2, bearer(plain)).status_code == 429
        db.session.remove()
        db.engine.dispose()
    keys = redis.Redis.from_url("redis://127.0.0.1:6379/0").keys(
        f"*{limited_config['GEOCRM_RATELIMIT_PREFIX']}*")
    assert keys, "the limit was not counted in Redis"


@pytest.mark.parametrize(("lang", "words"), [
    ("ko", ("API 토큰", "토큰 만들기", "웹훅 등록", "전송 로그")),
    ("ja", ("API トークン", "トークンを作成", "Webhook を登録", "配信ログ")),
])
def test_token_and_webhook_pages_in_korean_and_japanese(app, client, world, auth, lang, words):
    from geocrm.webhooks import endpoints

    world.admin.locale = lang
    app.config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = True
    row, _ = endpoints.create_endpoint(world.admin, "http://127.0.0.1:9/hook", ["*"])
    app.config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = False
    db.session.commit()
    auth.login("admin@example.com")
    tokens_page = client.get("/people/me/tokens/").get_data(as_text=True)
    hooks_page = client.get("/admin/webhooks/").get_data(as_text=True)
    log_page = client.get(f"/admin/webhooks/{row.id}").get_data(as_text=True)
    assert words[0] in tokens_page and words[1] in tokens_page
    assert words[2] in hooks_page and words[3] in log_page
    r = client.post("/api/v1/webhooks", json={"url": "http://169.254.169.254/", "events": ["*"]})
    assert r.status_code == 422
