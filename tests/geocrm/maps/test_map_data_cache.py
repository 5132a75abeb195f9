"""The territory map's points under load (issue 18): built once per version, 304 on repeat,
a new ETag after any edit, and one user's scope never answered from another's entry."""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import update

from geocrm.extensions import db
from geocrm.maps.points_cache import EXTENSION, PointsCache, SharedStore, points_cache
from geocrm.models import Account, Role, Stage, Territory
from tests.conftest import PASSWORD
from tests.factories import World, make_account, make_territory, make_user

POINTS = "/maps/territories/points.json"
JSON = {"Accept": "application/json"}


class UserClient(FlaskClient):
    """A client for one user among several: the fixture's app context keeps the signed-in
    user in ``g`` across requests, so each request forgets the previous one's."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def signed_in(app: Flask, email: str) -> FlaskClient:
    app.test_client_class = UserClient
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return list(itertools.accumulate(response.get_json()["id"]))


def test_repeat_answers_304_and_builds_once(app: Flask, world: World) -> None:
    """The first request builds; the browser's If-None-Match (strong, or weakened by a
    gzipping proxy) gets an empty 304; a request without it is served from the cache."""
    client = signed_in(app, "manager@example.com")
    first = client.get(POINTS, headers=JSON)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, no-cache"
    for sent in (etag, f"W/{etag}", f'"other", {etag}'):
        again = client.get(POINTS, headers={**JSON, "If-None-Match": sent})
        assert again.status_code == 304
        assert again.data == b"" and again.headers["ETag"] == etag
    plain = client.get(POINTS, headers=JSON)
    assert plain.status_code == 200 and plain.data == first.data
    assert plain.headers["ETag"] == etag
    assert points_cache().builds == 1
    stale = client.get(POINTS, headers={**JSON, "If-None-Match": '"not-it"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_every_kind_of_edit_gives_a_new_etag(app: Flask, world: World) -> None:
    """Editing, re-assigning (a Core UPDATE), adding and archiving accounts, and renaming a
    territory all change the ETag; the old one then gets the new payload, not a 304. An edit
    the map does not show (a phone number) keeps the version, unless the colouring reads
    more than the points (by value: every edit counts)."""
    client = signed_in(app, "admin@example.com")
    seen: list[str] = []
    by_value = client.get(POINTS + "?colour=value", headers=JSON).headers["ETag"]
    first = client.get(POINTS, headers=JSON).headers["ETag"]
    world.west_accounts[1].phone = "+358 40 1234567"
    db.session.commit()
    assert client.get(POINTS, headers={**JSON, "If-None-Match": first}).status_code == 304
    assert client.get(POINTS + "?colour=value", headers=JSON).headers["ETag"] != by_value

    def etag(query: str = "") -> str:
        response = client.get(POINTS + query, headers=JSON)
        assert response.status_code == 200
        assert response.headers["ETag"] not in seen
        seen.append(response.headers["ETag"])
        return response.headers["ETag"]

    etag()
    account = world.west_accounts[0]
    account.stage = Stage.LEAD
    db.session.commit()
    old = seen[-1]
    changed = client.get(POINTS, headers={**JSON, "If-None-Match": old})
    assert changed.status_code == 200
    seen.append(changed.headers["ETag"])
    assert seen[-1] != old
    db.session.execute(update(Account).where(Account.id == account.id)
                       .values(territory_id=world.east.id))
    db.session.commit()
    etag()
    added = make_account("New Oy", 60.17, 24.96, territory_id=world.east.id)
    db.session.commit()
    etag()
    assert added.id in ids(client.get(POINTS, headers=JSON))
    world.east_accounts[0].archived = True  # (archiving New Oy would restore a known version)
    db.session.commit()
    etag()
    etag("?colour=territory")
    db.session.get(Territory, world.west.id).name = "Länsi"
    db.session.commit()
    response = client.get(POINTS + "?colour=territory", headers={**JSON, "If-None-Match": seen[-1]})
    assert response.status_code == 200
    assert "Länsi" in {entry["label"] for entry in response.get_json()["legend"]}


def test_another_users_scope_is_never_served(app: Flask, world: World) -> None:
    """Two managers: neither's ETag or cached payload answers the other. Admins and planners
    see the same accounts and share one version."""
    north_boss = make_user("north-boss@example.com", Role.MANAGER, PASSWORD)
    north = make_territory("North", shapely.box(24.90, 60.20, 25.00, 60.25),
                           manager_id=north_boss.id)
    hidden = make_account("Pohjola Oy", 60.22, 24.95, territory_id=north.id)
    db.session.commit()
    manager = signed_in(app, "manager@example.com")
    theirs = manager.get(POINTS, headers=JSON)
    boss = signed_in(app, "north-boss@example.com")
    mine = boss.get(POINTS, headers={**JSON, "If-None-Match": theirs.headers["ETag"]})
    assert mine.status_code == 200
    assert mine.headers["ETag"] != theirs.headers["ETag"]
    assert sorted(ids(mine)) == sorted([hidden.id, world.unassigned.id])
    assert hidden.id not in ids(theirs)
    admin = signed_in(app, "admin@example.com").get(POINTS, headers=JSON)
    planner = signed_in(app, "planner@example.com").get(POINTS, headers=JSON)
    assert admin.headers["ETag"] == planner.headers["ETag"] != theirs.headers["ETag"]
    assert hidden.id in ids(admin)
    assert points_cache().builds == 3


def test_concurrent_misses_build_once() -> None:
    """Eight requests for one missing version: one builds, the others wait and reuse it."""
    cache = PointsCache()
    start = threading.Barrier(8)
    bodies: list[bytes] = []

    def build() -> bytes:
        return b"payload"

    def ask() -> None:
        start.wait()
        bodies.append(cache.get_or_build("e1", "slot", build, lambda: True)[0])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bodies == [b"payload"] * 8
    assert cache.builds == 1


def test_bytes_budget_and_superseded_versions() -> None:
    """A slot keeps only its newest version; the budget evicts the least recently used; a
    body built while the data changed is served but not kept."""
    cache = PointsCache(max_bytes=10)
    cache.get_or_build("a1", "A", lambda: b"aaaa", lambda: True)
    cache.get_or_build("a2", "A", lambda: b"AAAA", lambda: True)
    assert cache.get("a1") is None and cache.get("a2") == b"AAAA"
    cache.get_or_build("b1", "B", lambda: b"bbbb", lambda: True)
    cache.get("a2")  # A used more recently than B
    cache.get_or_build("c1", "C", lambda: b"cccc", lambda: True)
    assert cache.get("b1") is None and cache.get("a2") == b"AAAA" and cache.get("c1") == b"cccc"
    body, current = cache.get_or_build("d1", "D", lambda: b"dd", lambda: False)
    assert (body, current) == (b"dd", False) and cache.get("d1") is None


def test_a_slots_etag_is_reused_for_the_ttl_only() -> None:
    """Within the TTL the aggregates are not run again; with 0 (tests, and just before a
    build) every call asks."""
    cache = PointsCache()
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return f"v{len(calls)}"

    assert cache.etag("A", compute, 60) == "v1"
    assert cache.etag("A", compute, 60) == "v1"
    assert cache.etag("A", compute, 0) == "v2"
    assert cache.etag("B", compute, 60) == "v3"
    assert len(calls) == 3


def test_concurrent_requests_compute_the_version_once() -> None:
    """A crowd arriving when a slot's ETag has expired runs the aggregates once."""
    cache = PointsCache()
    start = threading.Barrier(8)
    calls: list[int] = []
    seen: list[str] = []

    def compute() -> str:
        calls.append(1)
        return "v"

    def ask() -> None:
        start.wait()
        seen.append(cache.etag("A", compute, 60))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == ["v"] * 8 and len(calls) == 1


