"""Import matching that cannot lose a row: external ids first, merges remembered, people win.

Each test pins one bug of issue 11 as it was reported (rows with their own ids dropped as
"duplicates of an earlier row", a second import of a snapshot that still changed things,
merges undone by the next import, changes missing from the audit trail).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from geocrm.core.accounts import touch
from geocrm.crm.duplicates import merge_accounts
from geocrm.extensions import db
from geocrm.imports.matching import _Grid
from geocrm.imports.services import import_accounts
from geocrm.models import Account, AuditEntry, Role
from geocrm.models.provenance import ImportConflict, SourceRecord
from tests.conftest import PASSWORD

HEADER = "Licence,Name,Address,Latitude,Longitude,Phone\n"
MAPPING = {"external_id": "Licence", "name": "Name", "address": "Address", "lat": "Latitude",
           "lon": "Longitude", "phone": "Phone"}
# Distinct hospitals on one campus: one address, alike names, within 50 m of each other.
CAMPUS = HEADER + (
    "H1,Meilahti Hospital,Haartmaninkatu 4,60.1900,24.9050,09 1\n"
    "H2,Meilahti Hospital,Haartmaninkatu 4,60.1901,24.9051,09 2\n"
    "H3,Meilahti Hospital Eye Clinic,Haartmaninkatu 4,60.1902,24.9052,09 3\n"
    "H4,Meilahti Hospital Ltd,Haartmaninkatu 4,60.1903,24.9053,09 4\n"
)


def run(text: str, **kw):
    kw.setdefault("source", "register")
    kw.setdefault("mapping", MAPPING)
    return import_accounts(text.encode(), filename=kw.pop("filename", "register.csv"), **kw)


def accounts(source: str = "register") -> dict[str, Account]:
    return {a.external_id: a for a in db.session.scalars(
        select(Account).where(Account.source == source))}


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEntry.id))) or 0


def test_rows_with_their_own_ids_are_never_dropped(app, world):
    """Four hospitals on one campus with four licences become four accounts (the old in-file
    check kept one), listed for review; a snapshot of the same file flags none as gone."""
    result = run(CAMPUS, snapshot=True)
    assert result.inserted == 4, result.duplicates
    assert set(accounts()) == {"H1", "H2", "H3", "H4"}
    review = {d.row for d in result.duplicates if d.outcome == "review"}
    assert review == {3, 4, 5}
    again = run(CAMPUS, snapshot=True, filename="next.csv")
    assert (again.inserted, again.updated, again.flagged_missing) == (0, 0, 0)
    assert again.status == "unchanged"


def test_an_id_is_matched_before_any_duplicate_rule(app, world):
    """A row whose licence is known lands on that account even when an earlier row of the
    file has the same name at the same place (the old order dropped it and flagged its
    account as gone)."""
    run(CAMPUS, snapshot=True)
    moved = CAMPUS.replace("H1,Meilahti Hospital,Haartmaninkatu 4,60.1900,24.9050",
                           "H1,Meilahti Hospital,Haartmaninkatu 4,60.1901,24.9051")
    result = run(moved, snapshot=True, filename="2.csv")
    assert (result.inserted, result.flagged_missing) == (0, 0)
    assert result.updated == 1
    assert all(a.missing_since is None for a in accounts().values())


def test_the_same_id_twice_in_a_file_is_one_record(app, world):
    """A repeated licence is one account with the first row's values, the repeat reported."""
    text = HEADER + ("K1,Kahvila Kulma,Katu 1,60.17,24.94,1\n"
                     "K1,Kahvila Kulma 2,Katu 1,60.17,24.94,2\n")
    result = run(text)
    assert result.inserted == 1 and accounts()["K1"].phone == "1"
    assert [(d.row, d.rule, d.outcome) for d in result.duplicates] == [
        (3, "external_id", "repeat")]


def test_cjk_businesses_next_door_are_both_imported(app, world):
    """김밥천국 and ラーメン 一蘭 4 m apart with their own ids are two accounts, not one."""
    text = HEADER + ("J1,김밥천국,,37.5665,126.9780,\n"
                     "J2,ラーメン 一蘭,,37.56653,126.97802,\n"
                     "J3,김밥천국,,37.56652,126.97801,\n")
    result = run(text)
    assert result.inserted == 3
    assert {a.name for a in accounts().values()} == {"김밥천국", "ラーメン 一蘭"}
    assert [(d.row, d.rule, d.other, d.outcome) for d in result.duplicates] == [
        (4, "name_within_50m", "row 2", "review")]


