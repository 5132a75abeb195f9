"""Territory editing rules on both engines: validation, re-assignment, history, undo, scope.

The world (tests/factories.py): West = lon 24.90–24.95, East = 24.95–25.00, lat 60.15–60.20,
one manager managing both; "Kahvila Aalto" (60.16, 24.91) and "Kirja & Co" (60.18, 24.93)
in West, "Itä Bakery" (60.16, 24.97) and a script-named account (60.19, 24.98) in East,
"Far Away Ltd" (61.0, 26.0) in none.
"""

from __future__ import annotations

import math

import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import select

from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, Role, Territory
from geocrm.models.territory_admin import TerritoryRevision
from geocrm.territory_admin import services as svc
from geocrm.territory_admin.notes import english, english_all
from tests.conftest import PASSWORD
from tests.factories import make_account, make_user


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    return mapping(shapely.box(x0, y0, x1, y1))


def territory_of(account_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Account, account_id).territory_id


def open_history(account_id: int) -> list[AssignmentHistory]:
    return [h for h in svc.history_of(account_id) if h.until is None]


def test_drawn_polygon_carves_neighbour_moves_accounts_and_records_history(world):
    """A new polygon round Kahvila Aalto is cut out of West (leaving a hole), takes the
    account, closes its open history row and opens one naming the manager."""
    aalto = world.west_accounts[0]
    new, rev = svc.create_territory(
        world.manager, name="Aalto block", geometry=box(24.905, 60.155, 24.915, 60.165)
    )
    assert territory_of(aalto.id) == new.id
    assert territory_of(world.west_accounts[1].id) == world.west.id
    west = db.session.get(Territory, world.west.id)
    assert len(west.geom.interiors) == 1  # a hole where the new one sits
    assert west.geom.area == pytest.approx(0.05 * 0.05 - 0.01 * 0.01)
    assert new.manager_id == world.manager.id
    assert rev.moved == {str(aalto.id): world.west.id}
    assert "cut out of 'West'" in english_all(rev.notes)
    rows = open_history(aalto.id)
    assert [(h.territory_id, h.changed_by_id) for h in rows] == [(new.id, world.manager.id)]
    assert rows[0].reason.startswith("create")


def test_point_in_a_hole_belongs_to_nobody_and_holes_survive_the_round_trip(world):
    """A territory with a hole does not take the account inside the hole."""
    outer = shapely.Polygon(
        [(25.10, 60.10), (25.20, 60.10), (25.20, 60.20), (25.10, 60.20)],
        holes=[[(25.14, 60.14), (25.16, 60.14), (25.16, 60.16), (25.14, 60.16)]],
    )
    in_hole = make_account("Donut hole", 60.15, 25.15)
    in_ring = make_account("Donut ring", 60.12, 25.12)
    db.session.commit()
    t, _ = svc.create_territory(world.admin, name="Donut", geometry=mapping(outer))
    assert territory_of(in_hole.id) is None
    assert territory_of(in_ring.id) == t.id
    assert len(db.session.get(Territory, t.id).geom.interiors) == 1


def test_multipolygon_territory_takes_accounts_in_every_part(world):
    """Two islands make one territory: both accounts land in it and stats say 2 parts."""
    a = make_account("Island A", 60.305, 25.305)
    b = make_account("Island B", 60.405, 25.405)
    db.session.commit()
    geom = shapely.MultiPolygon([shapely.box(25.30, 60.30, 25.31, 60.31),
                                 shapely.box(25.40, 60.40, 25.41, 60.41)])
    t, _ = svc.create_territory(world.admin, name="Islands", geometry=mapping(geom))
    assert territory_of(a.id) == territory_of(b.id) == t.id
    data = svc.editor_data(world.admin)
    props = {f["properties"]["name"]: f["properties"]
             for f in data["territories"]["features"]}
    assert props["Islands"]["parts"] == 2
    assert props["Islands"]["accounts"] == 2


def test_point_on_shared_border_follows_priority_then_lower_id(world):
    """An account exactly on the West/East border goes to West (same priority and area,
    lower id); raising East's priority moves it to East and records the move."""
    border = make_account("On the line", 60.17, 24.95)
    db.session.commit()
    svc.update_geometry(world.manager, world.west.id, box(24.90, 60.15, 24.95, 60.20))
    assert territory_of(border.id) == world.west.id
    rev = svc.update_properties(world.manager, world.east.id, priority=5)
    assert territory_of(border.id) == world.east.id
    assert rev.moved == {str(border.id): world.west.id}


