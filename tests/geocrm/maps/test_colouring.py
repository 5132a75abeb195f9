"""Readable maps (issue 13): territory names at interior points, markers coloured by stage,
owner, territory, last-visit age, value or a custom field, with a legend; scoping and bad
input as everywhere else on the map."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import shapely
from flask.testing import FlaskClient

from geocrm.colours import AGE, NO_VALUE_COLOUR, STAGE_COLOURS
from geocrm.extensions import db
from geocrm.models import Role, utcnow
from territories.labels import label_point
from tests.conftest import PASSWORD, AuthActions
from tests.factories import World, make_account, make_territory, make_user

PAGE = "/maps/territories"
POINTS = "/maps/territories/points.json"
JSON = {"Accept": "application/json"}


def page_data(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="geocrm-data">(.*?)</script>', html,
                      re.S)
    assert found
    return json.loads(found.group(1))


def colours(client: FlaskClient, by: str) -> tuple[dict[int, dict[str, str]], dict[str, Any]]:
    """account id -> its legend entry, and the whole payload."""
    response = client.get(f"{POINTS}?colour={by}", headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["colourBy"] == by
    ids = list(itertools.accumulate(data["id"]))
    assert len(data["colour"]) == len(ids)
    return {i: data["legend"][c] for i, c in zip(ids, data["colour"], strict=True)}, data


def test_label_point_is_inside_even_for_a_u_shape() -> None:
    """The centroid of a U lies in its gap; the label must sit on the territory."""
    u = shapely.Polygon([(0, 0), (10, 0), (10, 10), (8, 10), (8, 2), (2, 2), (2, 10), (0, 10)])
    assert not u.contains(u.centroid)
    lat, lon = label_point(u)  # type: ignore[misc]
    assert u.contains(shapely.Point(lon, lat))
    parts = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 9, 9)])
    lat, lon = label_point(parts)  # type: ignore[misc]
    assert shapely.box(5, 5, 9, 9).contains(shapely.Point(lon, lat)), "on the largest part"
    assert label_point(shapely.Polygon()) is None
    assert label_point(shapely.LineString([(0, 0), (1, 1)])) is None


def test_territory_names_travel_as_data_at_interior_points(
        client: FlaskClient, auth: AuthActions, world: World) -> None:
    """Each territory's name and where it goes are in the page data (text, not HTML)."""
    world.west.name = "West <b>side</b>"
    db.session.commit()
    auth.login("manager@example.com")
    html = client.get(PAGE).get_data(as_text=True)
    labels = {item["key"]: item for item in page_data(html)["leaflet"]["labels"]}
    assert set(labels) == {str(world.west.id), str(world.east.id)}
    west = labels[str(world.west.id)]
    assert west["name"] == "West <b>side</b>"
    assert world.west.geom.contains(shapely.Point(west["lon"], west["lat"]))
    assert "<b>side</b>" not in html.replace("\\u003c", "<").split("geocrm-data")[0]


