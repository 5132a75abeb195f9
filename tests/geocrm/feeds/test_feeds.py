"""Calendar feeds (issue 17): a private, revocable subscription of published visits and tasks,
read back with a real RFC 5545 parser; single tasks and visits as files; scoping."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta

import icalendar
from flask import g

from geocrm.extensions import db
from geocrm.models import PlanStatus, RoutePlan, RouteStop, Task, TaskStatus, utcnow
from tests.conftest import PASSWORD


def _as(client, user):
    g.pop("_login_user", None)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    g.pop("_login_user", None)


def _plan(world, status=PlanStatus.PUBLISHED, day=None) -> RoutePlan:
    day = day or date.today()
    a, b = world.west_accounts
    plan = RoutePlan(rep_id=world.rep_west.id, plan_date=day, status=status,
                     published_at=utcnow())
    nine = datetime.combine(day, time(9, 0))
    plan.stops = [
        RouteStop(seq=1, account_id=a.id, arrival=nine, start=nine,
                  departure=nine + timedelta(minutes=30)),
        RouteStop(seq=2, account_id=b.id, arrival=nine + timedelta(minutes=45),
                  start=nine + timedelta(minutes=45), departure=nine + timedelta(minutes=75)),
    ]
    db.session.add(plan)
    db.session.commit()
    return plan


def _task(world, title, due, status=TaskStatus.OPEN, assignee=None) -> Task:
    task = Task(title=title, account_id=world.west_accounts[0].id, uuid=str(uuid.uuid4()),
                assignee_id=(assignee or world.rep_west).id, due_date=due, status=status)
    db.session.add(task)
    db.session.commit()
    return task


def _new_link(client) -> str:
    g.pop("_login_user", None)
    html = client.post("/calendar/new").get_data(as_text=True)
    found = re.search(r'value="(http://[^"]+\.ics)"', html)
    assert found, html[:400]
    return found.group(1).replace("http://localhost", "")


def test_feed_has_published_visits_and_open_tasks(app, client, world):
    _plan(world)
    _plan(world, status=PlanStatus.DRAFT, day=date.today() + timedelta(days=1))
    _task(world, "Send the price list", date.today() + timedelta(days=2))
    _task(world, "Already done", date.today(), status=TaskStatus.DONE)
    _task(world, "Someone else's", date.today(), assignee=world.rep_east)
    _as(client, world.rep_west)
    path = _new_link(client)
    r = app.test_client().get(path)  # no session: a calendar app
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(r.data)
    events = list(cal.walk("VEVENT"))
    summaries = [str(e["SUMMARY"]) for e in events]
    names = [a.name for a in world.west_accounts]
    assert summaries[:2] == [f"1. {names[0]}", f"2. {names[1]}"]  # the draft is not there
    assert summaries[2:] == ["Task: Send the price list"]
    visit = events[0]
    assert visit.decoded("DTEND") - visit.decoded("DTSTART") == timedelta(minutes=30)
    task = events[2]
    assert task.decoded("DTSTART") == date.today() + timedelta(days=2)
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_a_new_link_revokes_the_old_and_revoke_stops_it(app, client, world):
    _as(client, world.rep_west)
    first = _new_link(client)
    second = _new_link(client)
    outside = app.test_client()
    assert outside.get(first).status_code == 404
    assert outside.get(second).status_code == 200
    g.pop("_login_user", None)
    client.post("/calendar/stop")
    assert outside.get(second).status_code == 404
    assert outside.get("/calendar/feed/not-a-token.ics").status_code == 404


def test_a_deactivated_persons_feed_stops(app, client, world):
    _as(client, world.rep_west)
    path = _new_link(client)
    world.rep_west.active = False
    db.session.commit()
    assert app.test_client().get(path).status_code == 404


def test_feed_speaks_the_owners_language(app, client, world):
    world.rep_west.locale = "ja"
    db.session.commit()
    _task(world, "見積書を送る", date.today())
    _as(client, world.rep_west)
    path = _new_link(client)
    cal = icalendar.Calendar.from_ical(app.test_client().get(path).data)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["タスク: 見積書を送る"]


def test_single_task_and_visit_files_are_scoped(app, client, world):
    task = _task(world, "Call back", date.today())
    plan = _plan(world)
    stop = plan.stops[0]
    _as(client, world.rep_west)
    r = client.get(f"/calendar/tasks/{task.id}.ics")
    assert r.status_code == 200
    assert [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(r.data).walk("VEVENT")] \
        == ["Task: Call back"]
    g.pop("_login_user", None)
    r = client.get(f"/calendar/plans/{plan.id}/stops/{stop.id}.ics")
    assert r.status_code == 200
    assert len(list(icalendar.Calendar.from_ical(r.data).walk("VEVENT"))) == 1
    other = app.test_client()
    _as(other, world.rep_east)
    assert other.get(f"/calendar/tasks/{task.id}.ics").status_code == 404
    g.pop("_login_user", None)
    assert other.get(f"/calendar/plans/{plan.id}/stops/{stop.id}.ics").status_code == 404
