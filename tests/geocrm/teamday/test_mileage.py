"""Mileage: business distance per day and month from the visit sequence, CSV, scoping."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from flask.testing import FlaskClient

from geocrm.extensions import db
from geocrm.teamday.mileage import month_bounds, period_mileage
from tests.factories import make_account
from tests.geocrm.teamday.helpers import DAY, at, check_in


@pytest.fixture
def month(world):
    """West visits on two days of November and one in December; East one day without a pin."""
    aalto, kirja = world.west_accounts
    check_in(world.rep_west, aalto, at(9))
    check_in(world.rep_west, kirja, at(11))
    check_in(world.rep_west, kirja, at(9, day=date(2026, 11, 3)))
    check_in(world.rep_west, aalto, at(9, day=date(2026, 12, 1)))
    pinless = make_account("No Pin Oy", None, None, territory_id=world.east.id)
    check_in(world.rep_east, pinless, at(9), checkin_lat=None, checkin_lon=None,
             checkin_accuracy_m=None)
    db.session.commit()


def test_month_bounds():
    """December rolls into the next year."""
    assert month_bounds(date(2026, 12, 15)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert month_bounds(date(2028, 2, 3)) == (date(2028, 2, 1), date(2028, 2, 29))


def test_days_and_month_totals(world, month):
    """Days with visits only; the month is the sum of its days; a visit with no place is
    counted but drives nowhere."""
    rows = {r.rep.id: r for r in period_mileage([world.rep_west, world.rep_east],
                                                date(2026, 11, 1), date(2026, 11, 30))}
    west = rows[world.rep_west.id]
    assert [d.day for d in west.days] == [date(2026, 11, 3), DAY]
    assert west.metres == sum(d.metres for d in west.days) > 0
    assert west.days[1].metres > west.days[0].metres  # two visits drive further than one
    assert west.visits == 3 and west.estimate
    east = rows[world.rep_east.id]
    assert east.days[0].unplaced == 1 and east.metres == 0


def test_page_csv_and_scope(client: FlaskClient, auth, world, month):
    """The manager's CSV has every rep's days and totals; a rep sees only themselves even
    when asking for another rep."""
    auth.login("manager@example.com")
    assert client.get("/team/mileage?month=2026-11").status_code == 200
    body = client.get("/team/mileage.csv?month=2026-11").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][3] == "Business distance (km)"
    west = [r for r in rows[1:] if r[0] == "West"]
    assert [r[1] for r in west] == ["2026-11-03", "2026-11-24", "Total"]
    assert float(west[-1][3]) == pytest.approx(float(west[0][3]) + float(west[1][3]), abs=0.11)
    auth.logout()
    auth.login("east@example.com")
    html = client.get(f"/team/mileage?month=2026-11&rep={world.rep_west.id}").get_data(
        as_text=True)
    assert "West" not in html and "East" in html
    assert client.get("/team/mileage?month=nonsense").status_code in (400, 422)


def test_a_rep_who_left_keeps_their_months(client: FlaskClient, auth, world, month):
    """Deactivated West still shows for November (they drove), not for October."""
    world.rep_west.active = False
    db.session.commit()
    auth.login("manager@example.com")
    body = client.get("/team/mileage.csv?month=2026-11").get_data(as_text=True)
    assert "West" in body
    body = client.get("/team/mileage.csv?month=2026-10").get_data(as_text=True)
    assert "West" not in body and "East" in body
