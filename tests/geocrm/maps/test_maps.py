"""The territory map: roles, scoping, filters, compact points, popups, escaping, no CDN."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import folium
import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient

from geocrm.extensions import db
from geocrm.maps.build import (
    MapAssets,
    Tiles,
    build_territory_map,
    leaflet_handles,
    render_parts,
)
from geocrm.maps.services import TerritoryLayer
from geocrm.models import Account, Role, Stage, Territory, User
from tests.conftest import PASSWORD, AuthActions
from tests.factories import World, make_account, make_territory, make_user

PAGE = "/maps/territories"
POINTS = "/maps/territories/points.json"
JSON = {"Accept": "application/json"}
URL = re.compile(r"https?://[^\s\"'<>)\\]+")
# URLs that occur in the vendored Leaflet files but are never fetched: the SVG namespace
# identifier and the "Leaflet" credit link in the attribution control.
NOT_FETCHED = {"http://www.w3.org/2000/svg", "https://leafletjs.com"}


@dataclass
class North:
    """A second manager with their own territory and account, invisible to the world's manager."""

    manager: User
    territory: Territory
    account: Account


@pytest.fixture
def north(world: World) -> North:
    boss = make_user("north-boss@example.com", Role.MANAGER, PASSWORD)
    territory = make_territory(
        "North", shapely.box(24.90, 60.20, 25.00, 60.25), color="#2ca02c", manager_id=boss.id
    )
    account = make_account("Pohjola Oy", 60.22, 24.95, territory_id=territory.id)
    db.session.commit()
    return North(boss, territory, account)


def page_data(html: str) -> Any:
    """The page's data block (templates/_page_data.html), parsed."""
    block = r'<script type="application/json" id="geocrm-data">(.*?)</script>'
    found = re.search(block, html, re.S)
    assert found, "no page data block"
    return json.loads(found.group(1))