def test_default_colouring_is_by_stage_from_one_palette(
        client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("manager@example.com")
    by_id, data = colours(client, "stage")
    assert [e["colour"] for e in data["legend"]] == list(STAGE_COLOURS.values())
    assert by_id[world.west_accounts[0].id]["colour"] == STAGE_COLOURS["customer"]
    assert by_id[world.east_accounts[0].id]["colour"] == STAGE_COLOURS["lead"]
    # no colour parameter: still stage
    default = client.get(POINTS, headers=JSON).get_json()
    assert default["colourBy"] == "stage" and default["colour"] == data["colour"]


def test_colour_by_territory_and_owner(client: FlaskClient, auth: AuthActions,
                                       world: World) -> None:
    world.west_accounts[0].owner_id = world.rep_west.id
    world.east_accounts[0].owner_id = world.rep_east.id
    db.session.commit()
    auth.login("manager@example.com")
    by_id, _ = colours(client, "territory")
    assert by_id[world.west_accounts[1].id] == {"label": "West", "colour": "#1f77b4"}
    assert by_id[world.east_accounts[1].id] == {"label": "East", "colour": "#ff7f0e"}
    assert by_id[world.unassigned.id]["colour"] == NO_VALUE_COLOUR
    by_id, data = colours(client, "owner")
    assert by_id[world.west_accounts[0].id]["label"] == world.rep_west.name
    assert by_id[world.east_accounts[0].id]["label"] == world.rep_east.name
    assert by_id[world.west_accounts[0].id]["colour"] != by_id[world.east_accounts[0].id][
        "colour"]
    assert by_id[world.unassigned.id]["colour"] == NO_VALUE_COLOUR
    assert len(data["legend"]) == 3


def test_colour_by_last_visit_age(client: FlaskClient, auth: AuthActions, world: World) -> None:
    now = utcnow()
    world.west_accounts[0].last_visit_at = now - timedelta(days=2)
    world.west_accounts[1].last_visit_at = now - timedelta(days=45)
    world.east_accounts[0].last_visit_at = now - timedelta(days=400)
    db.session.commit()
    auth.login("manager@example.com")
    by_id, _ = colours(client, "visit_age")
    assert by_id[world.west_accounts[0].id]["colour"] == AGE[0]
    assert by_id[world.west_accounts[1].id]["colour"] == AGE[2]
    assert by_id[world.east_accounts[0].id]["colour"] == AGE[4]
    assert by_id[world.east_accounts[1].id]["colour"] == NO_VALUE_COLOUR


def test_colour_by_value_in_steps_low_to_high(client: FlaskClient, auth: AuthActions,
                                              world: World) -> None:
    values = [Decimal("100"), Decimal("2000"), Decimal("50000")]
    for account, value in zip([*world.west_accounts, world.east_accounts[0]], values,
                              strict=False):
        account.value = value
    db.session.commit()
    auth.login("manager@example.com")
    by_id, data = colours(client, "value")
    low = by_id[world.west_accounts[0].id]
    high = by_id[world.east_accounts[0].id]
    order = [e["colour"] for e in data["legend"]]
    assert order.index(low["colour"]) < order.index(high["colour"])
    assert by_id[world.east_accounts[1].id]["colour"] == NO_VALUE_COLOUR
    assert "50,000" in high["label"]


def test_colour_by_custom_field_offered_and_escaped(client: FlaskClient, auth: AuthActions,
                                                     world: World) -> None:
    world.west_accounts[0].custom_fields = {"segment": "<img src=x onerror=alert(1)>"}
    world.west_accounts[1].custom_fields = {"segment": "Retail", "size": 3}
    world.east_accounts[0].custom_fields = {"segment": "Retail", "size": 12}
    db.session.commit()
    auth.login("manager@example.com")
    html = client.get(PAGE).get_data(as_text=True)
    assert 'value="custom:segment"' in html and 'value="custom:size"' in html
    by_id, data = colours(client, "custom:segment")
    assert by_id[world.west_accounts[1].id]["label"] == "Retail"
    assert by_id[world.west_accounts[0].id]["label"] == "<img src=x onerror=alert(1)>"
    assert by_id[world.east_accounts[1].id]["colour"] == NO_VALUE_COLOUR
    by_id, _ = colours(client, "custom:size")  # numbers: steps, not categories
    assert by_id[world.west_accounts[1].id]["colour"] != by_id[world.east_accounts[0].id][
        "colour"]


def test_bad_colouring_is_422_and_fields_are_scoped(client: FlaskClient, auth: AuthActions,
                                                    world: World) -> None:
    """A colouring the selector could not offer (unknown, or a field only on accounts the
    user cannot see) is refused naming the parameter."""
    boss = make_user("north-boss@example.com", Role.MANAGER, PASSWORD)
    north = make_territory("North", shapely.box(24.90, 60.20, 25.00, 60.25), manager_id=boss.id)
    make_account("Secret Oy", 60.22, 24.95, territory_id=north.id,
                 custom_fields={"secret_field": "x"})
    db.session.commit()
    auth.login("manager@example.com")
    for value in ("shoe_size", "custom:secret_field", "custom:"):
        response = client.get(f"{POINTS}?colour={value}", headers=JSON)
        assert response.status_code == 422, value
        assert "colour" in response.get_data(as_text=True)
    assert "secret_field" not in client.get(PAGE).get_data(as_text=True)


def test_editor_data_and_preview_maps_carry_names_inside(
        client: FlaskClient, auth: AuthActions, world: World) -> None:
    """The territory editor's data gives each territory its label point; a preview map
    (import, balance) writes each named feature's name escaped at an interior point."""
    from geocrm.maps.build import Tiles, render_parts
    from geocrm.territory_admin.maps import EditorAssets, PreviewLayer, build_preview_map

    auth.login("manager@example.com")
    data = client.get("/territories/data.json", headers=JSON).get_json()
    for feature in data["territories"]["features"]:
        lat, lon = feature["properties"]["label"]
        assert shapely.geometry.shape(feature["geometry"]).contains(shapely.Point(lon, lat))
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(24.9, 60.1, 25, 60.2)),
         "properties": {"name": "<img src=x onerror=alert(1)>"}}]}
    assets = EditorAssets("/l.js", "/l.css", "/d.js", "/d.css")
    parts = render_parts(build_preview_map([PreviewLayer("File", fc, "#7c3aed")],
                                           ((60.1, 24.9), (60.2, 25.0)), assets=assets,
                                           tiles=Tiles()))
    assert "territory-label-text" in parts.script
    assert "\\u0026lt;img src=x" in parts.script  # escaped, then JSON-encoded
    assert "<img src=x" not in parts.script
