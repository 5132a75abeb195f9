"""A rep's planning profile (issue 17): home base from the map pin or the address, work days
and hours, lunch, a visit cap; checked, audited, used by the planner."""

from __future__ import annotations

import pytest
from flask import g

from geocrm.extensions import db
from geocrm.models import AuditEntry, User
from geocrm.planning.problem import routing_rep
from tests.conftest import PASSWORD

GOOD = {"home_address": "Mannerheimintie 1, Helsinki", "home_lat": "60.1699",
        "home_lon": "24.9384", "work_days": ["1", "2", "3", "4"], "work_start": "07:30",
        "work_end": "15:30", "lunch_start": "11:00", "lunch_minutes": "45", "max_visits": "9"}


def _as(client, user):
    g.pop("_login_user", None)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    g.pop("_login_user", None)


@pytest.mark.parametrize("role", ["admin", "manager", "planner"])
def test_planners_managers_and_admins_edit_a_reps_profile(app, client, world, role):
    _as(client, getattr(world, role))
    page = client.get(f"/people/{world.rep_west.id}/profile")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="home_lat"' in html and "home_picker.js" in html
    g.pop("_login_user", None)
    r = client.post(f"/people/{world.rep_west.id}/profile", data=GOOD)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    rep = db.session.get(User, world.rep_west.id)
    assert (rep.home_lat, rep.home_lon) == (60.1699, 24.9384)
    assert rep.work_days == "1,2,3,4"
    assert (rep.work_start_min, rep.work_end_min) == (450, 930)
    assert (rep.lunch_start_min, rep.lunch_minutes, rep.max_visits_per_day) == (660, 45, 9)
    planned = routing_rep(rep)
    assert planned.shift.start == 450 * 60 and planned.shift.end == 930 * 60
    assert planned.breaks[0].duration == 45 * 60 and planned.max_visits == 9
    assert any(e.action == "profile" for e in db.session.query(AuditEntry))


def test_reps_cannot_edit_profiles(client, world):
    _as(client, world.rep_west)
    assert client.get(f"/people/{world.rep_west.id}/profile").status_code == 403


@pytest.mark.parametrize("change,field", [
    ({"work_days": []}, "work_days"),
    ({"work_start": "16:00"}, "work_end"),
    ({"lunch_start": "06:00"}, "lunch_start"),
    ({"home_lat": "nan"}, "home"),
    ({"home_lat": "91"}, "home"),
    ({"home_lon": ""}, "home"),
    ({"max_visits": "0"}, "max_visits"),
    ({"lunch_minutes": "500"}, "lunch_minutes"),
])
def test_a_profile_that_cannot_make_a_day_is_refused_by_field(client, world, change, field):
    _as(client, world.planner)
    before = (world.rep_west.work_days, world.rep_west.home_lat)
    r = client.post(f"/people/{world.rep_west.id}/profile", data={**GOOD, **change})
    assert r.status_code == 422, (change, r.status_code)
    assert 'class="field-error"' in r.get_data(as_text=True)
    db.session.expire_all()
    rep = db.session.get(User, world.rep_west.id)
    assert (rep.work_days, rep.home_lat) == before  # nothing half-written


def test_an_address_without_a_pin_needs_a_geocoder_that_finds_it(app, client, world):
    app.config["GEOCRM_GEOCODER"] = "off"
    _as(client, world.planner)
    r = client.post(f"/people/{world.rep_west.id}/profile",
                    data={**GOOD, "home_lat": "", "home_lon": ""})
    assert r.status_code == 422
    assert "pick the home base on the map" in r.get_data(as_text=True)


def test_weekdays_are_named_in_the_readers_language_and_order(client, world):
    world.planner.locale = "ko"
    db.session.commit()
    _as(client, world.planner)
    html = client.get(f"/people/{world.rep_west.id}/profile").get_data(as_text=True)
    assert "월요일" in html and "일요일" in html
    assert html.index("일요일") < html.index("월요일")  # a Korean week starts on Sunday
