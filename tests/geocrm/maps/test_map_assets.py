"""One place for map assets and tiles: every map page and the offline shell agree with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from geocrm.extensions import db
from geocrm.maps import web
from tests.factories import make_account

STATIC = Path(web.__file__).resolve().parents[1] / "static"
TILE = "https://tiles.example.org/{z}/{x}/{y}.png"


def test_every_named_asset_is_vendored():
    """Each file the one asset place names is served by the app (static/vendor), not a CDN."""
    for path in (web.LEAFLET_JS, web.LEAFLET_CSS, *web.LEAFLET_IMAGES, *web.MARKERCLUSTER,
                 *web.DRAW):
        assert (STATIC / web.vendor_path(path)).is_file(), path


@pytest.fixture
def tiled_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(GEOCRM_TILE_URL=TILE, GEOCRM_TILE_ATTRIBUTION="Example tiles")
    return app_config


def test_map_pages_and_the_field_app_use_the_same_assets_and_tiles(tiled_config, app, client,
                                                                    auth, world):
    """Territory map, Account 360, editor and the field shell: one Leaflet, one tile URL."""
    account = make_account("Kartta Oy", 60.17, 24.94, territory_id=world.west.id)
    db.session.commit()
    with app.test_request_context():
        leaflet_url = web.vendor_url(web.LEAFLET_JS)
        draw_url = web.draw_assets().js
        shell_files = {web.vendor_url(p[len("vendor/"):]) for p in web.leaflet_files()}
    auth.login("manager@example.com")
    pages = {"/maps/territories": [leaflet_url], f"/accounts/{account.id}": [leaflet_url],
             "/territories/": [leaflet_url, draw_url]}
    for url, assets in pages.items():
        html = client.get(url).get_data(as_text=True)
        assert all(a in html for a in assets), url
        assert TILE in html, url
        assert not re.search(r"unpkg|jsdelivr|cdnjs|googleapis", html), url
    worker = client.get("/sw.js").get_data(as_text=True)
    assert TILE in worker and all(f in worker for f in shell_files)
