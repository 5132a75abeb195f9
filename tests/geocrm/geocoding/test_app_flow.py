"""Geocoding through the app's doors, on both database engines: the web import queues the job
and its page shows the progress, the geocoding page, the field app's reverse look-up (position
in the body) and "add account here", the map's low-confidence markers and popups, and the
verified check-in that offers to correct a low-confidence pin."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from geocrm.core.account_filters import AccountFilters
from geocrm.crm.account360 import correct_pin_from_checkin
from geocrm.crm.services import pin_suggestion
from geocrm.extensions import db
from geocrm.jobs import wait_for_job
from geocrm.maps.services import map_points, popup_details
from geocrm.models import Account
from geocrm.models.geocoding import AccountGeocode
from geocrm.models.planning import Job
from tests.conftest import AuthActions
from tests.factories import World, make_account, make_interaction
from tests.geocode_fakes import FakeGeocodeServer

CSV = """Company,Address,Postcode,City
Kahvila Kulma,Aleksanterinkatu 52,00100,Helsinki
Kirjakauppa,Mannerheimintie 999,,Helsinki
Kukkakauppa,Nosuchstreet 4,,Atlantis
"""


@pytest.fixture
def fake() -> Iterator[FakeGeocodeServer]:
    server = FakeGeocodeServer("photon")
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], fake: FakeGeocodeServer) -> dict[str, Any]:
    app_config.update(GEOCRM_GEOCODER="photon", GEOCRM_GEOCODER_URL=fake.url,
                      GEOCRM_GEOCODER_RATE="1000", GEOCRM_GEOCODER_CACHE="off")
    return app_config


def test_web_import_geocodes_rows_without_coordinates(
        client: FlaskClient, auth: AuthActions, app: Flask, world: World) -> None:
    auth.login("manager@example.com")
    r = client.post("/imports/", data={"file": (io.BytesIO(CSV.encode()), "shops.csv"),
                                       "source": "erp"}, content_type="multipart/form-data")
    assert r.status_code == 302
    done = client.post(r.headers["Location"], data={
        "name": "Company", "address": "Address", "postcode": "Postcode", "city": "City"})
    assert done.status_code == 200, done.data[:500]
    page = done.get_data(as_text=True)
    assert 'id="import-geocoding"' in page
    job = db.session.scalars(select(Job).where(Job.kind == "geocode")).one()
    assert f"/geocoding/jobs/{job.id}" in page
    job = wait_for_job(job.id, timeout=30)
    assert job.status.value == "done", job.error
    assert job.result["placed"] == 2 and job.result["not_found"] == 1
    assert job.result["low_confidence"] == 1  # the unknown house number: the street only
    status = client.get(f"/geocoding/jobs/{job.id}")
    assert status.status_code == 200 and 'id="geocode-result"' in status.get_data(as_text=True)
    as_json = client.get(f"/geocoding/jobs/{job.id}", headers={"Accept": "application/json"})
    assert as_json.get_json()["result"]["placed"] == 2
    db.session.expire_all()
    kulma = db.session.scalars(select(Account).where(Account.name == "Kahvila Kulma")).one()
    assert kulma.location_source == "geocoder"
    assert (kulma.lat, kulma.lon) == pytest.approx((60.1685, 24.9419))
    # another manager's job is not visible; the overview page counts what is placed
    overview = client.get("/geocoding/").get_data(as_text=True)
    assert 'data-grade="exact"><td>exact address</td><td>1</td>' in overview
    assert 'data-grade="street"><td>street only</td><td>1</td>' in overview
    auth.logout()
    auth.login("west@example.com")
    assert client.get(f"/geocoding/jobs/{job.id}").status_code == 404
    assert client.get("/geocoding/").status_code == 403


def test_reverse_api_takes_the_position_from_the_body(
        client: FlaskClient, auth: AuthActions, app: Flask, world: World) -> None:
    auth.login("west@example.com")
    r = client.post("/api/v1/geocode/reverse", json={"lat": 60.16851, "lon": 24.94191})
    assert r.status_code == 200
    body = r.get_json()
    assert body["found"] is True and body["address"] == "Aleksanterinkatu 52"
    assert body["postcode"] == "00100" and body["city"] == "Helsinki"
    assert client.post("/api/v1/geocode/reverse",
                       json={"lat": 61.5, "lon": 25.5}).get_json() == {"found": False}
    bad = client.post("/api/v1/geocode/reverse", json={"lat": "60.1", "lon": 24.9})
    assert bad.status_code == 422 and "lat" in bad.get_data(as_text=True)
    assert client.post("/api/v1/geocode/reverse", json={"lat": 95, "lon": 24.9}).status_code == 422
    # never by URL: there is no GET
    assert client.get("/api/v1/geocode/reverse?lat=60.1&lon=24.9").status_code == 405


def test_reverse_api_reports_a_broken_engine(client: FlaskClient, auth: AuthActions, app: Flask,
                                             world: World, fake: FakeGeocodeServer) -> None:
    auth.login("west@example.com")
    fake.fail_status = 500
    r = client.post("/api/v1/geocode/reverse", json={"lat": 60.16851, "lon": 24.94191})
    assert r.status_code == 502 and "HTTP 500" in r.get_json()["detail"]


def test_add_account_here_fills_the_address_of_the_position(
        client: FlaskClient, auth: AuthActions, app: Flask, world: World) -> None:
    auth.login("west@example.com")
    r = client.post("/api/v1/accounts", json={
        "uuid": "3f1c7f5e-8d6b-4c1e-9a51-0d6c2a1f0001", "name": "Uusi kahvila",
        "lat": 60.16851, "lon": 24.94191, "accuracy": 8})
    assert r.status_code in (200, 201), r.get_data(as_text=True)
    db.session.expire_all()
    added = db.session.scalars(select(Account).where(Account.name == "Uusi kahvila")).one()
    assert added.address == "Aleksanterinkatu 52" and added.city == "Helsinki"
    assert (added.lat, added.lon) == (60.16851, 24.94191)  # the rep's position stays the pin
    assert added.location_source == "checkin"
    assert db.session.get(AccountGeocode, added.id) is None  # not re-geocoded from it
    # a typed address that is somewhere else is kept as typed
    client.post("/api/v1/accounts", json={
        "uuid": "3f1c7f5e-8d6b-4c1e-9a51-0d6c2a1f0002", "name": "Toinen",
        "address": "Bulevardi 5", "lat": 60.16851, "lon": 24.94191, "accuracy": 8})
    other = db.session.scalars(select(Account).where(Account.name == "Toinen")).one()
    assert other.address == "Bulevardi 5" and other.city is None


def test_map_draws_low_confidence_pins_hollow(app: Flask, world: World) -> None:
    street = make_account("Katu", 60.1720, 24.9410, location_source="geocoder",
                          location_confidence=0.4)
    db.session.add(AccountGeocode(account_id=street.id, status="placed", confidence="street"))
    db.session.commit()
    data = map_points(world.admin, AccountFilters())
    ids, acc = [], 0
    for step in data["id"]:
        acc += step
        ids.append(acc)
    assert [ids[i] for i in data["low"]] == [street.id]
    popup = popup_details(street.id, world.admin)
    assert popup["low_confidence"] is True and popup["location"] == "geocoder, street only"
    assert popup_details(world.west_accounts[0].id, world.admin)["low_confidence"] is False


def test_verified_checkin_offers_to_correct_a_low_confidence_pin(app: Flask,
                                                                  world: World) -> None:
    # a postcode-area pin 1.6 km from the shop, and an exact one equally far
    approx = make_account("Postinumero", 60.1700, 24.9440, territory_id=world.west.id,
                          location_source="geocoder", location_confidence=0.25)
    exact = make_account("Tarkka", 60.1700, 24.9440, territory_id=world.west.id,
                         location_source="geocoder", location_confidence=1.0)
    for account, lat in ((approx, 60.1700 + 0.03), (exact, 60.1700 + 0.03)):
        make_interaction(account, world.rep_west, checkin_lat=lat, checkin_lon=24.9440,
                         checkin_accuracy_m=10)
    # 3.3 km: too far for an exact pin (the rep was more likely at another account) ...
    assert pin_suggestion(exact, world.rep_west) is None
    # ... but an approximate pin may be off by that much: offered
    offer = pin_suggestion(approx, world.rep_west)
    assert offer is not None and offer.low_confidence and offer.offset_m > 3000
    # and even a check-in a few metres away upgrades it
    near = make_account("Lähellä", 60.1600, 24.9300, location_source="geocoder",
                        location_confidence=0.4)
    make_interaction(near, world.rep_west, checkin_lat=60.16005, checkin_lon=24.9300,
                     checkin_accuracy_m=10)
    assert pin_suggestion(near, world.admin) is not None
    # the existing correction loop accepts it, and the pin is now the check-in's
    moved = correct_pin_from_checkin(world.rep_west, approx.id, offer.interaction_id)
    assert moved.location_source == "checkin" and moved.lat == pytest.approx(60.2)
    assert pin_suggestion(moved, world.rep_west) is None


def test_api_import_geocodes_rows_without_coordinates(
        client: FlaskClient, app: Flask, world: World) -> None:
    """The API's import job follows a committed import with the same geocoding job as the
    upload page (imports.services.after_import), queued for the uploader once the import is
    committed; a dry run queues nothing."""
    from geocrm import jobs
    from geocrm.api.tokens import create_token

    _, token = create_token(world.manager, "test", scopes=("read", "write"))
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def upload(**form: str) -> dict[str, Any]:
        data = {"file": (io.BytesIO(CSV.encode()), "shops.csv"), "source": "erp",
                "mapping": '{"name": "Company", "address": "Address", "postcode": "Postcode",'
                           ' "city": "City"}', **form}
        r = client.post("/api/v1/imports", data=data, headers=headers,
                        content_type="multipart/form-data")
        assert r.status_code == 202, r.get_json()
        assert wait_for_job(r.get_json()["id"], timeout=60).status.value == "done"
        return client.get(f"/api/v1/imports/{r.get_json()['id']}", headers=headers).get_json()

    try:
        upload(dry_run="true")
        assert db.session.scalars(select(Job).where(Job.kind == "geocode")).first() is None
        done = upload()
        assert done["result"]["status"] == "committed", done
        job = db.session.scalars(select(Job).where(Job.kind == "geocode")).one()
        assert job.created_by_id == world.manager.id
        job = wait_for_job(job.id, timeout=30)
        assert job.status.value == "done", job.error
        assert job.result["placed"] == 2 and job.result["not_found"] == 1
    finally:
        jobs.drain(app, 30)


def test_api_bulk_upsert_geocodes_records_without_coordinates(
        client: FlaskClient, app: Flask, world: World) -> None:
    """The bulk upsert is an import too: its records without coordinates are placed by the same
    geocoding job as an upload's; a dry run queues nothing."""
    from geocrm import jobs
    from geocrm.api.tokens import create_token

    _, token = create_token(world.manager, "test", scopes=("read", "write"))
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    items = [{"external_id": "k-1", "name": "Kahvila Kulma", "address": "Aleksanterinkatu 52",
              "postcode": "00100", "city": "Helsinki"},
             {"external_id": "k-2", "name": "Kukkakauppa", "address": "Nosuchstreet 4",
              "city": "Atlantis"}]
    try:
        r = client.post("/api/v1/accounts/bulk", json={"source": "erp", "dry_run": True,
                                                        "items": items}, headers=headers)
        assert r.status_code == 200, r.get_json()
        assert db.session.scalars(select(Job).where(Job.kind == "geocode")).first() is None
        r = client.post("/api/v1/accounts/bulk", json={"source": "erp", "items": items},
                        headers=headers)
        assert r.status_code == 200 and r.get_json()["status"] == "committed", r.get_json()
        job = db.session.scalars(select(Job).where(Job.kind == "geocode")).one()
        assert job.created_by_id == world.manager.id
        job = wait_for_job(job.id, timeout=30)
        assert job.status.value == "done", job.error
        assert job.result["placed"] == 1 and job.result["not_found"] == 1
    finally:
        jobs.drain(app, 30)
