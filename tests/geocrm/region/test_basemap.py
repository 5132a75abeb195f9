"""The vector basemap in the app: built by `region load`, served with HTTP range requests behind
login, chosen for every map by one rule, and the part the field app keeps offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pmtiles.reader import MemorySource, Reader

import places
from geocrm.region.services import basemap_path, demo_extract
from tests.conftest import AuthActions
from tests.factories import World

TOWN = Path(__file__).parents[2] / "places" / "fixtures" / "harbour_town.osm"


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo extract's basemap, built once for the module."""
    target = tmp_path_factory.mktemp("helsinki") / "basemap.pmtiles"
    places.build_basemap(demo_extract(), target)
    return target


@pytest.fixture
def instance(app: Flask, tmp_path: Path) -> Path:
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    return Path(app.instance_path)


@pytest.fixture
def loaded(app: Flask, instance: Path, helsinki: Path) -> Path:
    """The Helsinki basemap as the loaded region's."""
    basemap_path().parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(helsinki, basemap_path())
    return basemap_path()


class Got:
    """A response read whole and closed (a file response keeps its file open until then)."""

    def __init__(self, client: FlaskClient, url: str, **headers: str) -> None:
        with client.get(url, headers=headers) as r:
            self.status_code, self.headers, self.data = r.status_code, r.headers, r.data


def url_of(html: str) -> str:
    found = re.search(r'/region/basemap\.pmtiles\?v=[0-9a-f-]+', html)
    assert found, "the page names the basemap"
    return found.group(0)


def test_region_load_builds_the_basemap(app: Flask, instance: Path) -> None:
    out = app.test_cli_runner().invoke(args=["region", "load", str(TOWN)])
    assert out.exit_code == 0, out.output
    assert "Basemap: 13 tiles z4-z15" in out.output
    header = Reader(MemorySource(basemap_path().read_bytes())).header()
    assert header["max_zoom"] == 15
    # a region loaded before basemaps existed gets one from `make run`'s --if-missing
    basemap_path().unlink()
    out = app.test_cli_runner().invoke(args=["region", "load", str(TOWN), "--if-missing"])
    assert out.exit_code == 0 and "Basemap:" in out.output and basemap_path().is_file()
    out = app.test_cli_runner().invoke(args=["region", "load", str(TOWN), "--if-missing"])
    assert "already loaded" in out.output


def test_range_requests_behind_login(client: FlaskClient, auth: AuthActions, world: World,
                                     loaded: Path) -> None:
    size = loaded.stat().st_size
    assert client.get("/region/basemap.pmtiles").status_code in (302, 401)  # login first
    auth.login("west@example.com")
    page = client.get("/app/").get_data(as_text=True)
    assert "basemap" in page
    r = Got(client, "/region/basemap.pmtiles", Range="bytes=0-126")
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 0-126/{size}"
    assert r.headers["Content-Length"] == "127" and r.data[:7] == b"PMTiles"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Type"] == "application/vnd.pmtiles"
    etag = r.headers["ETag"]
    assert etag and r.headers["Last-Modified"]
    assert r.headers["Cache-Control"] == "private, no-cache"  # no version in the URL
    # a middle range is the file's own bytes
    r = Got(client, "/region/basemap.pmtiles", Range="bytes=1000-1999")
    assert r.status_code == 206 and r.data == loaded.read_bytes()[1000:2000]
    # revalidation and past the end
    assert Got(client, "/region/basemap.pmtiles", **{"If-None-Match": etag}).status_code == 304
    r = Got(client, "/region/basemap.pmtiles", Range=f"bytes={size}-")
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"


def test_every_map_draws_the_vector_basemap(client: FlaskClient, auth: AuthActions, world: World,
                                            loaded: Path) -> None:
    auth.login("manager@example.com")
    html = client.get("/maps/territories").get_data(as_text=True)
    assert "vendor/protomaps-leaflet/protomaps-leaflet.js" in html
    assert "protomapsL.leafletLayer(" in html and '"flavor": "light"' in html
    assert "OpenStreetMap" in html and "contributors" in html
    url = url_of(html)
    r = Got(client, url, Range="bytes=0-126")
    assert r.status_code == 206 and r.headers["Cache-Control"].startswith("private, max-age=")
    html = client.get(f"/accounts/{world.west_accounts[0].id}").get_data(as_text=True)
    assert "protomapsL.leafletLayer(" in html  # Account 360


