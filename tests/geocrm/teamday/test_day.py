"""The manager's day: plan against what is done, scoping, the page and its JSON, and the
manager's access to plans and runs a planner made."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from geocrm.extensions import db
from geocrm.models import Role
from geocrm.models.planning import PlanRun
from geocrm.teamday.day import LATE, MISSED, PLANNED, VISITED, team_day
from tests.factories import make_account, make_user
from tests.geocrm.teamday.helpers import DAY, at, check_in, publish_plan


@pytest.fixture
def west_day(world):
    """West's plan: Aalto 09:00, Kirja 10:00, a new account 11:00; East has no plan."""
    third = make_account("Kolmas Oy", 60.17, 24.94, territory_id=world.west.id)
    plan = publish_plan(world.rep_west, [*world.west_accounts, third], created_by=world.planner)
    db.session.commit()
    return plan


def test_states_visited_late_missed_planned_unplanned(world, west_day):
    """On time, late beyond the tolerance, window passed without a visit, not yet due, and a
    visit the plan did not have, each counted once."""
    stops = west_day.stops
    check_in(world.rep_west, world.west_accounts[0], at(9, 5), stop=stops[0])
    check_in(world.rep_west, world.west_accounts[1], at(10, 40))  # no stop id: matched by account
    check_in(world.rep_west, world.unassigned, at(12, 0))  # not in the plan
    db.session.commit()
    days = {d.rep.id: d for d in team_day(world.manager, DAY, at(11, 20))}
    west = days[world.rep_west.id]
    assert [s.status for s in west.stops] == [VISITED, LATE, PLANNED]
    assert west.stops[1].late_s == 40 * 60
    assert [i.account_id for i in west.unplanned] == [world.unassigned.id]
    later = {d.rep.id: d for d in team_day(world.manager, DAY, at(12, 30))}[world.rep_west.id]
    assert [s.status for s in later.stops] == [VISITED, LATE, MISSED]
    east = days[world.rep_east.id]
    assert east.plan is None and east.stops == [] and east.unplanned == []


def test_tolerance_is_a_setting(app, world, west_day):
    """Ten minutes late is on time under the default 15 and late under 5."""
    check_in(world.rep_west, world.west_accounts[0], at(9, 10), stop=west_day.stops[0])
    db.session.commit()
    first = team_day(world.admin, DAY, at(9, 30))[0].stops[0]
    assert first.status == VISITED
    app.config["GEOCRM_LATE_MINUTES"] = 5
    assert team_day(world.admin, DAY, at(9, 30))[0].stops[0].status == LATE


def test_one_visit_matches_one_stop(world):
    """Two stops at the same account take two visits: one visit does not tick both."""
    account = world.west_accounts[0]
    publish_plan(world.rep_west, [account, account])
    check_in(world.rep_west, account, at(9, 0))
    db.session.commit()
    west = team_day(world.planner, DAY, at(15, 0))[0]
    assert [s.status for s in west.stops] == [VISITED, MISSED]


def test_scope_manager_sees_own_reps_only(world, west_day):
    """A manager of no territory sees nobody; planners and admins see every rep."""
    other = make_user("other-manager@example.com", Role.MANAGER, "pw-long-enough-1")
    db.session.commit()
    assert team_day(other, DAY, at(12)) == []
    assert {d.rep.id for d in team_day(world.planner, DAY, at(12))} == {
        world.rep_west.id, world.rep_east.id}
    assert {d.rep.id for d in team_day(world.manager, DAY, at(12))} == {
        world.rep_west.id, world.rep_east.id}