# -- Shared through Redis (several worker processes) ----------------------------------------
def _redis_url() -> str:
    """The real Redis, as tests/geocrm/test_jobs.py finds it (skip, or fail in CI)."""
    url = os.environ.get("GEOCRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        reason = f"the shared map cache needs Redis at {url} ({type(exc).__name__})"
        if os.environ.get("GEOCRM_REQUIRE_REDIS") == "1":
            pytest.fail(f"GEOCRM_REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)
    return url


def _shared_store(prefix: str) -> SharedStore:
    return SharedStore(_redis_url(), prefix)


def _forget(store: SharedStore) -> None:
    for key in store.redis.scan_iter(f"{store.prefix}*"):
        store.redis.delete(key)


def test_worker_processes_share_payloads_and_versions_through_redis() -> None:
    """Two processes' caches (two PointsCache on one Redis): the second serves the first's
    build and reuses its slot version within the TTL; a newer version replaces the old."""
    store = _shared_store(f"geocrm-test:{uuid.uuid4().hex[:12]}:")
    try:
        first, second = PointsCache(shared=store), PointsCache(shared=store)
        assert first.etag("A", lambda: "e1", 60) == "e1"
        assert second.etag("A", lambda: "never", 60) == "e1"  # not computed again
        assert first.get_or_build("e1", "A", lambda: b"one", lambda: True) == (b"one", True)
        assert second.get_or_build("e1", "A", lambda: b"rebuilt", lambda: True) == (b"one", True)
        assert (first.builds, second.builds) == (1, 0)
        second.get_or_build("e2", "A", lambda: b"two", lambda: True)
        assert store.body("e1") is None and store.body("e2") == b"two"
        # a body built while the data changed is not shared either
        second.get_or_build("e3", "B", lambda: b"x", lambda: False)
        assert store.body("e3") is None
        # a build in progress elsewhere is awaited, not repeated; when it ends without storing
        # anything (a write landed), the waiting process builds itself
        assert store.claim("e4")
        store.release("e4")
        assert first.get_or_build("e4", "C", lambda: b"four", lambda: True) == (b"four", True)
    finally:
        _forget(store)


@pytest.fixture
def shared_map_cache(app_config: dict[str, Any]) -> Iterator[str]:
    """The app's map cache on the real Redis under a prefix of its own, deleted afterwards."""
    prefix = f"geocrm-test:{uuid.uuid4().hex[:12]}:"
    store = _shared_store(prefix)
    app_config.update({"GEOCRM_REDIS_URL": _redis_url(), "GEOCRM_MAP_REDIS_PREFIX": prefix})
    yield prefix
    _forget(store)


def test_map_view_shares_its_payload_through_redis(
    shared_map_cache: str, app: Flask, world: World
) -> None:
    """With GEOCRM_REDIS_URL a second worker process (a fresh cache) serves the first's
    payload and ETag without building; an edit still gives a new ETag and payload."""
    client = signed_in(app, "manager@example.com")
    first = client.get(POINTS, headers=JSON)
    assert first.status_code == 200 and points_cache().builds == 1
    del app.extensions[EXTENSION]  # another worker process: nothing of its own yet
    again = client.get(POINTS, headers=JSON)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert points_cache().builds == 0 and points_cache().shared is not None
    world.west_accounts[0].stage = Stage.LEAD
    db.session.commit()
    changed = client.get(POINTS, headers={**JSON, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert points_cache().builds == 1


def test_an_unreachable_redis_falls_back_to_the_process_cache() -> None:
    """Redis down: every request is still answered, from this process's cache, and Redis is
    left alone for a while instead of costing a timeout each time."""
    store = SharedStore("redis://127.0.0.1:1/0")
    cache = PointsCache(shared=store)
    assert cache.etag("A", lambda: "e1", 60) == "e1"
    assert cache.get_or_build("e1", "A", lambda: b"one", lambda: True) == (b"one", True)
    assert cache.get_or_build("e1", "A", lambda: b"again", lambda: True) == (b"one", True)
    assert cache.builds == 1 and store._down_until > 0
