"""Duplicate finding and merging: the survivor keeps every interaction, task and the rest."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from geocrm.crm import duplicates
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    AssignmentHistory,
    AuditEntry,
    Contact,
    Interaction,
    InteractionKind,
    Opportunity,
    PlanStatus,
    RoutePlan,
    RouteStop,
    Stage,
    Tag,
    Task,
)
from geocrm.models.crm import AccountMerge, DuplicateDismissal
from tests.factories import make_account, make_interaction


def _count(model, **where):
    stmt = select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return db.session.scalar(stmt)


@pytest.fixture
def twins(world):
    """W1 "Kahvila Aalto" and a near copy 40 m away, each with its own history."""
    w1 = world.west_accounts[0]
    copy = make_account("Kahvila Aalto Oy", 60.16035, 24.91, territory_id=world.west.id,
                        stage=Stage.PROSPECT, phone="+358 40 123 4567", email="info@aalto.fi",
                        custom_fields={"size": "small", "wifi": "yes"}, cadence_days=14,
                        source="osm", external_id="node/42")
    w1.phone = "040-123 4567"
    w1.custom_fields = {"size": "large"}
    w1.last_visit_at = datetime(2024, 5, 1, 9)
    copy.last_visit_at = datetime(2024, 6, 1, 9)
    tag_a, tag_b = Tag(name="cafe"), Tag(name="vip")
    db.session.add_all([tag_a, tag_b])
    w1.tags.append(tag_a)
    copy.tags.extend([tag_a, tag_b])
    for account, n in ((w1, 2), (copy, 3)):
        for i in range(n):
            make_interaction(account, world.rep_west, kind=InteractionKind.VISIT,
                             occurred_at=datetime(2024, 6, 1 + i, 10), notes=f"{account.id}-{i}")
        db.session.add(Task(title=f"task {account.id}", account_id=account.id,
                            assignee_id=world.rep_west.id, due_date=date(2024, 7, 1)))
        db.session.add(Opportunity(account_id=account.id, name=f"deal {account.id}",
                                   amount=Decimal("10")))
        db.session.add(Contact(account_id=account.id, name=f"Person {account.id}"))
        db.session.add(AssignmentHistory(account_id=account.id, territory_id=world.west.id,
                                         since=datetime(2024, 1, 1)))
        db.session.add(AuditEntry(entity="account", entity_id=account.id, action="update",
                                  changes={"phone": [None, "x"]}))
    plan = RoutePlan(rep_id=world.rep_west.id, plan_date=date(2024, 6, 3),
                     status=PlanStatus.PUBLISHED)
    db.session.add(plan)
    db.session.flush()
    db.session.add(RouteStop(plan_id=plan.id, seq=1, account_id=copy.id))
    db.session.commit()
    return world, w1, copy


def test_finder_pairs_alike_names_nearby_and_shared_identifiers(twins):
    """The near copy is found (name, distance, phone); unrelated accounts are not paired."""
    world, w1, copy = twins
    far_same_email = make_account("Totally Else", 60.19, 24.99, territory_id=world.east.id,
                                  email="INFO@aalto.fi ")
    db.session.commit()
    found = duplicates.find_duplicates(world.admin)
    pairs = {(c.a_id, c.b_id): c for c in found}
    c = pairs[(w1.id, copy.id)]
    assert c.name_similarity == 1.0  # "Oy" is a legal form, folded away
    assert c.distance_m == pytest.approx(39.0, abs=1.0)
    assert "same phone" in c.reasons and c.score > 0.9
    assert (copy.id, far_same_email.id) in pairs  # same email, 3 km apart
    assert "same email" in pairs[(copy.id, far_same_email.id)].reasons
    assert len(found) == 2
    # The West rep's manager sees both; the East rep is not a data steward, and a scoped
    # search only returns pairs whose accounts the user may see.
    assert {(c.a_id, c.b_id) for c in duplicates.find_duplicates(world.rep_west)} == {
        (w1.id, copy.id)}


def test_finder_typo_and_dismissal(twins):
    """A typo in every word still pairs (same start); a dismissed pair is not shown again."""
    world, w1, copy = twins
    typo = make_account("Kahvla Alto", 60.1601, 24.9102, territory_id=world.west.id)
    db.session.commit()
    found = {(c.a_id, c.b_id) for c in duplicates.find_duplicates(world.manager)}
    assert (w1.id, typo.id) in found
    duplicates.dismiss_pair(world.manager, typo.id, w1.id)
    assert db.session.scalar(select(DuplicateDismissal.account_a_id)) == w1.id
    found = {(c.a_id, c.b_id) for c in duplicates.find_duplicates(world.manager)}
    assert (w1.id, typo.id) not in found and (w1.id, copy.id) in found
    with pytest.raises(NotFoundError):
        duplicates.dismiss_pair(world.rep_east, w1.id, copy.id)


def test_merge_keeps_every_history_row_and_the_picked_fields(twins):
    """Interactions, tasks, opportunities, contacts, tags, assignment history, stops, audit:
    all on the survivor; fields as picked; the merged row is gone and recorded."""
    world, w1, copy = twins
    copy_id = copy.id
    before = {m: _count(m) for m in (Interaction, Task, Opportunity, Contact, AuditEntry)}
    record = duplicates.merge_accounts(
        world.manager, w1.id, copy_id,
        {"stage": "merged", "phone": "merged", "external_id": "merged", "custom:size": "merged"},
    )
    db.session.expire_all()
    assert db.session.get(Account, copy_id) is None
    survivor = db.session.get(Account, w1.id)
    assert _count(Interaction, account_id=w1.id) == 5
    assert _count(Task, account_id=w1.id) == 2
    assert _count(Opportunity, account_id=w1.id) == 2
    assert _count(Contact, account_id=w1.id) == 2
    assert _count(RouteStop, account_id=w1.id) == 1
    assert _count(AssignmentHistory, account_id=w1.id) == 2
    assert _count(AssignmentHistory, account_id=w1.id, until=None) == 1  # one open row
    # Nothing was lost anywhere: the same totals as before (plus the merge's audit entry).
    assert _count(Interaction) == before[Interaction]
    assert _count(Task) == before[Task]
    assert _count(Opportunity) == before[Opportunity]
    assert _count(AuditEntry) == before[AuditEntry] + 1
    assert _count(AuditEntry, entity="account", entity_id=w1.id) == 3
    assert sorted(t.name for t in survivor.tags) == ["cafe", "vip"]
    assert survivor.name == "Kahvila Aalto"  # default: the survivor's value
    assert survivor.stage == Stage.PROSPECT and survivor.phone == "+358 40 123 4567"
    assert survivor.email == "info@aalto.fi"  # survivor had none: the merged one's by default
    assert (survivor.source, survivor.external_id) == ("osm", "node/42")
    assert survivor.custom_fields == {"size": "small", "wifi": "yes"}
    assert survivor.cadence_days == 14
    assert survivor.last_visit_at == datetime(2024, 6, 1, 9)
    assert record.merged_id == copy_id and record.merged_external_id == "node/42"
    assert record.moved["interactions"] == 3 and record.moved["tasks"] == 1
    assert record.snapshot["name"] == "Kahvila Aalto Oy"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "merge")).one()
    assert entry.entity_id == w1.id and entry.user_id == world.manager.id
    assert entry.changes["stage"] == ["customer", "prospect"]
    assert entry.changes["merged_account"] == [copy_id, "Kahvila Aalto Oy"]


def test_merge_is_scoped_and_validated(twins):
    """Accounts the user cannot see answer 404; bad picks are rejected before any write."""
    world, w1, copy = twins
    east = world.east_accounts[0]
    with pytest.raises(NotFoundError):
        duplicates.merge_accounts(world.rep_west, w1.id, east.id, {})
    with pytest.raises(ValidationError) as err:
        duplicates.merge_accounts(world.manager, w1.id, copy.id, {"stage": "both"})
    assert err.value.field == "stage"
    with pytest.raises(ValidationError):
        duplicates.merge_accounts(world.manager, w1.id, w1.id, {})
    db.session.rollback()
    assert db.session.get(Account, copy.id) is not None
    assert _count(Interaction, account_id=copy.id) == 3


def test_merge_moves_location_and_territory_together(twins):
    """Picking the merged account's pin re-places the survivor in that pin's territory."""
    world, w1, _ = twins
    east_copy = make_account("Kahvila Aalto", 60.17, 24.97, territory_id=world.east.id)
    db.session.commit()
    duplicates.merge_accounts(world.admin, w1.id, east_copy.id, {"location": "merged"})
    survivor = db.session.get(Account, w1.id)
    assert (survivor.lat, survivor.lon, survivor.territory_id) == (60.17, 24.97, world.east.id)
    # The history follows: W1's West row (since 2024) closes, one open row names East.
    rows = db.session.scalars(select(AssignmentHistory).where(
        AssignmentHistory.account_id == w1.id).order_by(AssignmentHistory.id)).all()
    assert [(r.territory_id, r.territory_name, r.until is None, r.changed_by_id, r.reason)
            for r in rows] == [
        (world.west.id, None, False, None, None),  # the fixture's row, closed by the move
        (world.east.id, "East", True, world.admin.id, "merge: the merged account's pin"),
    ]
    assert rows[0].until == rows[1].since


def test_merge_keeping_the_survivors_pin_writes_no_history_row(twins):
    world, w1, copy = twins
    duplicates.merge_accounts(world.admin, w1.id, copy.id, {"location": "survivor"})
    assert _count(AssignmentHistory, account_id=w1.id) == 2  # the survivor's and the copy's
    assert _count(AssignmentHistory, account_id=w1.id, until=None) == 1


def test_merge_pages_for_stewards_only(twins, client, auth):
    """Reps may not open the duplicate pages; a manager merges through the form."""
    world, w1, copy = twins
    auth.login("west@example.com")
    assert client.get("/crm/duplicates").status_code == 403
    assert client.post("/crm/merge", data={"survivor": w1.id, "merged": copy.id}).status_code \
        == 403
    auth.logout()
    auth.login("manager@example.com")
    page = client.get("/crm/duplicates").get_data(as_text=True)
    assert f"/crm/merge?survivor={w1.id}&amp;merged={copy.id}" in page
    preview = client.get(f"/crm/merge?survivor={w1.id}&merged={copy.id}")
    assert preview.status_code == 200 and b"Kahvila Aalto Oy" in preview.data
    r = client.post("/crm/merge", data={"survivor": w1.id, "merged": copy.id,
                                        "pick_name": "merged"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/accounts/{w1.id}")
    assert db.session.get(Account, w1.id).name == "Kahvila Aalto Oy"
    assert db.session.scalar(select(func.count()).select_from(AccountMerge)) == 1
    html = client.get(f"/accounts/{w1.id}").get_data(as_text=True)
    assert "Merged into this account" in html and html.count('class="interaction') == 5