def test_page_and_json(client: FlaskClient, auth, world, west_day):
    """The page shows each rep's counts; the JSON has the same data, escaped names stay text;
    a rep gets 403 on both."""
    check_in(world.rep_west, world.west_accounts[0], at(9, 0), stop=west_day.stops[0])
    check_in(world.rep_east, world.east_accounts[1], at(9, 0))  # the <script> account
    db.session.commit()
    auth.login("manager@example.com")
    page = client.get(f"/team/day?day={DAY.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="teamday-reps"' in html and "West" in html
    assert "<script>alert(1)</script>" not in html
    data = client.get(f"/team/day.json?day={DAY.isoformat()}").get_json()
    reps = {r["name"]: r for r in data["reps"]}
    assert reps["West"]["done"] == 1 and reps["West"]["missed"] == 2  # the day has passed
    assert reps["East"]["unplanned"] == 1 and reps["East"]["planText"] == "no plan published"
    assert data["totals"]["done"] == 1
    assert {s["status"] for s in data["stops"]} == {"visited", "missed", "unplanned"}
    auth.logout()
    auth.login("west@example.com")
    assert client.get("/team/day").status_code == 403
    assert client.get("/team/day.json").status_code == 403


def test_page_in_korean(client: FlaskClient, auth, world, west_day):
    """Status words come from the catalogue."""
    auth.login("manager@example.com")
    data = client.get(f"/team/day.json?day={DAY.isoformat()}",
                      headers={"Accept-Language": "ko"}).get_json()
    statuses = {s["statusText"] for s in data["stops"]}
    assert "missed" not in statuses and len(statuses) == 1


def test_manager_opens_plan_and_run_a_planner_made(client: FlaskClient, auth, world):
    """A planner's run for the manager's reps: the manager opens the plan and the run; a
    manager of other territories gets 404 on both."""
    run = PlanRun(created_by_id=world.planner.id, start_date=DAY, end_date=DAY)
    db.session.add(run)
    db.session.flush()
    plan = publish_plan(world.rep_west, world.west_accounts, created_by=world.planner)
    plan.run_id = run.id
    make_user("other-manager@example.com", Role.MANAGER, "correct-horse-battery")
    db.session.commit()
    auth.login("manager@example.com")
    assert client.get(f"/planning/plans/{plan.id}").status_code == 200
    assert client.get(f"/planning/runs/{run.id}").status_code == 200
    auth.logout()
    auth.login("other-manager@example.com")
    assert client.get(f"/planning/plans/{plan.id}").status_code == 404
    assert client.get(f"/planning/runs/{run.id}").status_code == 404


def test_home_counts_the_teams_tasks_for_managers(client: FlaskClient, auth, world):
    """The manager's home counts their reps' overdue and due tasks; a rep still sees only
    their own."""
    from geocrm.clock import local_today
    from geocrm.models import Task

    today = local_today()
    for n in range(3):
        db.session.add(Task(title=f"Overdue {n}", assignee_id=world.rep_west.id,
                            due_date=today - timedelta(days=2)))
    db.session.add(Task(title="Today east", assignee_id=world.rep_east.id, due_date=today))
    db.session.add(Task(title="Mine", assignee_id=world.manager.id, due_date=today))
    db.session.commit()
    auth.login("manager@example.com")
    html = client.get("/home").get_data(as_text=True)
    assert "Overdue, my team" in html and "<small>(3)</small>" in html
    assert "<small>(2)</small>" in html  # due today: east's and the manager's own
    auth.logout()
    auth.login("east@example.com")
    html = client.get("/home").get_data(as_text=True)
    assert "my team" not in html and "<small>(1)</small>" in html and "<small>(0)</small>" in html


def test_days_are_the_companys_local_days(app, world):
    """In Seoul, a check-in at 01:30 on the 24th (16:30 UTC on the 23rd) belongs to the 24th;
    one at 23:30 on the 24th (14:30 UTC) too, and nothing from the 25th."""
    from datetime import datetime

    from geocrm.teamday.visits import day_visits

    app.config["GEOCRM_TIMEZONE"] = "Asia/Seoul"
    aalto = world.west_accounts[0]
    for when in (datetime(2026, 11, 23, 16, 30), datetime(2026, 11, 24, 14, 30),
                 datetime(2026, 11, 24, 15, 30), datetime(2026, 11, 23, 14, 59)):
        check_in(world.rep_west, aalto, when)
    db.session.commit()
    got = [v.occurred_at for v in day_visits([world.rep_west.id], DAY)[world.rep_west.id]]
    assert got == [datetime(2026, 11, 23, 16, 30), datetime(2026, 11, 24, 14, 30)]


def test_another_managers_accounts_stay_unnamed(client: FlaskClient, auth, world, west_day):
    """West also works a territory of another manager: our manager sees the visit there (and
    its drive) but not the account's name, place or notes, on the day page and the report."""
    import shapely

    from tests.factories import make_territory

    other = make_user("north-manager@example.com", Role.MANAGER, "pw-long-enough-1")
    north = make_territory("North", shapely.box(24.90, 60.20, 25.00, 60.25),
                           manager_id=other.id)
    north.reps.append(world.rep_west)
    secret = make_account("Secret North Oy", 60.22, 24.93, territory_id=north.id)
    check_in(world.rep_west, secret, at(12), notes="North's pricing")
    db.session.commit()
    auth.login("manager@example.com")
    data = client.get(f"/team/day.json?day={DAY.isoformat()}").get_json()
    row = next(s for s in data["stops"] if s["status"] == "unplanned")
    assert row["account"] == "an account outside your territories"
    assert row["lat"] is None and row["accountUrl"] == ""
    url = f"/team/reports/{world.rep_west.id}/{DAY.isoformat()}"
    for body in (client.get(url).get_data(as_text=True),
                 client.get(f"{url}.csv").get_data(as_text=True)):
        assert "Secret North" not in body and "North's pricing" not in body
        assert "an account outside your territories" in body
    auth.logout()
    auth.login("west@example.com")  # the rep sees their own day whole
    assert "Secret North Oy" in client.get(url).get_data(as_text=True)


def test_manager_closes_a_reps_own_task_from_home(client: FlaskClient, auth, world):
    """A rep's task without an account shows on the manager's home, and its Done button
    works for the manager (it answered 404); another manager cannot close it."""
    from geocrm.clock import local_today
    from geocrm.models import Task, TaskStatus

    task = Task(title="Renew parking permit", assignee_id=world.rep_west.id,
                due_date=local_today())
    db.session.add(task)
    make_user("other-manager@example.com", Role.MANAGER, "correct-horse-battery")
    db.session.commit()
    auth.login("other-manager@example.com")
    assert client.post(f"/crm/tasks/{task.id}", data={"status": "done"}).status_code == 404
    auth.logout()
    auth.login("manager@example.com")
    assert "Renew parking permit" in client.get("/home").get_data(as_text=True)
    assert client.post(f"/crm/tasks/{task.id}", data={"status": "done"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.DONE