def test_bow_tie_is_repaired_and_reported_or_refused_when_asked(world):
    """A self-intersecting ring becomes two triangles with a note naming the self-
    intersection; with repair off it is refused with that reason and nothing is written."""
    bow = {"type": "Polygon", "coordinates": [[[25.3, 60.3], [25.4, 60.4], [25.4, 60.3],
                                               [25.3, 60.4], [25.3, 60.3]]]}
    with pytest.raises(ValidationError) as err:
        svc.create_territory(world.admin, name="Bow", geometry=bow, repair=False)
    assert err.value.field == "geometry"
    assert "Self-intersection" in err.value.reason
    assert db.session.scalar(select(Territory).where(Territory.name == "Bow")) is None
    t, rev = svc.create_territory(world.admin, name="Bow", geometry=bow)
    assert t.geom.geom_type == "MultiPolygon" and len(t.geom.geoms) == 2
    assert t.geom.is_valid
    assert any("Self-intersection" in n and "2 part(s)" in n for n in english_all(rev.notes))


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[25.3, 60.3], [25.4, 60.3], [25.5, 60.3],
                                              [25.3, 60.3]]]}, "area"),
        ({"type": "Polygon", "coordinates": [[[1354000, 400000], [1356000, 400000],
                                              [1356000, 402000], [1354000, 400000]]]},
         "not longitude/latitude degrees"),
        ({"type": "LineString", "coordinates": [[25.3, 60.3], [25.4, 60.4]]}, "not a LineString"),
        ({"type": "Polygon", "coordinates": []}, "empty"),
        ({"type": "Polygon", "coordinates": [[[25.3, 60.3], [25.3]]]}, "not a valid GeoJSON"),
        ("nonsense", "expected a GeoJSON geometry"),
    ],
)
def test_bad_shapes_are_refused_naming_the_problem(world, geometry, reason):
    """Zero area, projected feet, lines, empty and malformed input: a clear 422 each."""
    before = db.session.scalar(select(db.func.count(Territory.id)))
    with pytest.raises(ValidationError) as err:
        svc.create_territory(world.admin, name="Bad", geometry=geometry)
    assert reason in err.value.message
    assert db.session.scalar(select(db.func.count(Territory.id))) == before


def test_split_by_line_gives_the_smaller_piece_a_new_territory(world):
    """A line along lat 60.17 cuts West into 0.02° (south) and 0.03° (north): the south
    piece with Kahvila Aalto becomes the new territory, Kirja stays in West."""
    line = {"type": "LineString", "coordinates": [[24.89, 60.17], [24.96, 60.17]]}
    new, rev = svc.split_territory(world.manager, world.west.id, line, new_name="West South")
    assert new.geom.bounds == pytest.approx((24.90, 60.15, 24.95, 60.17))
    assert db.session.get(Territory, world.west.id).geom.bounds == pytest.approx(
        (24.90, 60.17, 24.95, 60.20))
    assert territory_of(world.west_accounts[0].id) == new.id
    assert territory_of(world.west_accounts[1].id) == world.west.id
    assert rev.kind == "split" and rev.created == [new.id]


def test_split_refuses_lines_that_do_not_cut_in_two(world):
    """A line ending inside the territory, and a zigzag making three pieces, are refused."""
    short = {"type": "LineString", "coordinates": [[24.89, 60.17], [24.92, 60.17]]}
    with pytest.raises(ValidationError, match="edge to edge"):
        svc.split_territory(world.manager, world.west.id, short)
    zigzag = {"type": "LineString",
              "coordinates": [[24.89, 60.16], [24.96, 60.16], [24.96, 60.18], [24.89, 60.18]]}
    with pytest.raises(ValidationError, match="3 pieces"):
        svc.split_territory(world.manager, world.west.id, zigzag)


def test_split_by_polygon_and_undo_puts_everything_back(world):
    """A polygon over East's north half splits it; undo deletes the new territory, restores
    East's outline and moves the account back, with a history row for each step."""
    xss = world.east_accounts[1]
    east_before = db.session.get(Territory, world.east.id).geom
    new, rev = svc.split_territory(world.manager, world.east.id,
                                   box(24.94, 60.18, 25.01, 60.21), new_name="East North")
    assert territory_of(xss.id) == new.id
    svc.undo(world.manager, rev.id)
    assert db.session.get(Territory, new.id) is None
    assert db.session.get(Territory, world.east.id).geom.equals(east_before)
    assert territory_of(xss.id) == world.east.id
    history = [(h.territory_id, h.until is None) for h in svc.history_of(xss.id)]
    assert history[-1] == (world.east.id, True)
    assert len(history) == 2  # moved to the new one (since deleted: its id is nulled), back
    with pytest.raises(ConflictError, match="already undone"):
        svc.undo(world.manager, rev.id)


