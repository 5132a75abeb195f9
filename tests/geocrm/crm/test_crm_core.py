"""Account 360, tasks and follow-ups, opportunities, the audit trail, pin correction,
segments (with the planner's contract) and data health."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from geocrm.crm import health, segments, services
from geocrm.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    AssignmentHistory,
    AuditEntry,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    Tag,
    Task,
    TaskStatus,
    utcnow,
)
from geocrm.models.crm import Segment
from tests.factories import make_account, make_interaction

# -- tasks and the home page ---------------------------------------------------------------


def test_home_lists_due_today_and_overdue(world, client, auth):
    """Each user's home shows their own tasks due today and overdue, nobody else's."""
    today = utcnow().date()
    w1 = world.west_accounts[0]
    for title, due, who in (
        ("Call back today", today, world.rep_west),
        ("Late quote", today - timedelta(days=3), world.rep_west),
        ("Next week", today + timedelta(days=7), world.rep_west),
        ("East's own", today, world.rep_east),
    ):
        db.session.add(Task(title=title, due_date=due, assignee_id=who.id, account_id=w1.id))
    db.session.add(Task(title="Done already", due_date=today, assignee_id=world.rep_west.id,
                        status=TaskStatus.DONE))
    db.session.commit()
    home = services.home_tasks(world.rep_west, today)
    assert [t.title for t in home.due_today] == ["Call back today"]
    assert [t.title for t in home.overdue] == ["Late quote"]
    assert [t.title for t in home.upcoming] == ["Next week"]
    auth.login("west@example.com")
    html = client.get("/home").get_data(as_text=True)
    due = html[html.index('id="due-today"'):html.index('id="overdue"')]
    late = html[html.index('id="overdue"'):html.index('id="upcoming"')]
    assert "Call back today" in due and "Late quote" not in due
    assert "Late quote" in late and "East&#39;s own" not in html and "East's own" not in html


def test_next_step_becomes_a_task_once(world, client, auth):
    """Logging with a due date makes the next step a task; the button does it once."""
    w1 = world.west_accounts[0]
    auth.login("west@example.com")
    r = client.post(f"/crm/accounts/{w1.id}/interactions", data={
        "kind": "call", "outcome": "follow_up", "notes": "Asked for prices",
        "next_step": "Send the price list", "task_due": "2030-01-15"})
    assert r.status_code == 302
    call = db.session.scalars(select(Interaction).where(Interaction.account_id == w1.id)).one()
    task = db.session.scalars(select(Task).where(Task.interaction_id == call.id)).one()
    assert (task.title, task.due_date, task.assignee_id) == (
        "Send the price list", date(2030, 1, 15), world.rep_west.id)
    with pytest.raises(ConflictError):
        services.task_from_next_step(world.rep_west, call.id, {})
    visit = make_interaction(w1, world.rep_west, next_step="Demo the new range")
    db.session.commit()
    r = client.post(f"/crm/interactions/{visit.id}/task", data={"due_date": "2030-02-01"})
    assert r.status_code == 302
    made = db.session.scalars(select(Task).where(Task.interaction_id == visit.id)).one()
    assert made.title == "Demo the new range" and made.account_id == w1.id
    # The East rep cannot turn a West interaction into a task: 404.
    auth.logout()
    auth.login("east@example.com")
    assert client.post(f"/crm/interactions/{visit.id}/task").status_code == 404


def test_task_rules(world):
    """Assignees must see the account; status changes are audited; others' tasks are 404."""
    w1 = world.west_accounts[0]
    with pytest.raises(ValidationError) as err:
        services.create_task(world.manager, {"account_id": w1.id, "title": "x",
                                             "assignee_id": world.rep_east.id})
    assert err.value.field == "assignee_id"
    with pytest.raises(ValidationError):
        services.create_task(world.rep_west, {"account_id": w1.id, "title": " "})
    with pytest.raises(ValidationError) as err:
        services.create_task(world.rep_west, {"account_id": w1.id, "title": "x",
                                              "due_date": "31.12.2030"})
    assert err.value.field == "due_date"
    task = services.create_task(world.manager, {"account_id": w1.id, "title": "Visit",
                                                "assignee_id": world.rep_west.id})
    services.update_task(world.rep_west, task.id, {"status": "done"})
    assert task.status == TaskStatus.DONE and task.completed_at is not None
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "task", AuditEntry.action == "update")).one()
    assert entry.changes == {"status": ["open", "done"]} and entry.user_id == world.rep_west.id
    with pytest.raises(NotFoundError):
        services.update_task(world.rep_east, task.id, {"status": "open"})
    assert [t.id for t in services.task_list(world.manager, view="team",
                                             today=date.today())] == []


