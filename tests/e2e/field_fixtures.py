"""Browser fixtures of the field app tests: a live server on a SQLite file, Chromium with a
phone profile and a position, and a guard that fails on any request off 127.0.0.1.

Own module (not the shared e2e conftest) so these tests do not depend on its timing;
recipes from ../shared/TESTING.md.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from geocrm import create_app
from geocrm.extensions import db
from geocrm.models import Interaction
from tests.conftest import PASSWORD
from tests.e2e.modules import FIELD_OUTBOX, with_module
from tests.factories import build_world

CHROMIUM = "/usr/bin/chromium"
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
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
EXTERNAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


def require_browser() -> None:
    """Skip without Chromium, unless CI demands the browser (then fail)."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("GEOCRM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GEOCRM_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
    pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium)")


@dataclass
class LiveField:
    url: str
    app: Flask
    accounts: dict[str, int]
    users: dict[str, int]
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def interactions(self, email: str) -> list[Interaction]:
        """Read the server's state from the test process (works while the browser is offline)."""
        with self.app.app_context():
            rows = db.session.scalars(
                select(Interaction)
                .where(Interaction.user_id == self.users[email])
                .order_by(Interaction.id)
            ).all()
            db.session.expunge_all()
            return list(rows)

    def count(self, model: Any) -> int:
        with self.app.app_context():
            return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture(scope="module")
def field_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveField]:
    """The app on a SQLite file (shared by the server threads) with the tiny world, CSRF on."""
    require_browser()
    path = tmp_path_factory.mktemp("field") / "e2e.sqlite"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "e2e-secret",
            "WTF_CSRF_ENABLED": True,
            "GEOCRM_TILE_URL": "",
            "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            "GEOCRM_LOGIN_MAX_FAILURES": 1000,
        }
    )
    with app.app_context():
        db.create_all()
        world = build_world(PASSWORD)
        accounts = {a.name: a.id for a in world.west_accounts + world.east_accounts}
        users = {u.email: u.id for u in (world.rep_west, world.rep_east, world.manager)}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveField(f"http://127.0.0.1:{server.server_port}", app, accounts, users)
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def pw(playwright: Any) -> Any:
    """pytest-playwright's session-wide Playwright (one sync driver per test process)."""
    require_browser()
    return playwright


@pytest.fixture(scope="module")
def chromium(pw: Any) -> Iterator[Any]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield browser
    browser.close()


def guard(context: Any, live: LiveField) -> None:
    """Abort and record every request that would leave the machine (no CDN, no tiles)."""

    def block(route: Any) -> None:
        live.blocked.append(route.request.url)
        route.abort()

    context.route(EXTERNAL, block)


def phone_context(
    pw: Any,
    browser: Any,
    live: LiveField,
    *,
    at: tuple[float, float] | None,
    allow_location: bool = True,
) -> Any:
    """A Pixel-7-like phone at 360x740, at ``at`` (lat, lon) with location allowed or not."""
    # Not the device's user agent: the service worker fetches with the browser's own, and
    # Flask-Login's "strong" session protection would take the mismatch for a stolen cookie.
    device = {
        k: v
        for k, v in pw.devices["Pixel 7"].items()
        if k not in {"default_browser_type", "user_agent"}
    }
    device["viewport"] = PHONE
    kwargs: dict[str, Any] = {**device}
    if at is not None:
        kwargs["geolocation"] = {"latitude": at[0], "longitude": at[1], "accuracy": 10}
    kwargs["permissions"] = ["geolocation"] if allow_location else []
    context = browser.new_context(**kwargs)
    guard(context, live)
    return context


def sign_in(page: Any, live: LiveField, email: str) -> None:
    """Through the real login form, then wait until the worker controls the app and the
    data went through it (so it is cached for offline use). Uncaught page errors are kept
    in ``live.page_errors``."""
    page.on("pageerror", lambda err: live.page_errors.append(str(err)))
    page.goto(f"{live.url}/login?next=/app/")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/app/.*"))
    wait_for_worker(page)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")


def wait_for_worker(page: Any) -> None:
    page.wait_for_function(
        "() => navigator.serviceWorker.controller && "
        "navigator.serviceWorker.controller.state === 'activated'",
        timeout=20_000,
    )


def pending(page: Any) -> int:
    return int(page.get_attribute("#sync-badge", "data-pending") or "-1")


# Mirror the outbox's size into <html data-test-outbox>, refreshed on every message of the
# app's sync channel (the outbox announces each queue, sync and failure there).
OUTBOX_SIZE_MIRROR = """async (outbox) => {
  const mirror = () => outbox.all().then((items) => {
    document.documentElement.dataset.testOutbox = String(items.length);
  });
  if (!window.testOutboxMirror) {
    window.testOutboxMirror = new BroadcastChannel("geocrm-sync");
    window.testOutboxMirror.onmessage = mirror;
  }
  await mirror();
}"""


def wait_outbox_empty(page: Any, timeout: int = 15_000) -> None:
    """Until the IndexedDB outbox is empty: every queued write got the server's answer."""
    # wait_for_function does not await promises: the outbox's size is mirrored into a
    # test-only attribute on every change the app's sync channel announces, and on request.
    with_module(page, FIELD_OUTBOX, OUTBOX_SIZE_MIRROR)
    page.wait_for_function(
        "() => document.documentElement.dataset.testOutbox === '0'", timeout=timeout
    )
    wait_pending(page, 0, timeout)


def wait_pending(page: Any, n: int, timeout: int = 15_000) -> None:
    page.wait_for_function(
        f"() => document.querySelector('#sync-badge').getAttribute('data-pending') === '{n}'",
        timeout=timeout,
    )


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core, WCAG 2 A and AA rules, on the current screen."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