def point_ids(client: FlaskClient, query: str = "") -> list[int]:
    """Decode the delta-encoded ids of the points endpoint."""
    response = client.get(POINTS + query, headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["count"] == len(data["id"]) == len(data["lat"]) == len(data["territory"])
    return list(itertools.accumulate(data["id"]))


def test_rep_is_forbidden_everywhere(client: FlaskClient, auth: AuthActions, world: World) -> None:
    """Reps work accounts, they do not get the manager's map, its data or its popups."""
    auth.login("west@example.com")
    assert client.get(PAGE).status_code == 403
    assert client.get(POINTS, headers=JSON).status_code == 403
    popup = f"/maps/accounts/{world.west_accounts[0].id}/popup.json"
    assert client.get(popup, headers=JSON).status_code == 403


def test_anonymous_is_sent_to_login(client: FlaskClient, world: World) -> None:
    """Nobody sees the map without logging in."""
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get(POINTS, headers=JSON).status_code in (302, 401)


def test_manager_sees_own_territories_and_unassigned(
    client: FlaskClient, auth: AuthActions, world: World, north: North
) -> None:
    """A manager's page and points cover their territories and the unassigned accounts only."""
    auth.login("manager@example.com")
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "West" in html and "East" in html
    assert "North" not in html
    assert 'class="folium-map"' in html and "<iframe" not in html
    handles = page_data(html)["leaflet"]
    assert set(handles["layers"]) == {str(t.id) for t in (world.west, world.east)} | {"unassigned"}
    assert all(f"var {name} = " in html for name in [handles["map"], *handles["layers"].values()])
    expected = sorted(a.id for a in world.west_accounts + world.east_accounts) + [
        world.unassigned.id
    ]
    assert sorted(point_ids(client)) == sorted(expected)
    assert north.account.id not in point_ids(client)


def test_other_manager_cannot_reach_foreign_points(
    client: FlaskClient, auth: AuthActions, world: World, north: North
) -> None:
    """The data endpoint is scoped: North's manager gets North and unassigned, nothing else,
    and cannot widen it by naming the world's territory."""
    auth.login("north-boss@example.com")
    assert sorted(point_ids(client)) == sorted([north.account.id, world.unassigned.id])
    response = client.get(f"{POINTS}?territory={world.west.id}", headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["field"] == "territory"


def test_points_are_compact_columns(client: FlaskClient, auth: AuthActions, world: World) -> None:
    """Points travel as columnar integer arrays, not as markers or names."""
    auth.login("admin@example.com")
    response = client.get(POINTS, headers=JSON)
    data = response.get_json()
    assert data["stages"] == [s.value for s in Stage]
    first = world.west_accounts[0]
    ids = list(itertools.accumulate(data["id"]))
    i = ids.index(first.id)
    assert data["lat"][i] == round(first.lat * data["scale"])
    assert data["lon"][i] == round(first.lon * data["scale"])
    assert data["stages"][data["stage"][i]] == first.stage.value
    assert data["territory"][i] == world.west.id
    assert data["territory"][ids.index(world.unassigned.id)] == 0
    assert b"Kahvila" not in response.data  # names come lazily with the popup


def test_filters_by_stage_territory_owner(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """Stage, territory, owner and unassigned filters narrow the points and stay in the data URL."""
    kahvila, kirja = world.west_accounts
    kahvila.owner_id = world.rep_west.id
    db.session.commit()
    auth.login("manager@example.com")
    customers = {
        a.id for a in world.west_accounts + world.east_accounts if a.stage.value == "customer"
    }
    assert set(point_ids(client, "?stage=customer")) == customers
    assert set(point_ids(client, "?stage=lead&stage=prospect")) == {
        kirja.id,
        world.east_accounts[0].id,
        world.unassigned.id,
    }
    assert set(point_ids(client, f"?territory={world.west.id}")) == {kahvila.id, kirja.id}
    assert set(point_ids(client, f"?owner={world.rep_west.id}")) == {kahvila.id}
    assert set(point_ids(client, "?unassigned=1")) == {world.unassigned.id}
    assert point_ids(client, "?stage=lost") == []
    html = client.get(f"{PAGE}?stage=customer&territory={world.west.id}").get_data(as_text=True)
    assert f"/maps/territories/points.json?stage=customer\\u0026territory={world.west.id}" in html
    # Only the chosen territory is drawn.
    assert list(page_data(html)["leaflet"]["layers"]) == [str(world.west.id)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("stage=bogus", "stage"),
        ("territory=abc", "territory"),
        ("territory=999999", "territory"),
        ("owner=x", "owner"),
        ("owner=999999", "owner"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: FlaskClient, auth: AuthActions, world: World, query: str, field: str
) -> None:
    """A filter value the form could not have offered is rejected, naming the field."""
    auth.login("manager@example.com")
    page = client.get(f"{PAGE}?{query}")
    assert page.status_code == 422
    assert field in page.get_data(as_text=True)
    data = client.get(f"{POINTS}?{query}", headers=JSON)
    assert data.status_code == 422
    assert data.get_json()["field"] == field


def test_map_opens_on_accounts_when_no_territory_is_drawn(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """With only unassigned accounts asked for, no territory is drawn and the map opens
    around those accounts."""
    auth.login("planner@example.com")
    html = client.get(f"{PAGE}?unassigned=1").get_data(as_text=True)
    layers = page_data(html)["leaflet"]["layers"]
    assert list(layers) == ["unassigned"] and layers["unassigned"].startswith("feature_group_")
    assert "[[61.0, 26.0], [61.0, 26.0]]" in html
    assert "No territories to show." in html


def test_popup_details_and_404_for_invisible(
    client: FlaskClient, auth: AuthActions, world: World, north: North
) -> None:
    """Popups give name, stage and last visit; accounts outside the user's scope are 404."""
    auth.login("manager@example.com")
    ok = client.get(f"/maps/accounts/{world.east_accounts[1].id}/popup.json", headers=JSON)
    assert ok.status_code == 200
    assert ok.get_json() == {
        "id": world.east_accounts[1].id,
        "name": "<script>alert(1)</script> Oy",
        "stage": "customer",
        "last_visit": None,
        "territory": "East",
        "location": None,  # no location source recorded (where the pin came from)
        "low_confidence": False,
    }
    hidden = client.get(f"/maps/accounts/{north.account.id}/popup.json", headers=JSON)
    assert hidden.status_code == 404
    assert client.get("/maps/accounts/999999/popup.json", headers=JSON).status_code == 404


def test_user_text_is_escaped(client: FlaskClient, auth: AuthActions, world: World) -> None:
    """Territory names reach the page escaped (legend, layer control); account names not at all."""
    world.west.name = "<b>West</b> & co"
    db.session.commit()
    auth.login("manager@example.com")
    html = client.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "<b>West</b>" not in html
    assert "&lt;b&gt;West&lt;/b&gt; &amp; co" in html  # legend, by Jinja
    # Layer control label: escaped for Leaflet's innerHTML, then JSON-encoded by folium.
    assert "\\u0026lt;b\\u0026gt;West\\u0026lt;/b\\u0026gt; \\u0026amp; co" in html


def _urls(text: str) -> set[str]:
    return {u.rstrip(".,;") for u in URL.findall(text)}


def _strip_css_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def _referenced_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_no_external_hosts_without_tiles(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """With no tile URL the page, and every JS/CSS file it references, names no external host."""
    auth.login("manager@example.com")
    html = client.get(PAGE).get_data(as_text=True)
    assert _urls(html) == set()
    assets = _referenced_assets(html)
    assert any(a.endswith("leaflet/leaflet.js") for a in assets)
    assert any(a.endswith("leaflet.markercluster.js") for a in assets)
    assert any(a.endswith("js/territory_map.js") for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = response.get_data(as_text=True)
        response.close()
        if asset.endswith(".css"):
            body = _strip_css_comments(body)
            assert "url(http" not in body and "@import" not in body, asset
        assert _urls(body) <= NOT_FETCHED, (asset, _urls(body) - NOT_FETCHED)


@pytest.fixture
def tiled_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(
        GEOCRM_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png",
        GEOCRM_TILE_ATTRIBUTION='&copy; <a href="https://example.org/copyright">Example</a>',
    )
    return app_config


def test_only_the_tile_url_is_external(
    tiled_config: dict[str, Any], client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """With tiles configured, the tile URL and its attribution link are the only external URLs."""
    auth.login("manager@example.com")
    html = client.get(PAGE).get_data(as_text=True)
    assert _urls(html) == {
        "https://tiles.example.org/{z}/{x}/{y}.png",
        "https://example.org/copyright",
    }


def test_folium_class_defaults_are_not_mutated(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """Rendering our map leaves folium's shared class-level asset lists alone."""
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    auth.login("admin@example.com")
    assert client.get(PAGE).status_code == 200
    assert (folium.Map.default_js, folium.Map.default_css) == before


def test_builder_is_pure_and_uses_given_assets(app: Flask) -> None:
    """The builder takes plain values, uses the given asset URLs and drops folium's page CSS."""
    layer = TerritoryLayer(
        7, "A<i>", "#123456", shapely.geometry.mapping(shapely.box(0, 0, 1, 1)), ((0, 0), (1, 1))
    )
    assets = MapAssets("/l.js", "/l.css", "/mc.js", "/mc.css", "/mcd.css")
    fmap = build_territory_map([layer], ((0, 0), (1, 1)), assets=assets, tiles=Tiles())
    parts = render_parts(fmap)
    assert '<script src="/l.js"></script>' in parts.header
    assert '<script src="/mc.js"></script>' in parts.header
    assert "html, body" not in parts.header and "user-scalable" not in parts.header
    assert "tileLayer" not in parts.script
    handles = leaflet_handles(fmap)
    assert f"var {handles['layers']['7']} = " in parts.script and "window." not in parts.script
    assert "A\\u0026lt;i\\u0026gt;" in parts.script
    assert _urls(parts.header + parts.html + parts.script) == set()