# -- opportunities --------------------------------------------------------------------------


def test_opportunities_and_the_pipeline_page(world, client, auth):
    """Create, move along the board; amounts validated; other territories' deals are 404."""
    w1 = world.west_accounts[0]
    opp = services.create_opportunity(world.rep_west, w1.id, {
        "name": "Espresso machines", "amount": "12 500,50", "expected_close": "2030-03-01"})
    assert (opp.stage, opp.amount, opp.owner_id) == (
        OpportunityStage.QUALIFY, Decimal("12500.50"), world.rep_west.id)
    with pytest.raises(ValidationError) as err:
        services.create_opportunity(world.rep_west, w1.id, {"name": "x", "amount": "-5"})
    assert err.value.field == "amount"
    with pytest.raises(NotFoundError):
        services.update_opportunity(world.rep_east, opp.id, {"stage": "won"})
    auth.login("west@example.com")
    r = client.post(f"/crm/opportunities/{opp.id}", data={"stage": "won"})
    assert r.status_code == 302
    db.session.refresh(opp)
    assert opp.stage == OpportunityStage.WON and opp.closed
    page = client.get("/crm/pipeline").get_data(as_text=True)
    assert "Espresso machines" in page and "€12,500.50" in page
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "opportunity", AuditEntry.action == "update")).one()
    assert entry.changes["stage"] == ["qualify", "won"]
    assert entry.changes["closed"] == [False, True]


# -- account 360 and the audit trail --------------------------------------------------------------


def test_account_360_shows_everything_and_the_audit_trail(world, client, auth):
    """Details, custom fields, contacts, timeline with check-in data, tasks, deals, map, audit."""
    from geocrm.accounts.services import update_account

    w1 = world.west_accounts[0]
    make_interaction(w1, world.rep_west, occurred_at=datetime(2024, 6, 3, 9, 5),
                     checkin_at=datetime(2024, 6, 3, 9, 5), checkout_at=datetime(2024, 6, 3, 9, 50),
                     checkin_lat=60.1601, checkin_lon=24.9101, checkin_accuracy_m=8,
                     distance_m=12.4, outcome="interested", notes="<b>liked</b> it")
    make_interaction(w1, world.rep_west, kind=InteractionKind.EMAIL,
                     occurred_at=datetime(2024, 6, 4, 8), notes="Sent the catalogue")
    make_interaction(w1, world.rep_west, kind=InteractionKind.CAMPAIGN_RESPONSE,
                     occurred_at=datetime(2024, 6, 5, 8), outcome="responded")
    db.session.commit()
    services.set_custom_field(world.rep_west, w1.id, "Seats", "40")
    update_account(w1.id, world.manager, {"phone": "+358 9 555", "cadence_days": 21})
    auth.login("west@example.com")
    html = client.get(f"/accounts/{w1.id}").get_data(as_text=True)
    for text in ("Custom fields", "Seats", "Check-in 9:05 AM at 60.16010, 24.91010 (±8 m), 12 m "
                 "from the pin; check-out 9:50 AM (45 min)", "Sent the catalogue",
                 "campaign response", "&lt;b&gt;liked&lt;/b&gt; it", "Changes", "+358 9 555",
                 "Manager", "js/points_map.js", "vendor/leaflet/leaflet.js"):
        assert text in html, text
    assert "cdn" not in html.lower() and "unpkg" not in html
    trail = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "account", AuditEntry.entity_id == w1.id)
        .order_by(AuditEntry.id)
    ).all()
    assert trail[0].changes == {"custom_fields": [{}, {"Seats": "40"}]}
    assert trail[1].changes == {"phone": [None, "+358 9 555"], "cadence_days": [None, 21]}
    assert trail[1].user_id == world.manager.id
    with pytest.raises(ValidationError):
        services.set_custom_field(world.rep_west, w1.id, "", "x")
    assert client.get(f"/accounts/{world.east_accounts[0].id}").status_code == 404