def test_delete_unassigns_and_undo_recreates_with_the_same_id_and_reps(world):
    """Deleting West leaves its accounts unassigned; undo brings West back, same id and
    rep, and the accounts return."""
    rev = svc.delete_territory(world.manager, world.west.id)
    assert db.session.get(Territory, world.west.id) is None
    assert [territory_of(a.id) for a in world.west_accounts] == [None, None]
    svc.undo(world.manager, rev.id)
    west = db.session.get(Territory, world.west.id)
    assert west is not None and west.name == "West"
    assert [u.id for u in west.reps] == [world.rep_west.id]
    assert [territory_of(a.id) for a in world.west_accounts] == [world.west.id] * 2


def test_history_keeps_the_name_of_a_deleted_territory(world, client, auth):
    """A move into East and East's deletion: the history rows still say "East" (the id goes
    with the territory), and the account's 360 page lists them with who and why."""
    kahvila = world.west_accounts[0]  # 24.91
    svc.update_geometry(world.manager, world.west.id, box(24.92, 60.15, 24.95, 60.20))
    svc.update_geometry(world.manager, world.east.id, box(24.90, 60.15, 25.00, 60.20))
    assert territory_of(kahvila.id) == world.east.id
    svc.delete_territory(world.manager, world.east.id)
    rows = db.session.scalars(select(AssignmentHistory).where(
        AssignmentHistory.account_id == kahvila.id).order_by(AssignmentHistory.id)).all()
    assert [(r.territory_id, r.territory_name) for r in rows] == [
        (None, None), (None, "East"), (None, None)]  # out of West, into East, East deleted
    auth.login("manager@example.com")
    page = client.get(f"/accounts/{kahvila.id}").get_data(as_text=True)
    assert "Territory history" in page and "East (deleted)" in page


def test_undo_of_a_delete_links_the_nulled_history_rows_to_the_territory_again(world):
    """Deleting East nulls the territory id of every history row naming it (the name stays);
    the revision keeps those rows' ids, and undo gives exactly them their id back: rows of
    another territory deleted meanwhile stay nulled."""
    kahvila, kirja = world.west_accounts  # 24.91 and 24.93
    svc.update_geometry(world.manager, world.west.id, box(24.92, 60.15, 24.95, 60.20))
    svc.update_geometry(world.manager, world.east.id, box(24.90, 60.15, 25.00, 60.20))
    temp, _ = svc.create_territory(world.manager, name="Temp",
                                   geometry=box(24.925, 60.175, 24.935, 60.185))
    assert territory_of(kirja.id) == temp.id
    east_rows = db.session.scalars(select(AssignmentHistory.id).where(
        AssignmentHistory.territory_id == world.east.id).order_by(AssignmentHistory.id)).all()
    assert len(east_rows) == 1  # Kahvila into East; the others were there from the start
    rev = svc.delete_territory(world.manager, world.east.id)
    svc.delete_territory(world.manager, temp.id)
    assert rev.before[0]["history"] == [[east_rows[0], east_rows[0]]]

    def rows(account_id: int) -> list[tuple[int | None, str | None, bool]]:
        return [(r.territory_id, r.territory_name, r.until is None)
                for r in db.session.scalars(select(AssignmentHistory).where(
                    AssignmentHistory.account_id == account_id).order_by(AssignmentHistory.id))]

    assert rows(kahvila.id) == [(None, None, False), (None, "East", False), (None, None, True)]
    svc.undo(world.manager, rev.id)
    db.session.expire_all()
    assert rows(kahvila.id) == [(None, None, False), (world.east.id, "East", False),
                                (None, None, False), (world.east.id, "East", True)]
    assert rows(kirja.id) == [(None, "Temp", False), (None, None, True)]  # Temp is still gone
    bakery = world.east_accounts[0]
    assert rows(bakery.id) == [(None, None, False), (world.east.id, "East", True)]
    assert english(db.session.get(TerritoryRevision, rev.id).notes[-1]) == (
        "undone: 3 account(s) moved back, 1 history row(s) linked to their territory again")


def test_id_runs_compress_consecutive_ids():
    assert svc.id_runs([]) == []
    assert svc.id_runs([1, 2, 3, 7, 8, 10]) == [[1, 3], [7, 8], [10, 10]]
    assert svc.id_runs([5, 5, 6]) == [[5, 6]]


def test_undo_refused_when_a_later_change_touched_the_same_territory(world):
    """Undoing an older change would throw away a newer one: refused until that is undone."""
    first = svc.update_geometry(world.manager, world.west.id, box(24.90, 60.15, 24.94, 60.20))
    svc.update_properties(world.manager, world.west.id, name="West Side")
    with pytest.raises(ConflictError, match="undo it first"):
        svc.undo(world.manager, first.id)


