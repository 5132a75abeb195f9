"""A rep's planning profile (their home, hours) is for planners, admins and the managers of
the rep's territories only: a manager without territories gets 404 (issue 18's route sweep)."""

from __future__ import annotations

import pytest

from geocrm.extensions import db
from geocrm.models import Role, User
from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


def test_another_managers_rep_profile_is_a_404(client, auth, world):
    """Read and write alike; the rep's home stays where it was."""
    make_user("lonely@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    url = f"/people/{world.rep_east.id}/profile"
    auth.login("lonely@example.com")
    assert client.get(url).status_code == 404
    assert client.post(url, data={"home_lat": "61", "home_lon": "25", "work_days": ["0"],
                                  "work_start": "08:00", "work_end": "16:00"}).status_code == 404
    auth.logout()
    db.session.expire_all()
    assert db.session.get(User, world.rep_east.id).home_lat == 60.17
    auth.login("manager@example.com")  # the rep's territory's manager
    assert client.get(url).status_code == 200
    auth.logout()
    auth.login("planner@example.com")
    assert client.get(url).status_code == 200


def test_deactivating_a_missing_person_is_a_404(client, auth, world):
    """It flashed "No user" and redirected (303) to the person's page, itself a 404."""
    auth.login("admin@example.com")
    assert client.post("/people/2147483647/active", data={"active": "0"}).status_code == 404
    assert client.post(f"/people/{world.rep_west.id}/active",
                       data={"active": "0"}).status_code == 303
