"""The manager's day for one territory or one rep, and the links between the field app and
the rep's daily report (issue 17)."""

from __future__ import annotations

import html as html_lib

import pytest
from flask.testing import FlaskClient

from geocrm.clock import local_today
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import Role
from geocrm.teamday.day import team_day
from tests.factories import make_territory, make_user
from tests.geocrm.teamday.helpers import DAY, at


def test_the_day_narrows_to_a_territory_or_a_rep(world) -> None:
    """A territory keeps its reps, a rep keeps only them; one the viewer may not see is a 404
    like one that does not exist."""
    west = team_day(world.manager, DAY, at(12), territory_id=world.west.id)
    assert [d.rep.id for d in west] == [world.rep_west.id]
    east = team_day(world.planner, DAY, at(12), rep_id=world.rep_east.id)
    assert [d.rep.id for d in east] == [world.rep_east.id]
    assert team_day(world.admin, DAY, at(12), territory_id=world.west.id,
                    rep_id=world.rep_east.id) == []
    other = make_user("other-manager@example.com", Role.MANAGER, "pw-long-enough-1")
    theirs = make_territory("North", world.west.geom, manager_id=other.id)
    db.session.commit()
    assert team_day(other, DAY, at(12), territory_id=theirs.id) == []  # theirs, no reps yet
    for kw in ({"territory_id": world.west.id}, {"territory_id": 10_000},
               {"rep_id": world.rep_west.id}):
        with pytest.raises(NotFoundError):
            team_day(other, DAY, at(12), **kw)


def test_the_page_filters_and_its_refresh_keeps_the_filter(client: FlaskClient, auth,
                                                           world) -> None:
    """The page offers the manager's territories and reps, shows the chosen ones only, and
    refreshes from a JSON URL carrying the same filter."""
    auth.login("manager@example.com")
    page = client.get(f"/team/day?day={DAY.isoformat()}&territory={world.west.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'<option value="{world.west.id}" selected>' in text
    assert f'data-rep="{world.rep_west.id}"' in text
    assert f'data-rep="{world.rep_east.id}"' not in text
    assert f"territory={world.west.id}" in html_lib.unescape(text)
    data = client.get(f"/team/day.json?day={DAY.isoformat()}&rep={world.rep_east.id}").get_json()
    assert [r["id"] for r in data["reps"]] == [world.rep_east.id]
    assert client.get("/team/day?rep=x").status_code in (400, 422)


def test_the_field_app_and_the_daily_report_link_to_each_other(client: FlaskClient, auth,
                                                               world) -> None:
    """The app's Today links to the reports page, which takes a rep to their own report of
    today; that report links back to the app; a manager reading it gets no app link."""
    auth.login("west@example.com")
    app_page = client.get("/app/").get_data(as_text=True)
    assert '"reportUrl": "/team/reports"' in html_lib.unescape(app_page)
    went = client.get("/team/reports")
    assert went.status_code == 302
    assert went.headers["Location"].endswith(
        f"/team/reports/{world.rep_west.id}/{local_today().isoformat()}")
    report = client.get(went.headers["Location"]).get_data(as_text=True)
    assert 'id="to-field-app"' in report and 'href="/app/#/today"' in report
    auth.logout()
    auth.login("manager@example.com")
    report = client.get(went.headers["Location"]).get_data(as_text=True)
    assert 'id="to-field-app"' not in report
