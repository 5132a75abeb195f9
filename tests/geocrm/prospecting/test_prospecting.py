"""Look-alikes and adding them (issue 16): the import's duplicate rule in every script, the
area (territory, radius, drawn polygon), the user's scope, owners, hours, nothing doubled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from geocrm.extensions import db
from geocrm.models import Account, AuditEntry, Stage
from geocrm.models.provenance import SourceRecord
from tests.conftest import AuthActions
from tests.factories import World
from tests.geocrm.prospecting.fixtures import known_accounts, load_town

NEW = {"node/6", "node/7", "node/9", "node/10", "node/11", "way/500"}


@pytest.fixture
def town(app: Flask, world: World, tmp_path: Path) -> World:
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    load_town(app, tmp_path)
    known_accounts(world)
    return world


def _search(client: FlaskClient, area: dict[str, Any] | None = None, **extra: Any) -> Any:
    response = client.post("/prospecting/search.json", json={"area": area or {}, **extra},
                           headers={"Accept": "application/json"})
    return response


def _refs(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [c["ref"] for c in response.get_json()["candidates"]]


def test_look_alikes_leave_out_what_the_crm_has_in_every_script(
        client: FlaskClient, auth: AuthActions, town: World) -> None:
    auth.login("admin@example.com")
    refs = _refs(_search(client))
    # node/1 (a hand-made account, Latin, other case), node/2 (accents and a legal form),
    # node/3 (Korean ㈜), node/4 (Japanese half-width), node/5 (its external id) are known;
    # node/8 is an office, a kind no customer is.
    assert set(refs) == NEW
    assert refs.index("node/6") < refs.index("node/9")  # nearer to a customer first
    body = _search(client).get_json()
    assert body["customers"] == 2
    assert body["known"] >= 5
    first = body["candidates"][0]
    assert first["ref"] == "node/6" and first["distance_m"] < 200
    assert first["hours"] == "Mo-Fr 08:00-16:00"
    assert "Mannerheimintie 3" in first["address"]
    ko = next(c for c in body["candidates"] if c["ref"] == "node/10")
    assert ko["name"] == "뚜레쥬르" and ko["names"]["en"] == "Tous les Jours"
    assert "OpenStreetMap" in body["attribution"]


def test_areas_and_scope(client: FlaskClient, auth: AuthActions, town: World) -> None:
    auth.login("manager@example.com")
    assert set(_refs(_search(client, {"territory": town.east.id}))) == {"node/7", "node/10"}
    near = _refs(_search(client, {"lat": 60.1603, "lon": 24.9106, "radius_m": 150}))
    assert near == ["node/6"]
    drawn = {"type": "Polygon", "coordinates": [[[24.945, 60.195], [24.95, 60.195],
                                                  [24.95, 60.2], [24.945, 60.2],
                                                  [24.945, 60.195]]]}
    assert _refs(_search(client, {"polygon": drawn})) == ["node/9"]
    bad = _search(client, {"polygon": {"type": "Point", "coordinates": [1, 2]}})
    assert bad.status_code == 422 and "polygon" in bad.get_json()["detail"]
    bad = _search(client, {"lat": 60.16, "lon": 24.91, "radius_m": "far"})
    assert bad.status_code == 422 and "radius_m" in bad.get_json()["detail"]
    auth.logout()
    auth.login("west@example.com")  # a rep: their territory only, whatever the area asks
    assert set(_refs(_search(client))) == {"node/6", "node/9", "node/11", "way/500"}
    assert _search(client, {"territory": town.east.id}).status_code == 404


def test_add_in_bulk_assigns_and_doubles_nothing(client: FlaskClient, auth: AuthActions,
                                                 town: World, app: Flask) -> None:
    auth.login("manager@example.com")
    before = db.session.scalar(select(func.count(Account.id)))
    response = client.post("/prospecting/add", json={"places": ["node/6", "node/7", "node/11"]},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["added"] == 3 and body["skipped"] == []
    assert body["leftOut"] == [{"ref": "node/11", "field": "opening_hours",
                                "reason": body["leftOut"][0]["reason"]}]
    db.session.expire_all()
    accounts = {a.external_id: a for a in db.session.scalars(
        select(Account).where(Account.id.in_(body["accounts"])))}
    uusi, ita, yama = accounts["node/6"], accounts["node/7"], accounts["node/11"]
    assert uusi.source == "osm" and uusi.stage == Stage.PROSPECT
    assert (uusi.territory_id, uusi.owner_id) == (town.west.id, town.rep_west.id)
    assert (ita.territory_id, ita.owner_id) == (town.east.id, town.rep_east.id)
    assert uusi.opening_hours == "Mo-Fr 08:00-16:00" and uusi.category == "cafe"
    assert uusi.phone == "+358 9 555 0101" and uusi.postcode == "00100"
    assert yama.name == "喫茶 山" and yama.opening_hours is None
    assert db.session.scalar(select(func.count(SourceRecord.id)).where(
        SourceRecord.account_id == uusi.id, SourceRecord.source == "osm")) == 1
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.entity == "account", AuditEntry.entity_id == uusi.id)) >= 1
    # Twice, and with known places: nothing doubled, each one said.
    again = client.post("/prospecting/add", json={"places": ["node/6", "node/2", "node/3"]},
                        headers={"Accept": "application/json"}).get_json()
    assert again["added"] == 0
    assert [s["ref"] for s in again["skipped"]] == ["node/6", "node/2", "node/3"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Account.id))) == before + 3
    assert not {"node/6", "node/7", "node/11"} & set(_refs(_search(client)))
    # A chosen owner must be a rep of the manager's team.
    chosen = client.post("/prospecting/add", json={"places": ["node/10"],
                                                   "owner": town.rep_west.id},
                         headers={"Accept": "application/json"}).get_json()
    db.session.expire_all()
    assert db.session.get(Account, chosen["accounts"][0]).owner_id == town.rep_west.id
    refused = client.post("/prospecting/add", json={"places": ["node/9"],
                                                    "owner": town.admin.id},
                          headers={"Accept": "application/json"})
    assert refused.status_code == 422 and "owner" in refused.get_json()["detail"]
    unknown = client.post("/prospecting/add", json={"places": ["node/999"]},
                          headers={"Accept": "application/json"})
    assert unknown.status_code == 422 and "node/999" in unknown.get_json()["detail"]


def test_a_rep_adds_only_in_their_territories(client: FlaskClient, auth: AuthActions,
                                              town: World) -> None:
    auth.login("west@example.com")
    refused = client.post("/prospecting/add", json={"places": ["node/7"]},
                          headers={"Accept": "application/json"})
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Account.id)).where(
        Account.external_id == "node/7")) == 0
    ok = client.post("/prospecting/add", json={"places": ["node/9"]},
                     headers={"Accept": "application/json"}).get_json()
    db.session.expire_all()
    assert db.session.get(Account, ok["accounts"][0]).owner_id == town.rep_west.id


def test_segment_profile_and_page(client: FlaskClient, auth: AuthActions, town: World) -> None:
    auth.login("admin@example.com")
    page = client.get("/prospecting/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "OpenStreetMap" in text and "ODbL" in text
    assert _search(client, segment="x").status_code == 422


def test_without_a_region(client: FlaskClient, auth: AuthActions, world: World, app: Flask,
                          tmp_path: Path) -> None:
    app.instance_path = str(tmp_path / "empty")
    auth.login("admin@example.com")
    response = _search(client)
    assert response.status_code == 422 and "region" in response.get_json()["detail"]
    assert client.get("/prospecting/").status_code == 200


def test_a_segment_sets_what_look_alike_means(client: FlaskClient, auth: AuthActions,
                                              town: World) -> None:
    """A segment of the leads (the bakery lead in East, the cafés known in West) instead of
    the customers: its categories and places weigh, the customers' do not."""
    from geocrm.models.crm import Segment

    lead = db.session.get(Account, town.east_accounts[0].id)  # Itä Bakery, a lead in East
    lead.category = "bakery"
    segment = Segment(name="Leads", filters={"stages": ["lead"],
                                             "territory_ids": [town.east.id]},
                      created_by_id=town.admin.id, shared=True)
    db.session.add(segment)
    db.session.commit()
    auth.login("admin@example.com")
    body = _search(client, segment=segment.id).get_json()
    refs = {c["ref"] for c in body["candidates"]}
    assert refs == {"node/7", "node/10"}  # bakeries only: no segment account is a café
    assert body["categories"] == {"bakery": 1}
    missing = _search(client, segment=99999)
    assert missing.status_code == 404
