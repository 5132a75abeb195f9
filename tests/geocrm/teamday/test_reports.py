"""The daily report (日報): built from the day, the rep's comment and submission, the
manager's comments and read receipt, scoping, CSV and the printable page."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient

from geocrm.errors import ConflictError, NotFoundError
from geocrm.extensions import db
from geocrm.models import InteractionKind, Role
from geocrm.spatial import haversine_m
from geocrm.teamday import reports
from tests.factories import make_interaction, make_user
from tests.geocrm.teamday.helpers import DAY, at, check_in

CIRCUITY = 1.3  # GEOCRM_TRAVEL=straight in the tests


def leg(a, b) -> float:
    return haversine_m(a[0], a[1], b[0], b[1]) * CIRCUITY


@pytest.fixture
def west_visits(world):
    """West: Kirja at 10:00 logged first, Aalto at 09:00 (synced later), and a call."""
    aalto, kirja = world.west_accounts
    check_in(world.rep_west, kirja, at(10), notes="Kirja wants a quote", outcome="interested")
    check_in(world.rep_west, aalto, at(9), out_after_min=45)
    make_interaction(aalto, world.rep_west, kind=InteractionKind.CALL, occurred_at=at(14),
                     notes="=HYPERLINK(\"http://x\")")
    db.session.commit()


def test_report_reads_the_day_in_check_in_order(world, west_visits):
    """Visits in check-in order, times, and the distance home → Aalto → Kirja → home from the
    travel provider (a straight-line estimate here, and it says so)."""
    view = reports.day_report(world.rep_west, world.rep_west.id, DAY)
    assert [ln.item.account.name for ln in view.lines] == ["Kahvila Aalto", "Kirja & Co",
                                                           "Kahvila Aalto"]
    assert view.first_checkin == at(9) and view.last_checkout == at(10, 20)
    home, aalto, kirja = (60.17, 24.92), (60.16, 24.91), (60.18, 24.93)
    expected = leg(home, aalto) + leg(aalto, kirja) + leg(kirja, home)
    assert view.metres == pytest.approx(expected, abs=3)
    assert view.distance.estimate and view.distance.from_home
    assert view.lines[0].drive_m == pytest.approx(leg(home, aalto), abs=1)
    assert view.lines[1].drive_m == pytest.approx(leg(aalto, kirja), abs=1)
    assert view.lines[2].drive_m is None  # a call drives nowhere


def test_submit_then_final_and_scoped(world, west_visits):
    """The rep saves, submits; a second submit is refused; a manager cannot write it; the
    other rep cannot even see it."""
    reports.save(world.rep_west, world.rep_west.id, DAY, "Good day", submit=False)
    record = reports.save(world.rep_west, world.rep_west.id, DAY, "Good day, two quotes",
                          submit=True)
    db.session.commit()
    assert record.status == "submitted" and record.submitted_at is not None
    with pytest.raises(ConflictError):
        reports.save(world.rep_west, world.rep_west.id, DAY, "changed", submit=True)
    with pytest.raises(ConflictError):
        reports.save(world.manager, world.rep_west.id, DAY, "manager's words", submit=True)
    with pytest.raises(NotFoundError):
        reports.day_report(world.rep_east, world.rep_west.id, DAY)
    other = make_user("other-manager@example.com", Role.MANAGER, "pw-long-enough-1")
    with pytest.raises(NotFoundError):
        reports.day_report(other, world.rep_west.id, DAY)
    with pytest.raises(NotFoundError):
        reports.comment(other, world.rep_west.id, DAY, "hello")


def test_manager_comments_and_reads(world, west_visits):
    """Comments only on a submitted report; the manager's comment marks it read by them."""
    with pytest.raises(ConflictError):
        reports.comment(world.manager, world.rep_west.id, DAY, "Too early")
    reports.save(world.rep_west, world.rep_west.id, DAY, "Done", submit=True)
    reports.comment(world.manager, world.rep_west.id, DAY, "Follow up on Kirja's quote")
    reports.comment(world.rep_west, world.rep_west.id, DAY, "Will do")
    db.session.commit()
    record = reports.find(world.rep_west.id, DAY)
    assert [c.body for c in record.comments] == ["Follow up on Kirja's quote", "Will do"]
    assert record.read_by_id == world.manager.id and record.read_at is not None
    rows = {r.rep.id: r for r in reports.inbox(world.manager, DAY)}
    assert rows[world.rep_west.id].visits == 2 and rows[world.rep_east.id].record is None


def test_late_sync_is_marked(world, west_visits):
    """A visit that syncs after the submission shows, marked as such."""
    reports.save(world.rep_west, world.rep_west.id, DAY, None, submit=True)
    db.session.commit()
    check_in(world.rep_west, world.west_accounts[1], at(16))
    db.session.commit()
    view = reports.day_report(world.manager, world.rep_west.id, DAY)
    assert [ln.late_sync for ln in view.lines] == [False, False, False, True]