def test_moving_a_pin_by_hand_into_another_territory_records_the_history(world, client, auth):
    """W1's pin moved from West into East: the account is East's, one open history row names
    East with who and why (the old row closes at that moment), the audit has the territory,
    and Account 360 lists it; a move within East writes no further row."""
    from geocrm.accounts.services import update_account

    w1 = world.west_accounts[0]  # pin 60.16, 24.91 in West
    db.session.add(AssignmentHistory(account_id=w1.id, territory_id=world.west.id,
                                     territory_name="West", since=datetime(2024, 1, 1)))
    db.session.commit()
    update_account(w1.id, world.manager, {"lat": "60.17", "lon": "24.97"})
    db.session.expire_all()
    assert db.session.get(Account, w1.id).territory_id == world.east.id
    rows = db.session.scalars(select(AssignmentHistory).where(
        AssignmentHistory.account_id == w1.id).order_by(AssignmentHistory.id)).all()
    assert [(r.territory_id, r.territory_name, r.until is None, r.changed_by_id, r.reason)
            for r in rows] == [
        (world.west.id, "West", False, None, None),
        (world.east.id, "East", True, world.manager.id, "pin moved by hand"),
    ]
    assert rows[0].until == rows[1].since
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "account", AuditEntry.entity_id == w1.id)).one()
    assert entry.changes["territory_id"] == [world.west.id, world.east.id]
    update_account(w1.id, world.manager, {"lat": "60.18", "lon": "24.98"})  # still East
    assert db.session.scalars(select(AssignmentHistory.id).where(
        AssignmentHistory.account_id == w1.id)).all() == [r.id for r in rows]
    auth.login("manager@example.com")
    html = client.get(f"/accounts/{w1.id}").get_data(as_text=True)
    assert "pin moved by hand" in html


def test_pin_correction_from_a_verified_checkin(world, client, auth):
    """A good fix 300 m off offers to move the pin; accepting re-places and audits it."""
    w1 = world.west_accounts[0]  # pin 60.16, 24.91 in West
    sloppy = make_interaction(w1, world.rep_west, occurred_at=datetime(2024, 6, 2, 9),
                              checkin_lat=60.1627, checkin_lon=24.91, checkin_accuracy_m=120)
    db.session.commit()
    assert services.pin_suggestion(w1, world.rep_west) is None  # 120 m accuracy: not verified
    good = make_interaction(w1, world.rep_west, occurred_at=datetime(2024, 6, 3, 9),
                            checkin_lat=60.1627, checkin_lon=24.91, checkin_accuracy_m=12)
    db.session.commit()
    pin = services.pin_suggestion(w1, world.rep_west)
    assert pin is not None and pin.interaction_id == good.id
    assert pin.offset_m == pytest.approx(300.2, abs=0.5)
    assert services.pin_suggestion(w1, world.rep_east) is None  # not theirs
    auth.login("east@example.com")
    assert client.post(f"/crm/accounts/{w1.id}/pin",
                       data={"interaction_id": good.id}).status_code == 404
    auth.logout()
    auth.login("west@example.com")
    assert b"Correct the pin?" in client.get(f"/accounts/{w1.id}").data
    r = client.post(f"/crm/accounts/{w1.id}/pin", data={"interaction_id": sloppy.id})
    assert r.status_code == 302 and db.session.get(Account, w1.id).lat == 60.16
    client.post(f"/crm/accounts/{w1.id}/pin", data={"interaction_id": good.id})
    db.session.expire_all()
    a = db.session.get(Account, w1.id)
    assert (a.lat, a.lon, a.location_source, a.location_confidence) == (
        60.1627, 24.91, "checkin", 0.95)
    assert a.territory_id == world.west.id
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "pin")).one()
    assert entry.changes["lat"] == [60.16, 60.1627] and entry.changes["from_checkin"] == good.id
    assert services.pin_suggestion(a, world.rep_west) is None  # now it agrees


# -- segments ---------------------------------------------------------------------------------