def test_a_newer_snapshot_updates_adds_and_flags_exactly_the_missing(app, world):
    """The newer snapshot changes H2, adds H5, drops H3: one update, one insert, H3 flagged;
    importing it a second time changes nothing and writes no audit entry for an account."""
    run(CAMPUS, snapshot=True)
    newer = HEADER + (
        "H1,Meilahti Hospital,Haartmaninkatu 4,60.1900,24.9050,09 1\n"
        "H2,Meilahti Hospital,Haartmaninkatu 4,60.1901,24.9051,09 22\n"
        "H4,Meilahti Hospital Ltd,Haartmaninkatu 4,60.1903,24.9053,09 4\n"
        "H5,Töölö Hospital,Topeliuksenkatu 5,60.1850,24.9100,09 5\n"
    )
    result = run(newer, snapshot=True, filename="2024.csv")
    assert (result.inserted, result.updated, result.flagged_missing) == (1, 1, 1)
    by_ext = accounts()
    assert by_ext["H2"].phone == "09 22"
    assert {e for e, a in by_ext.items() if a.missing_since is not None} == {"H3"}
    audits = audit_count()
    again = run(newer, snapshot=True, filename="2024.csv")
    assert again.status == "unchanged"
    assert (again.inserted, again.updated, again.flagged_missing, again.unchanged) == (0, 0, 0, 4)
    assert audit_count() == audits + 1  # the batch's own entry only


def test_rows_without_an_id_are_matched_by_the_duplicate_rule_and_reported(app, world):
    """An id-less row naming a known account within 50 m is that account (reported); a
    second such row is a repeat of it; re-importing the file changes nothing."""
    mapping = {k: v for k, v in MAPPING.items() if k != "external_id"}
    text = HEADER + (",Kahvila Aalto,,60.16020,24.91010,+358 9 123\n"
                     ",Kahvila Aalto,,60.16025,24.91012,\n"
                     ",Kirjasto Uusi,,60.1700,24.9300,\n")
    existing = world.west_accounts[0]
    result = run(text, mapping=mapping)
    assert (result.inserted, result.updated) == (1, 1)
    assert [(d.row, d.outcome) for d in result.duplicates] == [(2, "matched"), (3, "repeat")]
    db.session.refresh(existing)
    assert existing.phone == "+358 9 123"
    again = run(text, mapping=mapping)
    assert (again.inserted, again.updated, again.status) == (0, 0, "unchanged")


def test_a_hand_made_account_is_linked_not_doubled(app, world):
    """A row with an id that looks like an account nobody's system knows takes that account
    (its id recorded), instead of adding a second one; the next import matches by the id."""
    existing = world.west_accounts[0]  # Kahvila Aalto at 60.16, 24.91, typed in by hand
    text = HEADER + "L1,Kahvila Aalto,,60.16010,24.91005,\n"
    result = run(text)
    assert result.inserted == 0
    assert [(d.row, d.outcome) for d in result.duplicates] == [(2, "linked")]
    db.session.refresh(existing)
    assert (existing.source, existing.external_id) == ("register", "L1")
    assert run(text).status == "unchanged"


def test_a_merge_is_remembered_and_not_undone_by_the_next_import(app, world):
    """After H2 is merged into H1 (the manager keeping H1's name and pin), re-importing the
    file neither renames nor moves the survivor, nor brings H2 back, nor flags it; H2's
    licence is an alias of H1; a changed H2 row is a conflict to review."""
    run(CAMPUS, snapshot=True)
    by_ext = accounts()
    h1, h2 = by_ext["H1"].id, by_ext["H2"].id
    merge_accounts(world.admin, h1, h2, {"phone": "merged"})
    db.session.commit()
    aliases = set(db.session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.account_id == h1)))
    assert aliases == {"H1", "H2"}
    again = run(CAMPUS, snapshot=True, filename="again.csv")
    assert (again.inserted, again.updated, again.flagged_missing) == (0, 0, 0), again
    survivor = db.session.get(Account, h1)
    assert (survivor.name, survivor.lat, survivor.phone) == ("Meilahti Hospital", 60.19, "09 2")
    assert [(d.row, d.rule) for d in again.duplicates if d.outcome == "merged"] == [
        (3, "merged_into")]
    # H2 changes its phone: the survivor took H2's phone at the merge, so H2's record owns it.
    newer = CAMPUS.replace(",09 2\n", ",09 222\n")
    assert run(newer, snapshot=True, filename="newer.csv").updated == 1
    assert db.session.get(Account, h1).phone == "09 222"
    # H2 moves: the survivor kept H1's pin at the merge, so that is a conflict, not a move.
    moved = newer.replace("60.1901,24.9051", "60.1911,24.9061")
    result = run(moved, snapshot=True, filename="moved.csv")
    assert result.updated == 0 and [(c.field, c.row) for c in result.conflicts] == [
        ("location", 3)]
    assert db.session.get(Account, h1).lat == 60.19
    assert accounts().keys() == {"H1", "H3", "H4"}