def test_pages_csv_and_print(client: FlaskClient, auth, world, west_visits):
    """The rep submits through the page; the manager comments; the CSV is safe (formula
    defused) and in the company unit; the printable page has print styles."""
    auth.login("west@example.com")
    url = f"/team/reports/{world.rep_west.id}/{DAY.isoformat()}"
    assert client.get("/team/reports").status_code == 302
    response = client.post(url, data={"comment": "<b>Two</b> quotes", "action": "submit"})
    assert response.status_code == 302
    assert client.post(url, data={"comment": "again", "action": "submit"}).status_code == 409
    assert client.get(f"/team/reports/{world.rep_east.id}/{DAY.isoformat()}").status_code == 404
    auth.logout()
    auth.login("manager@example.com")
    html = client.get(url).get_data(as_text=True)
    assert "&lt;b&gt;Two&lt;/b&gt; quotes" in html and "Kirja wants a quote" in html
    assert client.post(f"{url}/comments", data={"body": "Nice"}).status_code == 302
    assert "Nice" in client.get(url).get_data(as_text=True)
    inbox = client.get(f"/team/reports?day={DAY.isoformat()}").get_data(as_text=True)
    assert "read by Manager" in inbox
    body = client.get(f"{url}.csv").get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][8] == "Drive to here (km)"
    assert rows[3][9].startswith("'=HYPERLINK")
    total = next(r for r in rows if r and r[0] == "Distance driven")
    assert float(total[1]) > 0 and total[2] == "km" and total[3] == "straight-line estimate"
    printable = client.get(f"{url}?print=1").get_data(as_text=True)
    assert 'class="print-view"' in printable and "teamday.css" in printable


def test_csv_in_miles(app, client: FlaskClient, auth, world, west_visits):
    """GEOCRM_DISTANCE_UNIT=mi: the CSV's distances are miles."""
    app.config["GEOCRM_DISTANCE_UNIT"] = "mi"
    auth.login("west@example.com")
    body = client.get(f"/team/reports/{world.rep_west.id}/{DAY.isoformat()}.csv"
                      ).get_data(as_text=True)
    total = next(r for r in csv.reader(io.StringIO(body.lstrip("\ufeff")))
                 if r and r[0] == "Distance driven")
    view = reports.day_report(world.rep_west, world.rep_west.id, DAY)
    assert total[2] == "mi" and float(total[1]) == round(view.metres / 1609.344, 1)


def test_submission_and_comments_notify(app, world, west_visits):
    """Submitting tells the rep's territory managers; a manager's comment tells the rep; a
    rep of another territory hears nothing (messages queued in the outbox, sent later)."""
    from sqlalchemy import select

    from geocrm.models import Notification

    app.config["GEOCRM_SMTP_HOST"] = "127.0.0.1"  # mail is set up: messages are kept
    reports.save(world.rep_west, world.rep_west.id, DAY, "Two quotes", submit=True)
    reports.comment(world.manager, world.rep_west.id, DAY, "Call Kirja tomorrow")
    db.session.commit()
    rows = db.session.scalars(select(Notification).where(Notification.kind == "daily_report")
                              .order_by(Notification.id)).all()
    assert [(r.user_id, r.channel) for r in rows] == [(world.manager.id, "email"),
                                                     (world.rep_west.id, "email")]
    assert "West" in rows[0].subject and rows[0].body == "Two quotes"
    assert rows[1].body == "Call Kirja tomorrow"
    assert rows[1].url == f"/team/reports/{world.rep_west.id}/{DAY.isoformat()}"


def test_report_sets_the_plan_against_the_day(client: FlaskClient, auth, world, west_visits):
    """With a published plan (Aalto only), the report counts Aalto done and Kirja unplanned,
    as the manager's day does."""
    from tests.geocrm.teamday.helpers import publish_plan

    publish_plan(world.rep_west, [world.west_accounts[0]])
    db.session.commit()
    view = reports.day_report(world.manager, world.rep_west.id, DAY)
    assert view.plan is not None
    assert view.plan.count("visited", "late") == 1
    assert [i.account.name for i in view.plan.unplanned] == ["Kirja & Co"]
    auth.login("west@example.com")
    html = client.get(f"/team/reports/{world.rep_west.id}/{DAY.isoformat()}").get_data(
        as_text=True)
    assert 'data-key="unplanned">1<' in html and 'data-key="done">1<' in html


def test_unreachable_road_service_is_an_estimate_and_says_so(app, client: FlaskClient, auth,
                                                            world, west_visits):
    """GEOCRM_TRAVEL=osrm with the server down: the distance is still given (great-circle),
    marked an estimate, and the report names the road service that did not answer."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(GEOCRM_TRAVEL="osrm", GEOCRM_OSRM_URL=f"http://127.0.0.1:{port}")
    view = reports.day_report(world.rep_west, world.rep_west.id, DAY)
    assert view.metres > 0 and view.distance.estimate and not view.distance.straight
    auth.login("west@example.com")
    html = client.get(f"/team/reports/{world.rep_west.id}/{DAY.isoformat()}").get_data(
        as_text=True)
    assert "Measured along the roads" not in html and f"127.0.0.1:{port}" in html
