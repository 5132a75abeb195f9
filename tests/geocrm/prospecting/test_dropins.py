"""Drop-ins on today's route (issue 16): overdue accounts and look-alike places near the rest
of the day, each confirmed feasible by the routing model's own check, and added into the
route where it fits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import routing
from geocrm.clock import local_zone
from geocrm.extensions import db
from geocrm.models import Account, PlanStatus, RoutePlan, RouteStop, Stage, User, utcnow
from geocrm.planning.base import local_now
from geocrm.planning.hours import windows_on
from geocrm.planning.problem import account_visit, routing_rep, without_skills
from tests.conftest import AuthActions
from tests.factories import World, make_account
from tests.geocrm.prospecting.fixtures import known_accounts, load_town

HEADERS = {"Accept": "application/json"}


@pytest.fixture
def day(app: Flask, world: World, tmp_path: Path) -> dict[str, Any]:
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    load_town(app, tmp_path)
    known_accounts(world)
    old = utcnow() - timedelta(days=30)
    overdue = make_account("Rästi Oy", 60.1750, 24.9250, territory_id=world.west.id,
                           stage=Stage.CUSTOMER, cadence_days=14, last_visit_at=old, priority=1)
    closed = make_account("Suljettu Oy", 60.1760, 24.9260, territory_id=world.west.id,
                          stage=Stage.CUSTOMER, cadence_days=14, last_visit_at=old,
                          opening_hours="Mo-Su off")
    far = make_account("Kaukana Oy", 60.1990, 24.9010, territory_id=world.west.id,
                       stage=Stage.CUSTOMER, cadence_days=14, last_visit_at=old)
    recent = make_account("Tuore Oy", 60.1755, 24.9255, territory_id=world.west.id,
                          stage=Stage.CUSTOMER, cadence_days=14, last_visit_at=utcnow())
    skilled = make_account("Trukki Oy", 60.1752, 24.9252, territory_id=world.west.id,
                           stage=Stage.CUSTOMER, cadence_days=14, last_visit_at=old,
                           required_skills="forklift")
    plan = RoutePlan(rep_id=world.rep_west.id, plan_date=local_now(local_zone()).date(),
                     status=PlanStatus.PUBLISHED, published_at=utcnow())
    db.session.add(plan)
    db.session.flush()
    for n, account in enumerate([world.west_accounts[1]], start=1):  # Kirja & Co, 60.18/24.93
        db.session.add(RouteStop(plan_id=plan.id, seq=n, account_id=account.id))
    db.session.commit()
    return {"plan": plan.id, "overdue": overdue.id, "closed": closed.id, "far": far.id,
            "recent": recent.id, "skilled": skilled.id}


def _feasible(plan_id: int, account_ids: list[int], at_s: int, origin: tuple[float, float]
              ) -> routing.OrderCheck:
    plan = db.session.get(RoutePlan, plan_id)
    visits = []
    for aid in account_ids:
        a = db.session.get(Account, aid)
        hours = windows_on(a.opening_hours, plan.plan_date)
        visits.append(account_visit(a, [(0, 86400)] if hours is None else hours))
    rep = without_skills(routing_rep(plan.rep), 30.0)
    return routing.check_order(rep, visits, start_at=at_s, origin=routing.Location(*origin))


def test_suggestions_fit_and_are_added(client: FlaskClient, auth: AuthActions, world: World,
                                       day: dict[str, Any]) -> None:
    auth.login("west@example.com")
    body = {"lat": 60.17, "lon": 24.92, "at": "10:00"}
    answer = client.post("/prospecting/dropins.json", json=body, headers=HEADERS)
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()["dropins"]
    keys = [d["key"] for d in found]
    assert str(day["overdue"]) in keys
    assert str(day["closed"]) not in keys  # closed all day today
    assert str(day["far"]) not in keys and str(day["recent"]) not in keys
    assert str(day["skilled"]) not in keys  # needs a forklift licence the rep has not got
    assert "node/6" in keys and "node/11" in keys  # look-alike places near the route
    assert "node/9" not in keys  # too far from the route
    assert found[0]["key"] == str(day["overdue"])  # priority 1 and overdue: most value
    assert all(d["extraMinutes"] >= 0 for d in found)
    db.session.get(User, world.rep_west.id).skills = "Forklift, 한국어"
    db.session.commit()
    again = client.post("/prospecting/dropins.json", json=body, headers=HEADERS).get_json()
    assert str(day["skilled"]) in [d["key"] for d in again["dropins"]]
    # Added: it is in the route where it was suggested, and the routing model agrees.
    add = client.post("/prospecting/dropins/add", json={"kind": "account",
                                                        "key": str(day["overdue"]), **body},
                      headers=HEADERS)
    assert add.status_code == 200, add.get_json()
    db.session.expire_all()
    order = [s.account_id for s in sorted(db.session.get(RoutePlan, day["plan"]).stops,
                                          key=lambda s: s.seq)]
    assert day["overdue"] in order and len(order) == 2
    assert _feasible(day["plan"], order, 10 * 3600, (60.17, 24.92)).ok
    # A place becomes a prospect of the rep, then a stop.
    add = client.post("/prospecting/dropins/add", json={"kind": "place", "key": "node/6",
                                                        **body}, headers=HEADERS)
    assert add.status_code == 200, add.get_json()
    db.session.expire_all()
    new = db.session.scalars(select(Account).where(Account.external_id == "node/6")).one()
    assert new.owner_id == world.rep_west.id and new.source == "osm"
    plan = db.session.get(RoutePlan, day["plan"])
    order = [s.account_id for s in sorted(plan.stops, key=lambda s: s.seq)]
    assert new.id in order and len(order) == 3
    assert _feasible(day["plan"], order, 10 * 3600, (60.17, 24.92)).ok
    again = client.post("/prospecting/dropins/add", json={"kind": "account",
                                                          "key": str(new.id), **body},
                        headers=HEADERS)
    assert again.status_code == 422


def test_nothing_fits_after_the_shift(client: FlaskClient, auth: AuthActions,
                                      day: dict[str, Any]) -> None:
    auth.login("west@example.com")
    late = client.post("/prospecting/dropins.json", json={"lat": 60.17, "lon": 24.92,
                                                          "at": "16:45"}, headers=HEADERS)
    assert late.status_code == 200
    assert late.get_json()["dropins"] == []
    refused = client.post("/prospecting/dropins/add", json={
        "kind": "account", "key": str(day["overdue"]), "lat": 60.17, "lon": 24.92,
        "at": "16:45"}, headers=HEADERS)
    assert refused.status_code == 422
    bad = client.post("/prospecting/dropins.json", json={"at": "25:99"}, headers=HEADERS)
    assert bad.status_code == 422


def test_without_a_plan_today(client: FlaskClient, auth: AuthActions, world: World,
                              day: dict[str, Any]) -> None:
    auth.login("east@example.com")
    answer = client.post("/prospecting/dropins.json", json={}, headers=HEADERS)
    assert answer.status_code == 404
    assert db.session.get(User, world.rep_east.id) is not None


def test_the_planner_fills_a_plans_slack(client: FlaskClient, auth: AuthActions, world: World,
                                         day: dict[str, Any]) -> None:
    """On the planner's page: the same checked suggestions for the rep's plan, added by a form
    post; the place becomes the rep's prospect (not the planner's); a rep cannot use it on
    another rep's plan, and a plan of a day that is over has no slack."""
    auth.login("planner@example.com")
    page = client.get(f"/prospecting/plans/{day['plan']}/dropins?at=10:00")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Rästi Oy" in text and "Suljettu Oy" not in text and "Kaukana Oy" not in text
    link = client.get(f"/planning/plans/{day['plan']}").get_data(as_text=True)
    assert f"/prospecting/plans/{day['plan']}/dropins" in link
    added = client.post(f"/prospecting/plans/{day['plan']}/dropins/add",
                        data={"kind": "place", "key": "node/6", "at": "10:00"})
    assert added.status_code == 302 and added.location.endswith(f"/planning/plans/{day['plan']}")
    db.session.expire_all()
    new = db.session.scalars(select(Account).where(Account.external_id == "node/6")).one()
    assert new.owner_id == world.rep_west.id
    plan = db.session.get(RoutePlan, day["plan"])
    assert new.id in {s.account_id for s in plan.stops}
    # a plan whose day is over: nothing fits, and adding is refused with nothing written
    plan.plan_date = plan.plan_date - timedelta(days=3)
    db.session.commit()
    assert "dropins-none" in client.get(
        f"/prospecting/plans/{day['plan']}/dropins").get_data(as_text=True)
    refused = client.post(f"/prospecting/plans/{day['plan']}/dropins/add",
                          data={"kind": "account", "key": str(day["overdue"])})
    assert refused.status_code == 302 and "/dropins" in refused.location
    assert "no longer fits" in client.get(refused.location).get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(RoutePlan, day["plan"]).stops) == 2
    auth.logout()
    auth.login("east@example.com")
    assert client.get(f"/prospecting/plans/{day['plan']}/dropins").status_code == 404
    assert client.post(f"/prospecting/plans/{day['plan']}/dropins/add",
                       data={"kind": "account", "key": str(day["overdue"])}).status_code == 404