def test_a_persons_edit_wins_and_a_new_source_value_is_a_conflict(app, world):
    """A phone a user changed is not overwritten by a re-import of the old value (no
    conflict: the source said nothing new) nor by a new one (a conflict to review, listed
    once); a field nobody touched still follows the source."""
    run(CAMPUS)
    h1 = accounts()["H1"]
    before = {"phone": h1.phone}
    h1.phone = "040 555"
    touch(h1)
    from geocrm.core import audit

    audit.record_changes(world.manager, "account", h1.id, before, {"phone": "040 555"})
    db.session.commit()
    same = run(CAMPUS, filename="same.csv")
    assert (same.updated, same.conflicts) == (0, [])
    assert db.session.get(Account, h1.id).phone == "040 555"
    newer = CAMPUS.replace("H1,Meilahti Hospital,Haartmaninkatu 4,60.1900,24.9050,09 1",
                           "H1,Meilahti Hospital A,Haartmaninkatu 4,60.1900,24.9050,09 111")
    result = run(newer, filename="newer.csv")
    assert [(c.field, c.current, c.imported) for c in result.conflicts] == [
        ("phone", "040 555", "09 111")]
    account = db.session.get(Account, h1.id)
    assert (account.phone, account.name) == ("040 555", "Meilahti Hospital A")
    stored = db.session.scalars(select(ImportConflict)).all()
    assert [(c.field, c.status, c.row, c.external_id) for c in stored] == [
        ("phone", "open", 2, "H1")]
    again = run(newer, filename="newer.csv")
    assert again.status == "unchanged" and again.conflicts == []
    assert db.session.scalar(select(func.count(ImportConflict.id))) == 1


def test_a_value_a_person_cleared_stays_cleared(app, world):
    """A phone a user erased is not filled back by the source repeating it; a new phone from
    the source is a conflict, not a silent refill."""
    run(CAMPUS)
    h1 = accounts()["H1"]
    h1.phone = None
    db.session.commit()
    assert run(CAMPUS, filename="same.csv").status == "unchanged"
    assert db.session.get(Account, h1.id).phone is None
    result = run(CAMPUS.replace(",09 1\n", ",09 7\n"), filename="new.csv")
    assert [(c.field, c.current, c.imported) for c in result.conflicts] == [
        ("phone", None, "09 7")]
    assert db.session.get(Account, h1.id).phone is None


def test_every_change_an_import_makes_is_in_the_audit_trail(app, world):
    """Created, changed and flagged accounts each get an entry naming source, file and row."""
    first = run(CAMPUS, snapshot=True, filename="a.csv")
    ids = {e: a.id for e, a in accounts().items()}
    created = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "account", AuditEntry.action == "create")).all()
    assert {(a.entity_id, a.changes["import"]["row"]) for a in created} == {
        (ids["H1"], 2), (ids["H2"], 3), (ids["H3"], 4), (ids["H4"], 5)}
    assert all(a.changes["import"] == {"batch": first.batch_id, "source": "register",
                                       "file": "a.csv", "row": a.changes["import"]["row"]}
               for a in created)
    newer = HEADER + "H1,Meilahti Hospital,Haartmaninkatu 4,60.1900,24.9050,09 9\n"
    run(newer, snapshot=True, filename="b.csv")
    updates = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "account", AuditEntry.action == "update")).all()
    by_account = {u.entity_id: u.changes for u in updates}
    assert by_account[ids["H1"]]["phone"] == ["09 1", "09 9"]
    assert by_account[ids["H1"]]["import"]["file"] == "b.csv"
    assert by_account[ids["H1"]]["import"]["row"] == 2
    assert by_account[ids["H3"]]["missing_since"][0] is None
    assert set(by_account) == {ids["H1"], ids["H2"], ids["H3"], ids["H4"]}