def test_newer_region_is_a_new_url(client: FlaskClient, auth: AuthActions, world: World,
                                   loaded: Path, app: Flask) -> None:
    auth.login("manager@example.com")
    first = url_of(client.get("/maps/territories").get_data(as_text=True))
    places.build_basemap(TOWN, loaded)  # replaced atomically by a newer load
    second = url_of(client.get("/maps/territories").get_data(as_text=True))
    assert first != second
    r = Got(client, first, Range="bytes=0-126")
    assert r.headers["Cache-Control"] == "private, no-cache"  # an old URL must revalidate


def test_raster_setting_and_company_file(app: Flask, client: FlaskClient, auth: AuthActions,
                                         world: World, instance: Path, helsinki: Path,
                                         tmp_path: Path) -> None:
    auth.login("manager@example.com")
    # no region, no file: the raster URL (empty in tests) and no basemap route
    html = client.get("/maps/territories").get_data(as_text=True)
    assert "protomapsL" not in html
    assert client.get("/region/basemap.pmtiles").status_code == 404
    company = tmp_path / "company.pmtiles"
    shutil.copy(helsinki, company)
    app.config["GEOCRM_BASEMAP_FILE"] = str(company)
    html = client.get("/maps/territories").get_data(as_text=True)
    assert "protomapsL.leafletLayer(" in html
    assert Got(client, "/region/basemap.pmtiles").data == company.read_bytes()
    app.config["GEOCRM_BASEMAP"] = "raster"
    app.config["GEOCRM_TILE_URL"] = "https://tiles.example.com/{z}/{x}/{y}.png"
    html = client.get("/maps/territories").get_data(as_text=True)
    assert "protomapsL" not in html and "tiles.example.com" in html
    assert client.get("/region/basemap.pmtiles").status_code == 404


def test_field_app_keeps_the_reps_part_within_the_budget(
        app: Flask, client: FlaskClient, auth: AuthActions, world: World, loaded: Path) -> None:
    auth.login("west@example.com")
    whole = loaded.stat().st_size
    page = client.get("/app/").get_data(as_text=True)
    assert "/region/basemap/offline.pmtiles?v=" in page
    r = Got(client, "/region/basemap/offline.pmtiles")
    assert r.status_code == 200 and len(r.data) == whole  # fits the default budget: whole
    sw = client.get("/sw.js").get_data(as_text=True)
    assert '"basemapPath": "/region/basemap/offline.pmtiles"' in sw
    assert "/static/vendor/protomaps-leaflet/protomaps-leaflet.js" in sw  # precached

    budget = whole // 2
    app.config["GEOCRM_BASEMAP_OFFLINE_MB"] = budget / 1e6
    r = Got(client, "/region/basemap/offline.pmtiles")
    assert r.status_code == 200 and len(r.data) <= budget + 16_384 and len(r.data) < whole
    meta: dict[str, Any] = Reader(MemorySource(r.data)).metadata()["geocrm_offline"]
    assert meta["budget_bytes"] == budget
    assert meta["territory_max_zoom"] >= meta["region_max_zoom"]
    r = Got(client, "/region/basemap/offline.pmtiles", Range="bytes=0-126")
    assert r.status_code == 206 and r.data[:7] == b"PMTiles"


def test_labels_follow_the_page_language(client: FlaskClient, auth: AuthActions, world: World,
                                         loaded: Path) -> None:
    """The basemap layer gets the page's language: protomaps-leaflet then labels with
    ``name:ko`` / ``name:ja`` / ``name:en``, falling back to ``name`` (the vendored build's
    label rules are checked, so an upgrade that drops this fails here)."""
    auth.login("manager@example.com")
    for lang in ("ko", "ja", "en"):
        html = client.get("/maps/territories",
                          headers={"Accept-Language": lang}).get_data(as_text=True)
        assert f'"lang": "{lang}"' in html, lang
    vendored = (Path(__file__).parents[3] / "geocrm" / "static" / "vendor" / "protomaps-leaflet"
                / "protomaps-leaflet.js")
    if not vendored.exists():
        pytest.skip("the vendored map assets are not installed (make assets)")
    rules = vendored.read_text(encoding="utf-8")
    assert re.search(r'\[`name:\$\{\w+\}`,\s*"name"\]', rules), "labels: name:<lang>, then name"
