"""The region's vector basemap in a real Chromium with the network blocked: the manager's
territory map and the field app (offline, after the worker kept the rep's part) draw the
streets from the app's own PMTiles archive, and nothing leaves 127.0.0.1.

"Drawn" is read from the map's own canvases: protomaps-leaflet paints each tile on a
<canvas>; the light theme's roads are pure white (#ffffff) and its land #e2dfda, neither of
which Leaflet's grey background or our markers use. A map with no basemap has no canvas.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

import places
from geocrm import create_app
from geocrm.extensions import db
from geocrm.region.services import demo_extract
from tests.conftest import PASSWORD
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import (
    LiveField,
    phone_context,
    require_browser,
    sign_in,
)
from tests.e2e.modules import TERRITORY_MAP, expose
from tests.factories import build_world, make_account

pw = field_fixtures.pw
chromium = field_fixtures.chromium

pytestmark = pytest.mark.browser

KLUUVI = (60.1700, 24.9440)  # central Helsinki, inside the demo extract and the West territory

# Pixels of the basemap's canvases by colour: roads (white), land, water, and all painted.
COUNT_PIXELS = """(selector) => {
  const out = { canvases: 0, road: 0, land: 0, water: 0, painted: 0 };
  for (const c of document.querySelectorAll(selector)) {
    if (!c.width || !c.height) continue;
    out.canvases += 1;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      out.painted += 1;
      const r = d[i], g = d[i + 1], b = d[i + 2];
      if (r === 255 && g === 255 && b === 255) out.road += 1;
      else if (r === 0xe2 && g === 0xdf && b === 0xda) out.land += 1;
      else if (r === 0x80 && g === 0xde && b === 0xea) out.water += 1;
    }
  }
  return out;
}"""
CANVASES = ".leaflet-tile-pane canvas"


@pytest.fixture(scope="module")
def basemap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveField]:
    """The app with the demo region's basemap in its instance folder and two accounts in
    central Helsinki (inside the extract) for the rep of the West territory."""
    require_browser()
    root = tmp_path_factory.mktemp("basemap-e2e")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'e2e.sqlite'}",
        "SECRET_KEY": "e2e-secret",
        "WTF_CSRF_ENABLED": True,
        "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        "GEOCRM_LOGIN_MAX_FAILURES": 1000,
    })
    app.instance_path = str(root / "instance")
    places.build_basemap(demo_extract(), Path(app.instance_path) / "region" / "basemap.pmtiles")
    with app.app_context():
        db.create_all()
        world = build_world(PASSWORD)
        for i, (lat, lon) in enumerate([KLUUVI, (KLUUVI[0] + 0.002, KLUUVI[1] + 0.003)]):
            make_account(f"Kluuvi Shop {i + 1}", lat, lon, territory_id=world.west.id)
        db.session.commit()
        users = {u.email: u.id for u in (world.rep_west, world.manager)}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveField(f"http://127.0.0.1:{server.server_port}", app, {}, users)
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


def wait_streets(page: Any, min_road: int = 500) -> dict[str, int]:
    """Until the basemap's canvases show streets; returns the pixel counts."""
    page.wait_for_function(
        f"() => ({COUNT_PIXELS})({CANVASES!r}).road >= {min_road}", timeout=20_000)
    counts: dict[str, int] = page.evaluate(COUNT_PIXELS, CANVASES)
    return counts


def test_manager_map_draws_the_vector_basemap_without_a_network(
        pw: Any, chromium: Any, basemap_server: LiveField) -> None:
    live = basemap_server
    context = chromium.new_context(viewport={"width": 1000, "height": 700})
    field_fixtures.guard(context, live)
    basemap_requests: list[tuple[int, str]] = []
    context.on("response", lambda r: basemap_requests.append((r.status, r.url))
               if "basemap.pmtiles" in r.url else None)
    page = context.new_page()
    page.on("pageerror", lambda err: live.page_errors.append(str(err)))
    page.goto(f"{live.url}/login?next=/maps/territories")
    page.fill("#email", "manager@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/maps/territories.*"))
    page.wait_for_selector("#territory-map[data-state='ready']")
    expose(page, TERRITORY_MAP, "territoryMap")
    page.evaluate(f"() => territoryMap.map.setView([{KLUUVI[0]}, {KLUUVI[1]}], 15)")
    counts = wait_streets(page)
    assert counts["land"] > 1000 and counts["canvases"] >= 1, counts
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    # read with HTTP range requests from the app itself
    assert basemap_requests and all(status == 206 for status, _ in basemap_requests)
    assert all(url.startswith(live.url) for _, url in basemap_requests)
    page.screenshot(path=str(Path(live.app.instance_path) / "manager-map.png"))
    assert live.blocked == [], live.blocked
    assert live.page_errors == []
    context.close()


def test_field_app_shows_streets_offline(pw: Any, chromium: Any,
                                         basemap_server: LiveField) -> None:
    live = basemap_server
    context = phone_context(pw, chromium, live, at=KLUUVI)
    page = context.new_page()
    sign_in(page, live, "west@example.com")
    page.wait_for_selector("body[data-basemap-cached='1']", timeout=20_000)

    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate("() => { location.hash = '#/near'; }")
    page.wait_for_selector("#near-results .stops li")
    page.wait_for_selector(".leaflet-container")
    counts = wait_streets(page, min_road=300)
    assert counts["land"] > 1000, counts
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    page.screenshot(path=str(Path(live.app.instance_path) / "field-offline.png"))
    # Today's suggested route (the two Kluuvi shops are due) on the same streets
    page.evaluate("() => { location.hash = '#/today'; }")
    page.wait_for_selector("#map.leaflet-container")
    counts = wait_streets(page, min_road=300)
    assert counts["land"] > 1000, counts
    assert live.blocked == [], live.blocked
    assert live.page_errors == []
    context.close()
