"""Verified check-ins (issue 17): verified needs the geofence *and* a good enough fix; a ±4 km
fix is unverified (or outside, when even its error circle misses the fence); no position or
no pin is unverified. Shown in the timeline in the reader's language."""

from __future__ import annotations

import uuid

import pytest
from flask import g

from geocrm.extensions import db
from geocrm.models import Account, Interaction
from tests.conftest import PASSWORD

M_PER_DEG_LAT = 111_195


def _check_in(client, account_id, **pos):
    g.pop("_login_user", None)
    r = client.post("/api/v1/checkins",
                    json={"uuid": str(uuid.uuid4()), "account_id": account_id, **pos})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["interaction"]


@pytest.fixture
def rep(client, world):
    client.post("/login", data={"email": world.rep_west.email, "password": PASSWORD})
    return world.rep_west


@pytest.mark.parametrize("metres,accuracy,flag,status", [
    (20, 8, None, "verified"),
    (20, 4000, "poor_accuracy", "unverified"),  # ±4 km proves nothing
    (20, 150, "poor_accuracy", "unverified"),   # just past the accuracy bar
    (20, None, None, "verified"),               # a fix without accuracy: its position decides
    (500, 10, "outside_geofence", "outside"),
    (10_000, 4000, "outside_geofence", "outside"),  # even the error circle misses the fence
    (3_000, 4000, "poor_accuracy", "unverified"),   # the circle reaches the pin: can't tell
])
def test_check_in_verification(client, world, rep, metres, accuracy, flag, status):
    a = world.west_accounts[0]
    pos = {"lat": a.lat + metres / M_PER_DEG_LAT, "lon": a.lon}
    if accuracy is not None:
        pos["accuracy"] = accuracy
    got = _check_in(client, a.id, **pos)
    assert (got["location_flag"], got["verification"]) == (flag, status)
    assert got["distance_m"] == pytest.approx(metres, rel=0.01)


def test_no_position_and_no_pin_are_unverified(client, world, rep):
    a = world.west_accounts[0]
    got = _check_in(client, a.id)
    assert (got["location_flag"], got["verification"]) == ("no_location", "unverified")
    pinless = Account(name="Kiosk without a pin", territory_id=world.west.id,
                      owner_id=world.rep_west.id)
    db.session.add(pinless)
    db.session.commit()
    got = _check_in(client, pinless.id, lat=60.16, lon=24.91, accuracy=5)
    assert (got["location_flag"], got["verification"]) == ("no_pin", "unverified")


def test_the_accuracy_bar_is_a_setting(app, client, world, rep):
    app.config["GEOCRM_CHECKIN_MAX_ACCURACY_M"] = 5000
    a = world.west_accounts[0]
    got = _check_in(client, a.id, lat=a.lat + 20 / M_PER_DEG_LAT, lon=a.lon, accuracy=4000)
    assert got["verification"] == "verified"


def test_timeline_shows_the_verification_in_the_readers_language(client, world, rep):
    a = world.west_accounts[0]
    _check_in(client, a.id, lat=a.lat, lon=a.lon, accuracy=4000)
    world.rep_west.locale = "ja"
    db.session.commit()
    g.pop("_login_user", None)
    html = client.get(f"/accounts/{a.id}").get_data(as_text=True)
    assert "checkin-unverified" in html and "未確認" in html
    visit = db.session.query(Interaction).one()
    assert visit.verification == "unverified"
