"""Shared browser fixtures: Debian's Chromium, a live app on loopback, phones, a network guard.

Recipe from ``/work/shared/TESTING.md``. Playwright drives ``/usr/bin/chromium`` (never a
downloaded browser); without it every browser test skips with the reason, unless
``GEOCRM_REQUIRE_BROWSER=1`` (CI), where it fails. The app runs in this process under
werkzeug on ``127.0.0.1:<free port>`` over a temporary SQLite *file* (threads share it),
seeded once per session with ``tests.factories.build_world`` plus a few clusters' worth of
accounts. Every request that is not to 127.0.0.1 is aborted and recorded, so a test can
assert the app works on a plane.

Fixtures for other tests: ``live_server`` (``.url``, ``.app``), ``live_world`` (plain ids
and names of the seeded data), ``external_requests`` (the guard's record),
``new_context(**kwargs)`` (a guarded context on the live server), ``phone`` (a Pixel 7 page),
``login(page, email)``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route
from werkzeug.serving import make_server

from geocrm import create_app
from geocrm.extensions import db
from tests.conftest import PASSWORD
from tests.factories import build_world, make_account

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Anything that is not the live server on loopback.
EXTERNAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
PHONE = "Pixel 7"


def chromium_or_skip() -> Path:
    """Debian's Chromium, or skip (fail under ``GEOCRM_REQUIRE_BROWSER=1``) with the reason."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("GEOCRM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GEOCRM_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch settings, pointed at Debian's Chromium."""
    path = chromium_or_skip()
    return {**browser_type_launch_args, "executable_path": str(path), "args": ARGS}


# --- the live app ------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveWorld:
    """Ids and names of the seeded data, as plain values (the ORM objects die with the seed)."""

    territories: dict[str, int]
    accounts: dict[str, int]
    cluster_accounts: int  # accounts added around two cluster centres


# Two tight groups of accounts, one in each of the world's territories, so the map has
# clusters at the zoom it opens on.
CLUSTER_CENTRES = {"West": (60.175, 24.925), "East": (60.175, 24.975)}
CLUSTER_SIZE = 12


def seed_live_world() -> LiveWorld:
    """The unit tests' tiny world plus ``CLUSTER_SIZE`` accounts around each cluster centre."""
    world = build_world(PASSWORD)
    territories = {world.west.name: world.west.id, world.east.name: world.east.id}
    added = 0
    for name, (lat, lon) in CLUSTER_CENTRES.items():
        for i in range(CLUSTER_SIZE):
            make_account(
                f"{name} Shop {i + 1}",
                lat + (i % 4) * 0.0005,
                lon + (i // 4) * 0.0005,
                territory_id=territories[name],
            )
            added += 1
    db.session.commit()
    accounts = {a.name: a.id for a in world.west_accounts + world.east_accounts}
    accounts[world.unassigned.name] = world.unassigned.id
    return LiveWorld(territories, accounts, added)


@dataclass
class LiveServer:
    app: Flask
    url: str
    world: LiveWorld


@pytest.fixture(scope="session")
def live_app_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Settings of the live app; a SQLite *file*, because the server's threads share it."""
    path = tmp_path_factory.mktemp("e2e") / "geocrm.sqlite"
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "SECRET_KEY": "e2e-secret",
        "WTF_CSRF_ENABLED": True,  # the browser goes through the real forms
        "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def live_server(live_app_config: dict[str, Any]) -> Iterator[LiveServer]:
    """The app, seeded, served by werkzeug on 127.0.0.1 (free port) from a daemon thread."""
    app = create_app(live_app_config)
    with app.app_context():
        db.create_all()
        world = seed_live_world()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", world)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_world(live_server: LiveServer) -> LiveWorld:
    return live_server.world


# --- the browser side --------------------------------------------------------------------


@dataclass
class ExternalRequests:
    """Aborts and records every request that would leave 127.0.0.1."""

    urls: list[str] = field(default_factory=list)

    def guard(self, context: BrowserContext) -> None:
        # context.route (not page.route) also sees service-worker requests.
        context.route(EXTERNAL, self._abort)

    def _abort(self, route: Route) -> None:
        self.urls.append(route.request.url)
        route.abort("blockedbyclient")


@pytest.fixture
def external_requests() -> ExternalRequests:
    """The record of blocked requests; assert ``external_requests.urls == []``."""
    return ExternalRequests()


@pytest.fixture
def new_context(
    browser: Browser, live_server: LiveServer, external_requests: ExternalRequests
) -> Iterator[Callable[..., BrowserContext]]:
    """Make guarded browser contexts on the live server; all are closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**kwargs: Any) -> BrowserContext:
        kwargs.pop("default_browser_type", None)  # in device descriptors, not a context option
        context = browser.new_context(base_url=live_server.url, **kwargs)
        external_requests.guard(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone(playwright: Playwright, new_context: Callable[..., BrowserContext]) -> Page:
    """A page on a guarded Pixel 7 context (viewport, touch, mobile user agent)."""
    return new_context(**playwright.devices[PHONE]).new_page()


@pytest.fixture
def login() -> Callable[[Page, str], None]:
    """Sign in through the real login form (CSRF and all)."""

    def do(page: Page, email: str, password: str = PASSWORD) -> None:
        page.goto("/login")
        page.fill("#email", email)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "/login" not in page.url, f"login failed for {email}"

    return do