@pytest.fixture
def seg_world(world):
    """Values, tags and visit ages on the world's accounts."""
    w1, w2 = world.west_accounts
    e1, e2 = world.east_accounts
    today = utcnow().date()
    vip = Tag(name="vip")
    db.session.add(vip)
    w1.tags.append(vip)
    e2.tags.append(vip)
    for a, value, days_ago, cadence in ((w1, "500", 5, 30), (w2, "50", 40, 14),
                                        (e1, None, None, 30), (e2, "900", 100, None)):
        a.value = None if value is None else Decimal(value)
        a.last_visit_at = None if days_ago is None else datetime.combine(
            today - timedelta(days=days_ago), datetime.min.time()).replace(hour=10)
        a.cadence_days = cadence
    db.session.commit()
    return world


def _ids(world, *names):
    by_name = {a.name: a.id for a in world.west_accounts + world.east_accounts}
    by_name[world.unassigned.name] = world.unassigned.id
    return sorted(by_name[n] for n in names)


def test_segment_filters(seg_world):
    """Each filter on its own, and combined, for an admin."""
    w = seg_world
    ev = lambda **f: segments.evaluate(segments.SegmentFilters.parse(f), w.admin)  # noqa: E731
    assert ev(tags=["vip"]) == _ids(w, "Kahvila Aalto", "<script>alert(1)</script> Oy")
    assert ev(min_value="100") == _ids(w, "Kahvila Aalto", "<script>alert(1)</script> Oy")
    assert ev(max_value="100") == _ids(w, "Kirja & Co")
    assert ev(not_visited_days="30") == _ids(w, "Kirja & Co", "Itä Bakery",
                                             "<script>alert(1)</script> Oy", "Far Away Ltd")
    assert ev(visited_within_days="40") == _ids(w, "Kahvila Aalto", "Kirja & Co")
    assert ev(overdue="1") == _ids(w, "Kirja & Co", "Itä Bakery")
    assert ev(territory_ids=[str(w.west.id)], unassigned="1") == _ids(
        w, "Kahvila Aalto", "Kirja & Co", "Far Away Ltd")
    assert ev(stages=["lead"]) == _ids(w, "Itä Bakery", "Far Away Ltd")
    # 2 km around W1 (60.16, 24.91): W2 is 2.3 km away, E1 3.4 km.
    assert ev(near_lat="60.16", near_lon="24.91", near_km="2") == _ids(w, "Kahvila Aalto")
    assert ev(near_lat="60.16", near_lon="24.91", near_km="2.5") == _ids(
        w, "Kahvila Aalto", "Kirja & Co")
    assert ev(tags=["vip"], territory_ids=[str(w.east.id)]) == _ids(
        w, "<script>alert(1)</script> Oy")
    with pytest.raises(ValidationError) as err:
        segments.SegmentFilters.parse({"near_lat": "60", "near_lon": "24"})
    assert err.value.field == "near_km"
    with pytest.raises(ValidationError) as err:
        segments.SegmentFilters.parse({"stages": ["gold"]})
    assert err.value.field == "stages"


def test_segment_account_ids_contract(seg_world):
    """The planner's entry point: scoped to the user, 404 for someone else's private one."""
    w = seg_world
    shared = segments.save_segment(w.manager, {"name": "VIPs", "tags": "vip", "shared": "1"})
    private = segments.save_segment(w.manager, {"name": "Mine", "stages": "lead"})
    assert services.segment_account_ids(shared.id, w.manager) == _ids(
        w, "Kahvila Aalto", "<script>alert(1)</script> Oy")
    assert services.segment_account_ids(shared.id, w.rep_west) == _ids(w, "Kahvila Aalto")
    assert services.segment_account_ids(shared.id, w.rep_east) == _ids(
        w, "<script>alert(1)</script> Oy")
    with pytest.raises(NotFoundError):
        services.segment_account_ids(private.id, w.rep_west)
    with pytest.raises(NotFoundError):
        services.segment_account_ids(9999, w.admin)
    assert services.segment_account_ids(private.id, w.admin) == _ids(
        w, "Itä Bakery", "Far Away Ltd")
    with pytest.raises(PermissionDenied):
        segments.save_segment(w.rep_west, {"name": "hijack"}, shared.id)