def test_the_conflict_review_page_takes_or_keeps(client, auth, app, world):
    """A manager sees the conflict on the result list, takes the file's value (the account
    changes, the trail says so) or keeps the account's; a rep may not review."""
    run(CAMPUS)
    by_ext = accounts()
    for ext, phone in (("H1", "040 1"), ("H2", "040 2")):
        by_ext[ext].phone = phone
    db.session.commit()
    result = run(CAMPUS.replace(",09 1\n", ",09 11\n").replace(",09 2\n", ",09 22\n"),
                 filename="n.csv")
    assert sorted(c.imported for c in result.conflicts) == ["09 11", "09 22"]
    db.session.commit()
    auth.login("manager@example.com")
    page = client.get(f"/imports/conflicts?batch={result.batch_id}")
    assert page.status_code == 200 and b"09 11" in page.data and b"040 2" in page.data
    ids = {c.external_id: c.id for c in db.session.scalars(select(ImportConflict))}
    def decide(ext: str, action: str) -> int:
        return client.post(f"/imports/conflicts/{ids[ext]}", data={"action": action}).status_code

    assert decide("H1", "take") == 302 and decide("H2", "keep") == 302
    db.session.expire_all()
    assert db.session.get(Account, by_ext["H1"].id).phone == "09 11"
    assert db.session.get(Account, by_ext["H2"].id).phone == "040 2"
    assert {c.external_id: c.status for c in db.session.scalars(select(ImportConflict))} == {
        "H1": "taken", "H2": "kept"}
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_id == by_ext["H1"].id, AuditEntry.user_id == world.manager.id)).one()
    assert entry.changes["phone"] == ["040 1", "09 11"]
    # Taken: the source owns the phone again, so its next value applies by itself.
    assert run(CAMPUS.replace(",09 1\n", ",09 111\n"), filename="m.csv").updated == 1
    auth.logout()
    auth.login("west@example.com")
    assert client.get("/imports/conflicts").status_code == 403
    assert decide("H1", "keep") == 403


def test_a_conflict_out_of_scope_is_a_404_whatever_the_form_says(client, auth, app, world):
    """Another manager's conflict answers 404 to an empty form too (it answered a redirect
    with "choose take or keep", which told the id exists), and stays open."""
    from tests.factories import make_user

    make_user("lonely@example.com", Role.MANAGER, PASSWORD)
    run(CAMPUS)
    by_ext = accounts()
    by_ext["H1"].phone = "040 1"
    db.session.commit()
    run(CAMPUS.replace(",09 1\n", ",09 11\n"), filename="n.csv")
    db.session.commit()
    conflict = db.session.scalars(select(ImportConflict)).one()
    auth.login("lonely@example.com")
    for form in ({}, {"action": "take"}):
        assert client.post(f"/imports/conflicts/{conflict.id}", data=form).status_code == 404
    db.session.expire_all()
    assert db.session.get(ImportConflict, conflict.id).status == "open"


@settings(max_examples=60, deadline=None)
@given(st.floats(-60, 70), st.floats(-179, 179), st.integers(0, 2**32 - 1))
def test_grid_finds_the_earliest_same_name_within_50_m(lat, lon, seed):
    """The 'same name within 50 m' index gives what comparing with every item gives: the
    earliest item of that name within 50 m, near cell edges and on both hemispheres too."""
    rng = random.Random(seed)
    grid = _Grid(lat)
    items = []
    for i in range(120):  # clustered around (lat, lon): many within a few cells
        name = rng.choice(["a", "b"])
        plat = lat + rng.uniform(-0.002, 0.002)
        plon = lon + rng.uniform(-0.002, 0.002)
        grid.add(name, plat, plon, i)
        items.append((name, plat, plon, i))
    for _ in range(40):
        qlat, qlon = lat + rng.uniform(-0.002, 0.002), lon + rng.uniform(-0.002, 0.002)
        x, y = qlon * grid.kx, qlat * grid.ky
        near = [i for name, plat, plon, i in items if name == "a"
                and (plon * grid.kx - x) ** 2 + (plat * grid.ky - y) ** 2 <= 50.0 ** 2]
        assert grid.find("a", qlat, qlon) == (near[0] if near else None)
