"""Upgrading a phone from the v1 field app (classic scripts) to the ES-module app.

After a deploy, the phone's old (v1) worker still answers the first load: the page comes
from the network, but the shell files the v1 worker knows are answered from its cache by
path. This installs the real v1 worker (``field_v1/``) on a phone, "deploys" v2 and checks
that the first load already runs the v2 app, the v2 worker takes over, and the app then
starts offline from the v2 shell.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from tests.conftest import PASSWORD
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import LiveField, phone_context, wait_for_worker

pw = field_fixtures.pw
chromium = field_fixtures.chromium
field_server = field_fixtures.field_server

V1 = Path(__file__).parent / "field_v1"
V1_SHELL = [
    "/app/",
    "/app/manifest.webmanifest",
    "/static/field/app.css",
    "/static/field/app.js",
    "/static/field/outbox.js",
    "/static/field/icons/icon-192.png",
    "/static/field/icons/icon-512.png",
    "/static/field/icons/maskable-512.png",
    "/static/vendor/leaflet/leaflet.js",
    "/static/vendor/leaflet/leaflet.css",
    "/static/vendor/leaflet/images/marker-icon.png",
    "/static/vendor/leaflet/images/marker-icon-2x.png",
    "/static/vendor/leaflet/images/marker-shadow.png",
]
# v1's app.js is only precached by the v1 worker, never run here: any classic script will do.
V1_APP_JS = "/* GeoCRM field app v1 (classic script) */ (function () { 'use strict'; })();"


# Resolves with the cache names once the v2 worker is the page's controller and activated
# (its activate handler, which deletes the v1 shell, has finished); fails after 30 s. The
# controller changes when v2 starts activating (skipWaiting), before that handler ran, so
# the wait follows the controller's state too.
V2_TAKES_OVER = """() => new Promise((resolve, reject) => {
  const sw = navigator.serviceWorker;
  const check = () => caches.keys().then((keys) => {
    const shells = keys.filter((k) => k.startsWith("geocrm-shell-"));
    if (sw.controller && sw.controller.state === "activated"
        && shells.length === 1 && shells[0].startsWith("geocrm-shell-2-")) resolve(keys);
  });
  const follow = () => {
    if (sw.controller) sw.controller.addEventListener("statechange", check);
    check();
  };
  sw.addEventListener("controllerchange", follow);
  follow();
  setTimeout(() => reject(new Error("the v2 worker did not take over")), 30000);
})"""


class V1Files:
    """WSGI middleware making the live server answer as v1 did for /sw.js and the two v1
    scripts, until ``deployed`` is set (the app itself is untouched)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app
        self.deployed = False
        worker = jinja2.Environment(autoescape=False).from_string(
            (V1 / "sw.js").read_text(encoding="utf-8")
        ).render(version="1-", assets=V1_SHELL, outbox_js="/static/field/outbox.js",
                 tile_url="", tile_cache_max=400)
        self.files = {
            "/sw.js": worker,
            "/static/field/outbox.js": (V1 / "outbox.js").read_text(encoding="utf-8"),
            "/static/field/app.js": V1_APP_JS,
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = None if self.deployed else self.files.get(environ.get("PATH_INFO", ""))
        if body is None:
            return self.wsgi_app(environ, start_response)
        start_response("200 OK", [
            ("Content-Type", "text/javascript; charset=utf-8"),
            ("Service-Worker-Allowed", "/"),
            ("Cache-Control", "no-cache"),
        ])
        return [body.encode("utf-8")]


def test_first_load_after_the_upgrade_runs_the_v2_app(
    pw: Any, chromium: Any, field_server: LiveField
) -> None:
    """v1 worker installed with its cached classic scripts → deploy → the first load of /app/
    is the working v2 app, no page error; the v2 worker replaces v1 and serves offline."""
    live = field_server
    v1 = V1Files(live.app.wsgi_app)
    live.app.wsgi_app = v1  # type: ignore[method-assign]
    try:
        upgrade(pw, chromium, live, v1)
    finally:
        live.app.wsgi_app = v1.wsgi_app  # type: ignore[method-assign]


def upgrade(pw: Any, chromium: Any, live: LiveField, v1: V1Files) -> None:
    context = phone_context(pw, chromium, live, at=None)
    page = context.new_page()
    page.on("pageerror", lambda err: live.page_errors.append(str(err)))
    # Sign in to a page without the app's own registration, then register v1 as v1 did.
    page.goto(f"{live.url}/login?next=/accounts/")
    page.fill("#email", "west@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/.*"))
    page.evaluate("navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => null)")
    wait_for_worker(page)
    v1_cached = page.evaluate(
        "caches.open('geocrm-shell-1-').then(c => c.match('/static/field/outbox.js'))"
        ".then(r => r ? r.text() : '')"
    )
    assert "global.GeoOutbox" in v1_cached  # the v1 worker holds the classic script

    v1.deployed = True  # the deploy: from now on the server answers as v2
    page.goto(f"{live.url}/app/")
    page.wait_for_selector("body[data-ready='1']")
    keys = page.evaluate(V2_TAKES_OVER)
    assert any(k.startswith("geocrm-shell-2-") for k in keys), keys
    assert "geocrm-shell-1-" not in keys  # the v2 worker dropped the v1 shell

    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("body[data-ready='1']")
    assert live.page_errors == []
    assert live.blocked == []
    context.close()