def test_scope_other_managers_and_reps_get_404(world):
    """A second manager cannot see or change the first manager's territories; a rep cannot
    edit their own; a manager cannot undo someone else's revision."""
    other = make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    with pytest.raises(NotFoundError):
        svc.update_geometry(other, world.west.id, box(24.9, 60.15, 24.94, 60.2))
    with pytest.raises(NotFoundError):
        svc.delete_territory(world.rep_west, world.west.id)
    assert [t.name for t in svc.visible_territories(world.rep_west)] == ["West"]
    assert svc.visible_territories(other) == []
    rev = svc.delete_territory(world.manager, world.east.id)
    with pytest.raises(NotFoundError):
        svc.undo(other, rev.id)
    assert db.session.get(Territory, world.east.id) is None


def test_carving_does_not_touch_territories_of_another_manager(world):
    """The other manager's polygon over West overlaps it: West is not cut, a note says so,
    and the smaller new territory wins the account in the overlap."""
    other = make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    new, rev = svc.create_territory(other, name="Poacher",
                                    geometry=box(24.905, 60.155, 24.915, 60.165))
    assert db.session.get(Territory, world.west.id).geom.area == pytest.approx(0.05 * 0.05)
    assert "overlaps 'West', which you do not manage: not cut" in english_all(rev.notes)
    assert territory_of(world.west_accounts[0].id) == new.id
    data = svc.editor_data(world.admin)
    assert [(o["a_name"], o["b_name"], o["accounts"]) for o in data["overlaps"]] == [
        ("Poacher", "West", 1)]


def test_set_reps_accepts_reps_only(world):
    """Reps are set and recorded; a manager id is refused naming the user."""
    rev = svc.set_reps(world.manager, world.west.id, [world.rep_west.id, world.rep_east.id])
    assert sorted(u.id for u in db.session.get(Territory, world.west.id).reps) == sorted(
        [world.rep_west.id, world.rep_east.id])
    with pytest.raises(ValidationError, match=f"user {world.manager.id} is not an active rep"):
        svc.set_reps(world.manager, world.west.id, [world.manager.id])
    svc.undo(world.manager, rev.id)
    assert [u.id for u in db.session.get(Territory, world.west.id).reps] == [world.rep_west.id]


def test_editor_data_counts_workload_compactness_and_gaps(world):
    """Stats per territory from hand-computed numbers; a hole in West shows as a gap."""
    svc.update_geometry(world.manager, world.west.id, mapping(
        shapely.box(24.90, 60.15, 24.95, 60.20).difference(shapely.box(24.92, 60.17, 24.94,
                                                                        60.19))))
    db.session.get(Account, world.west_accounts[0].id).value = 1200
    db.session.commit()
    data = svc.editor_data(world.manager)
    props = {f["properties"]["name"]: f["properties"] for f in data["territories"]["features"]}
    # Kirja & Co (60.18, 24.93) sat in the new hole: now unassigned.
    assert props["West"]["accounts"] == 1
    assert props["West"]["value"] == 1200
    assert props["East"]["accounts"] == 2
    # Two accounts visited every 28 days for 30 min: 1 visit hour, plus travel.
    assert props["East"]["visit_hours"] == pytest.approx(1.0)
    assert props["East"]["workload_hours"] > 1.0
    # 0.05° by 0.05° at 60.175°N is a rectangle of side ratio r = cos(60.175°) ≈ 0.4974
    # (metres per degree of longitude shrink with the cosine), and Polsby-Popper of a
    # rectangle is 4πab / (2a + 2b)² = πr / (1 + r)² ≈ 0.697.
    r = math.cos(math.radians(60.175))
    assert props["East"]["compactness"] == pytest.approx(math.pi * r / (1 + r) ** 2, abs=0.002)
    assert len(data["gaps"]) == 1
    assert data["gaps"][0]["area_m2"] == pytest.approx(
        svc.area_m2(shapely.box(24.92, 60.17, 24.94, 60.19)), rel=1e-3)
    assert data["unassigned"] == 2  # Far Away Ltd and Kirja & Co
    pts = svc.unassigned_points(world.manager)
    assert sorted(pts["name"]) == ["Far Away Ltd", "Kirja & Co"]
    assert svc.unassigned_points(world.rep_west)["count"] == 0


def test_revision_lists_are_scoped(world):
    """Managers list their own revisions, admins all."""
    svc.update_properties(world.manager, world.west.id, color="#000000")
    svc.update_properties(world.admin, world.east.id, color="#ffffff")
    assert [r.summary for r in svc.revisions_for(world.manager)] == ["edited 'West'"]
    assert len(svc.revisions_for(world.admin)) == 2
    assert db.session.scalar(select(db.func.count(TerritoryRevision.id))) == 2
