"""The front end's contracts (docs/frontend.md): one data block per page, ES modules only,
nothing published on ``window``, and a service worker that precaches every module."""

from __future__ import annotations

import json
import re
from pathlib import Path
from posixpath import dirname, normpath
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import AuthActions
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "geocrm" / "static"
DATA_BLOCK = re.compile(r'<script type="application/json" id="geocrm-data">(.*?)</script>', re.S)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.S)
IMPORT = re.compile(r'^import\s+(?:[^"\';]*?\s+from\s+)?["\']([^"\']+)["\']', re.M)
XSS_NAME = "<script>alert(1)</script> Oy"


def page_data(html: str) -> Any:
    """The page's one data block, parsed (asserts there is exactly one)."""
    blocks = DATA_BLOCK.findall(html)
    assert len(blocks) == 1, f"{len(blocks)} page data blocks"
    return json.loads(blocks[0])


def our_scripts(html: str) -> list[str]:
    """The attributes of every <script src> of the app's own code (not vendored libraries)."""
    return [attrs for attrs in SCRIPT_TAG.findall(html)
            if "src=" in attrs and "/vendor/" not in attrs]


def module_graph(url: str) -> set[str]:
    """``url`` and every module it imports, transitively, read from the static files."""
    seen: set[str] = set()
    todo = [url]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        source = (STATIC / current.removeprefix("/static/")).read_text(encoding="utf-8")
        for spec in IMPORT.findall(source):
            todo.append(spec if spec.startswith("/") else normpath(f"{dirname(current)}/{spec}"))
    return seen


def test_pages_hand_their_data_over_in_one_block_and_load_modules(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """Every page with app code has one JSON data block, loads that code as ES modules and
    publishes nothing on window; user text in the data stays inside the block."""
    xss = next(a for a in world.east_accounts if a.name == XSS_NAME)
    auth.login("manager@example.com")
    pages = {
        "/maps/territories": "pointsUrl",
        "/territories/": "dataUrl",
        f"/accounts/{xss.id}": "map",
    }
    for url, key in pages.items():
        html = client.get(url).get_data(as_text=True)
        assert key in page_data(html), url
        scripts = our_scripts(html)
        assert scripts and all('type="module"' in s for s in scripts), (url, scripts)
        assert "window.geocrm" not in html, url
    points = page_data(client.get(f"/accounts/{xss.id}").get_data(as_text=True))["map"]
    assert [row[2] for row in points["points"]] == [XSS_NAME]  # escaped by |tojson, intact
    auth.logout()
    auth.login("west@example.com")
    html = client.get("/app/").get_data(as_text=True)
    data = page_data(html)
    assert data["swUrl"] == "/sw.js" and data["api"] == "/api/v1"
    assert our_scripts(html) == [' type="module" src="/static/field/js/app.js"']


def test_page_data_cannot_be_closed_by_user_text(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """A name holding ``</script>`` is escaped inside the data block, never ends it."""
    xss = next(a for a in world.east_accounts if a.name == XSS_NAME)
    auth.login("manager@example.com")
    html = client.get(f"/accounts/{xss.id}").get_data(as_text=True)
    block = DATA_BLOCK.search(html)
    assert block is not None and "<" not in block.group(1)
    assert "\\u003c/script\\u003e" in block.group(1)


def test_service_worker_precaches_every_module_of_the_field_app(client: FlaskClient) -> None:
    """The worker's shell lists the page's and its own module graphs, so the app starts
    offline; a module added without listing it fails here, not on a rep's phone."""
    sw = client.get("/sw.js")
    assert sw.mimetype == "text/javascript"
    body = sw.get_data(as_text=True)
    entry = re.search(r'import \{ start \} from "([^"]+)";', body)
    config = re.search(r"start\((\{.*\})\);", body, re.S)
    assert entry and config
    shell = set(json.loads(config.group(1))["shell"])
    needed = module_graph("/static/field/js/app.js") | module_graph(entry.group(1))
    assert {"/static/field/js/outbox.js", "/static/js/config.js"} <= needed
    assert needed <= shell, needed - shell


def test_no_module_reuses_a_path_the_v1_worker_caches(client: FlaskClient) -> None:
    """A phone still on the v1 worker (classic scripts) answers its old shell paths from its
    cache until the new worker takes over: no module may live at one of those paths."""
    v1_shell = {"/static/field/app.js", "/static/field/outbox.js"}
    body = client.get("/sw.js").get_data(as_text=True)
    entry = re.search(r'import \{ start \} from "([^"]+)";', body)
    assert entry
    modules = module_graph("/static/field/js/app.js") | module_graph(entry.group(1))
    assert not modules & v1_shell


def test_no_app_module_publishes_on_window() -> None:
    """The app's own JavaScript exports what it shares; it never assigns to window/self."""
    for path in STATIC.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(window|self|globalThis)\.\w+\s*=[^=]", source), path
