"""Skills and vehicles (issue 17): a rep's skills and vehicle on the planning profile, an
account's required skills on its form and from an import column, one rule for the tags; and
the home base found from its address by the configured geocoder. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import g

from geocrm.core.skills import clean_skills, rep_speed_kmh, skill_keys
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports.services import import_accounts
from geocrm.models import Account, User
from geocrm.planning.problem import routing_rep
from tests.conftest import PASSWORD
from tests.geocode_fakes import FakeGeocodeServer

GOOD = {"home_address": "", "home_lat": "60.1699", "home_lon": "24.9384",
        "work_days": ["1", "2", "3", "4", "5"], "work_start": "08:00", "work_end": "16:00",
        "lunch_start": "12:00", "lunch_minutes": "30", "max_visits": ""}


def _as(client: Any, user: User) -> None:
    g.pop("_login_user", None)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    g.pop("_login_user", None)


def test_skill_tags_have_one_rule() -> None:
    """Commas of any width, 、 and semicolons separate; spaces are tidied; a repeat in other
    case is dropped; every script is kept; blank is no skills; a tag over 40 is refused."""
    assert clean_skills("skills", " Forklift，한국어、日本語; forklift ;;  first   aid ") == \
        "Forklift, 한국어, 日本語, first aid"
    assert clean_skills("skills", ["a", "A", "b"]) == "a, b"
    assert clean_skills("skills", " , ") is None and clean_skills("skills", None) is None
    assert skill_keys("Forklift, 日本語") == frozenset({"forklift", "日本語"})
    with pytest.raises(ValidationError) as err:
        clean_skills("required_skills", "x" * 41)
    assert err.value.field == "required_skills"
    assert rep_speed_kmh(None, None) == 30.0 and rep_speed_kmh("foot", None) == 5.0
    assert rep_speed_kmh("bike", 22.0) == 22.0


def test_the_profile_sets_skills_and_vehicle_for_the_planner(app: Any, client: Any,
                                                             world: Any) -> None:
    """A planner gives a rep skills and a bike; the planner's rep has both; a speed out of
    range is refused under its field and nothing is written."""
    _as(client, world.planner)
    planning = client.get("/planning/").get_data(as_text=True)
    assert f'href="/people/{world.rep_west.id}/profile"' in planning  # how planners get there
    html = client.get(f"/people/{world.rep_west.id}/profile").get_data(as_text=True)
    assert 'name="skills"' in html and 'name="vehicle"' in html and 'name="speed_kmh"' in html
    r = client.post(f"/people/{world.rep_west.id}/profile",
                    data={**GOOD, "skills": "forklift, 日本語", "vehicle": "bike"})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    rep = db.session.get(User, world.rep_west.id)
    assert (rep.skills, rep.vehicle, rep.speed_kmh) == ("forklift, 日本語", "bike", None)
    planned = routing_rep(rep)
    assert {"skill:forklift", "skill:日本語"} <= planned.skills and planned.speed_kmh == 15.0
    page = client.get(f"/people/{world.rep_west.id}/profile").get_data(as_text=True)
    assert 'value="forklift, 日本語"' in page
    r = client.post(f"/people/{world.rep_west.id}/profile",
                    data={**GOOD, "skills": "", "vehicle": "car", "speed_kmh": "500"})
    assert r.status_code == 422 and 'class="field-error"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.rep_west.id).vehicle == "bike"


@pytest.fixture
def geocoder() -> Iterator[FakeGeocodeServer]:
    server = FakeGeocodeServer("nominatim")
    yield server
    server.stop()


def test_the_home_base_is_found_from_its_address(app: Any, client: Any, world: Any,
                                                 geocoder: FakeGeocodeServer) -> None:
    """An address without a pin is geocoded by the configured engine (here a local server
    answering like Nominatim) and the home base lands on it."""
    app.config.update(GEOCRM_GEOCODER="nominatim", GEOCRM_GEOCODER_URL=geocoder.url,
                      GEOCRM_GEOCODER_RATE="1000", GEOCRM_GEOCODER_CACHE="off")
    _as(client, world.planner)
    r = client.post(f"/people/{world.rep_west.id}/profile",
                    data={**GOOD, "home_address": "Mannerheimintie 1, Helsinki",
                          "home_lat": "", "home_lon": ""})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    rep = db.session.get(User, world.rep_west.id)
    assert (rep.home_lat, rep.home_lon) == pytest.approx((60.16887, 24.94285), abs=1e-4)
    assert rep.home_address == "Mannerheimintie 1, Helsinki"


def test_an_account_form_and_an_import_set_required_skills(app: Any, client: Any,
                                                           world: Any) -> None:
    """The account form saves the required skills through the account rules (shown on the
    account); an import's "Required skills" column is guessed and fills them."""
    account = world.west_accounts[0]
    _as(client, world.manager)
    form = client.get(f"/accounts/{account.id}/edit").get_data(as_text=True)
    assert 'name="required_skills"' in form
    data = {"name": account.name, "stage": "customer", "visit_minutes": "30", "priority": "3",
            "lat": "60.16", "lon": "24.91", "required_skills": "Forklift；ｆｉｒｓｔ aid"}
    r = client.post(f"/accounts/{account.id}/edit", data=data)
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Account, account.id).required_skills == "Forklift, first aid"
    assert "Forklift, first aid" in client.get(f"/accounts/{account.id}").get_data(as_text=True)

    csv = "name,lat,lon,Required skills\nVarasto Oy,60.18,24.92,forklift; 日本語\n"
    result = import_accounts(csv.encode(), filename="skills.csv", user=world.admin)
    assert result.status == "committed", result.rejects
    assert result.mapping["required_skills"] == "Required skills"
    db.session.commit()
    made = db.session.query(Account).filter_by(name="Varasto Oy").one()
    assert made.required_skills == "forklift, 日本語"