def test_segment_pages_csv_map_and_campaign_responses(seg_world, client, auth):
    """Create through the form, export CSV (formula-safe), map, and record responses."""
    w = seg_world
    w.west_accounts[1].name = "=HYPERLINK(\"x\")"
    db.session.commit()
    auth.login("west@example.com")
    bad = client.post("/crm/segments/new", data={"name": "x", "min_value": "lots"})
    assert bad.status_code == 422 and b"min_value" in bad.data
    r = client.post("/crm/segments/new", data={"name": "West all", "territory_ids": w.west.id})
    seg = db.session.scalars(select(Segment)).one()
    assert r.headers["Location"].endswith(f"/crm/segments/{seg.id}")
    page = client.get(f"/crm/segments/{seg.id}").get_data(as_text=True)
    assert "(2 accounts)" in page and "Kahvila Aalto" in page
    rows = list(csv.reader(io.StringIO(client.get(f"/crm/segments/{seg.id}.csv")
                                       .get_data(as_text=True))))
    assert rows[0][:3] == ["id", "name", "address"]
    assert sorted(r[1] for r in rows[1:]) == ["'=HYPERLINK(\"x\")", "Kahvila Aalto"]
    m = client.get(f"/crm/segments/{seg.id}/map").get_data(as_text=True)
    assert "markercluster" in m and "Kahvila Aalto" in m
    w1, e1 = w.west_accounts[0].id, w.east_accounts[0].id
    r = client.post(f"/crm/segments/{seg.id}/responses", data={
        "campaign": "Summer", "outcome": "interested", "account_ids": [w1, e1]})
    assert Interaction.query.filter_by(kind=InteractionKind.CAMPAIGN_RESPONSE).count() == 0
    client.post(f"/crm/segments/{seg.id}/responses", data={
        "campaign": "Summer", "outcome": "interested", "account_ids": [w1]})
    resp = db.session.scalars(select(Interaction).where(
        Interaction.kind == InteractionKind.CAMPAIGN_RESPONSE)).one()
    assert (resp.account_id, resp.outcome, resp.notes) == (w1, "interested", "Campaign: Summer")
    auth.logout()
    auth.login("east@example.com")
    assert client.get(f"/crm/segments/{seg.id}").status_code == 404


# -- data health ------------------------------------------------------------------------------


def test_data_health_counts_and_scope(world, client, auth):
    """No pin, low confidence, stale, missing from import and disputed pins, per scope."""
    long_ago = utcnow() - timedelta(days=400)
    w1, w2 = world.west_accounts
    e1 = world.east_accounts[0]
    make_account("No Pin West", None, None, territory_id=world.west.id)
    make_account("No Pin East", None, None, territory_id=world.east.id)
    w2.location_confidence, w2.location_source = 0.3, "geocoder"
    e1.updated_at = long_ago
    w1.missing_since = long_ago
    make_interaction(w1, world.rep_west, checkin_lat=60.1627, checkin_lon=24.91,
                     checkin_accuracy_m=10)
    db.session.commit()
    db.session.execute(Account.__table__.update().where(Account.id == e1.id)
                       .values(updated_at=long_ago))
    db.session.commit()
    counts = health.health_counts(world.admin, utcnow().date())
    assert counts == {"no_location": 2, "low_confidence": 1, "stale": 1, "missing": 1,
                      "pin_disputed": 1}
    assert health.health_counts(world.manager, utcnow().date()) == counts
    # The manager sees the unassigned account too; it is healthy, so the counts agree.
    rows = health.health_list(world.admin, "low_confidence", utcnow().date())
    assert [(r.account[1], r.detail) for r in rows] == [("Kirja & Co", "geocoder, confidence 0.30")]
    auth.login("planner@example.com")
    html = client.get("/crm/health?check=pin_disputed").get_data(as_text=True)
    assert "Kahvila Aalto" in html and "300 m from the pin" in html
    auth.logout()
    auth.login("west@example.com")
    assert client.get("/crm/health").status_code == 403
    west_counts = health.health_counts(world.rep_west, utcnow().date())
    assert west_counts == {"no_location": 1, "low_confidence": 1, "stale": 0, "missing": 1,
                           "pin_disputed": 1}


def test_every_crm_page_needs_login(client, world):
    """Anonymous users are sent to the login page."""
    for url in ("/crm/tasks", "/crm/pipeline", "/crm/segments", "/crm/reports",
                "/crm/reports/coverage", "/crm/duplicates", "/crm/health"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url
    assert Opportunity.query.count() == 0
