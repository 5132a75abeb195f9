"""Territory files in and out, and the balance wizard, on both engines.

Imports: GeoJSON with overlapping features, a zipped Shapefile in projected feet with and
without its .prj, a GeoJSON that claims degrees but holds feet, GeoPackage and KML, the real
Pittsburgh neighbourhoods (skipped without the shared data, see tests/shared_data.py).
Balance: preview, apply, undo, stale proposals and reps without a home.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from flask import current_app
from shapely.geometry import mapping, shape
from sqlalchemy import select, update

from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Role, Territory
from geocrm.spatial import assign_points
from geocrm.territory_admin import balancing, transfer
from geocrm.territory_admin import services as svc
from geocrm.territory_admin.notes import english_all
from tests.conftest import PASSWORD
from tests.factories import make_account, make_user
from tests.shared_data import shared_data

GEO = shared_data("geo")
NEIGHBOURHOODS = GEO / "pittsburgh_neighborhoods"


def fc(*features: tuple[str, shapely.Geometry], crs: str | None = None) -> bytes:
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n}, "geometry": mapping(g)}
        for n, g in features]}
    if crs:
        body["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(body).encode()


def territory_of(account_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Account, account_id).territory_id


def by_name(name: str) -> Territory | None:
    return db.session.scalar(select(Territory).where(Territory.name == name))


def test_overlapping_geojson_import_previews_overlap_then_applies_with_the_rule(world):
    """Two imported squares overlap round an account: the preview names the pair and the
    account; after apply the smaller square wins it, and undo removes both."""
    inner = make_account("In the overlap", 60.305, 25.305)
    only_big = make_account("Big only", 60.335, 25.335)
    db.session.commit()
    data = fc(("Big", shapely.box(25.30, 60.30, 25.34, 60.34)),
              ("Small", shapely.box(25.30, 60.30, 25.31, 60.31)))
    token = transfer.save_upload("new.geojson", data, world.manager)
    preview = transfer.preview_import(token, world.manager)
    assert [(f.name, f.action, f.accounts) for f in preview.features] == [
        ("Big", "create", 1), ("Small", "create", 1)]
    assert [(o["a"], o["b"], o["accounts"]) for o in preview.overlaps] == [("Big", "Small", 1)]
    assert by_name("Big") is None  # preview writes nothing
    rev = transfer.apply_import(token, world.manager)
    small, big = by_name("Small"), by_name("Big")
    assert territory_of(inner.id) == small.id
    assert territory_of(only_big.id) == big.id
    assert small.manager_id == world.manager.id
    assert any("overlaps" in n for n in english_all(rev.notes))
    with pytest.raises(NotFoundError):  # the upload is gone once applied
        transfer.preview_import(token, world.manager)
    svc.undo(world.manager, rev.id)
    assert by_name("Big") is None and by_name("Small") is None
    assert territory_of(inner.id) is None


def test_import_by_name_reshapes_own_territory_and_refuses_anothers(world):
    """A feature named like one of my territories replaces its outline; the same file from
    another manager is refused naming the row, and nothing changes."""
    data = fc(("West", shapely.box(24.90, 60.15, 24.92, 60.20)))
    token = transfer.save_upload("west.geojson", data, world.manager)
    preview = transfer.preview_import(token, world.manager)
    assert [(f.action, f.territory_id) for f in preview.features] == [
        ("replace", world.west.id)]
    transfer.apply_import(token, world.manager)
    assert territory_of(world.west_accounts[0].id) == world.west.id  # lon 24.91
    assert territory_of(world.west_accounts[1].id) is None  # lon 24.93: outside now
    other = make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    token = transfer.save_upload("west.geojson", data, other)
    with pytest.raises(ValidationError) as err:
        transfer.preview_import(token, other)
    assert err.value.row == 1 and "not yours" in err.value.reason
    with pytest.raises(NotFoundError):  # and it is not the first manager's upload either
        transfer.preview_import(token, world.manager)


def test_duplicate_names_and_wrong_extensions_are_refused(world):
    """Two features with one name: row 2 is named; a .csv upload is refused up front."""
    data = fc(("A", shapely.box(25.3, 60.3, 25.31, 60.31)),
              ("A", shapely.box(25.4, 60.3, 25.41, 60.31)))
    token = transfer.save_upload("dup.geojson", data, world.admin)
    with pytest.raises(ValidationError) as err:
        transfer.preview_import(token, world.admin)
    assert err.value.row == 2 and "also in row 1" in err.value.reason
    with pytest.raises(ValidationError, match="GeoJSON"):
        transfer.save_upload("accounts.csv", b"a,b\n", world.admin)


def _zip_shapefile(tmp_path: Path, frame: gpd.GeoDataFrame, *, prj: bool) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / "areas.shp", engine="pyogrio")
    out = tmp_path / "areas.zip"
    with zipfile.ZipFile(out, "w") as z:
        for part in folder.iterdir():
            if part.suffix == ".prj" and not prj:
                continue
            z.write(part, part.name)
    return out.read_bytes()


def test_projected_shapefile_without_prj_is_refused_and_accepted_with_its_crs(world,
                                                                             tmp_path):
    """A zipped Shapefile in PA State Plane feet without .prj must not be read as degrees:
    refused with a message saying why; with the CRS given it lands in Pittsburgh."""
    feet = gpd.GeoDataFrame({"name": ["Downtown"]},
                            geometry=[shapely.box(1_338_000, 410_000, 1_342_000, 414_000)],
                            crs="EPSG:2272")
    token = transfer.save_upload("areas.zip", _zip_shapefile(tmp_path, feet, prj=False),
                                 world.admin)
    with pytest.raises(ValidationError) as err:
        transfer.preview_import(token, world.admin)
    assert err.value.field == "crs"
    assert "has no CRS" in err.value.reason and "not degrees" in err.value.reason
    assert err.value.reason.startswith("areas.zip")  # the upload's name, not its token
    preview = transfer.preview_import(token, world.admin, assume_crs="EPSG:2272")
    minx, miny, maxx, maxy = preview.features[0].geometry.bounds
    assert -80.05 < minx < maxx < -79.95 and 40.40 < miny < maxy < 40.47
    with pytest.raises(ValidationError, match="not a known CRS"):
        transfer.preview_import(token, world.admin, assume_crs="EPSG:999999")


def test_geojson_claiming_degrees_with_feet_inside_is_refused(world):
    """The CRS says degrees, the numbers say feet: refused as a wrong CRS."""
    data = fc(("Feet", shapely.box(1_338_000, 410_000, 1_342_000, 414_000)))
    token = transfer.save_upload("feet.geojson", data, world.admin)
    with pytest.raises(ValidationError) as err:
        transfer.preview_import(token, world.admin)
    assert err.value.field == "crs" and "the CRS is wrong" in err.value.reason


def test_export_geojson_and_geopackage_round_trip(world):
    """Exports carry names, reps and account counts; re-importing the GeoPackage only
    replaces the same outlines, so no account moves."""
    content, filename, mimetype = transfer.export_territories(world.manager, "geojson")
    body = json.loads(content)
    props = {f["properties"]["name"]: f["properties"] for f in body["features"]}
    assert filename == "territories.geojson" and mimetype == "application/geo+json"
    assert props["West"]["accounts"] == 2 and props["West"]["reps"] == "west@example.com"
    assert shape(body["features"][0]["geometry"]).equals(
        db.session.get(Territory, props[body["features"][0]["properties"]["name"]][
            "territory_id"]).geom)
    gpkg, filename, _ = transfer.export_territories(world.manager, "gpkg")
    assert filename == "territories.gpkg"
    token = transfer.save_upload("back.gpkg", gpkg, world.manager)
    preview = transfer.preview_import(token, world.manager)
    assert sorted((f.name, f.action) for f in preview.features) == [
        ("East", "replace"), ("West", "replace")]
    rev = transfer.apply_import(token, world.manager)
    assert rev.moved == {}
    with pytest.raises(ValidationError):
        transfer.export_territories(make_user("x@example.com", Role.MANAGER, PASSWORD), "gpkg")


def test_kml_import(world, tmp_path):
    """KML (always WGS84) imports with its Name column."""
    frame = gpd.GeoDataFrame({"Name": ["Kml land"]},
                             geometry=[shapely.box(25.3, 60.3, 25.31, 60.31)], crs="EPSG:4326")
    frame.to_file(tmp_path / "t.kml", driver="KML", engine="pyogrio")
    token = transfer.save_upload("t.kml", (tmp_path / "t.kml").read_bytes(), world.admin)
    transfer.apply_import(token, world.admin)
    assert by_name("Kml land").geom.equals_exact(shapely.box(25.3, 60.3, 25.31, 60.31), 1e-9)


@pytest.mark.skipif(not NEIGHBOURHOODS.exists(), reason=f"needs real data in {GEO}")
def test_real_pittsburgh_neighbourhoods_zip_imports_repaired_and_reprojected(world, tmp_path):
    """The city's 91 neighbourhoods (State Plane feet, one invalid polygon) import as 91
    territories in degrees; Knoxville's repair is reported; a store inside Central Oakland
    is assigned to it."""
    out = tmp_path / "hoods.zip"
    with zipfile.ZipFile(out, "w") as z:
        for part in NEIGHBOURHOODS.glob("Neighborhood.*"):
            if part.suffix in (".shp", ".shx", ".dbf", ".prj"):
                z.write(part, part.name)
    store = make_account("Oakland store", 40.4372, -79.9536)  # Forbes Ave, Central Oakland
    db.session.commit()
    token = transfer.save_upload("hoods.zip", out.read_bytes(), world.admin)
    preview = transfer.preview_import(token, world.admin, name_column="HOOD")
    assert len(preview.features) == 91
    assert any("Knoxville" in n and "repaired" in n for n in english_all(preview.notes))
    transfer.apply_import(token, world.admin, name_column="HOOD")
    hood = by_name("Central Oakland")
    assert territory_of(store.id) == hood.id
    assert -80.1 < hood.min_lon < hood.max_lon < -79.8


# --- balance ------------------------------------------------------------------------------


def _spread_accounts(admin) -> list[Account]:
    """Forty accounts on a grid over both world squares, more in the east (heavier)."""
    made = []
    for i in range(8):
        for j in range(5):
            lon = 24.905 + i * 0.0125
            lat = 60.155 + j * 0.01
            made.append(make_account(f"Grid {i}-{j}", lat, lon,
                                     cadence_days=7 if lon > 24.95 else 28,
                                     territory_id=assign_points(
                                         [lat], [lon], svc.visible_territories(admin))[0]))
    db.session.commit()
    return made


def test_balance_preview_apply_and_undo(world):
    """Two reps over West+East: the preview has one territory per rep, the East-heavy load
    balanced better than today; apply reshapes West/East in one go and re-assigns every
    account to its proposed territory; undo restores both outlines and assignments."""
    accounts = _spread_accounts(world.admin)
    west_before = db.session.get(Territory, world.west.id).geom
    before = {a.id: territory_of(a.id) for a in accounts}
    request = balancing.BalanceRequest(
        territory_ids=(world.west.id, world.east.id),
        rep_ids=(world.rep_west.id, world.rep_east.id), units="square", cell_km=1.0,
        target=1.10)
    proposal = balancing.preview_balance(world.manager, request)
    stats = proposal.stats
    assert [p["territory_id"] for p in proposal.proposal] == [world.west.id, world.east.id]
    assert stats["before_max_min"] > stats["after_max_min"]
    assert stats["contiguous"] is True
    assert stats["accounts"] == 44  # the grid and the world's four
    assert sum(p["accounts"] for p in proposal.proposal) == 44
    assert db.session.get(Territory, world.west.id).geom.equals(west_before)  # preview only
    rev = balancing.apply_balance(world.manager, proposal.id)
    polys = {p["territory_id"]: shape(p["geometry"]) for p in proposal.proposal}
    for a in accounts:
        tid = territory_of(a.id)
        assert polys[tid].covers(shapely.Point(a.lon, a.lat))
    assert stats["newly_assigned"] == 0
    assert len(rev.moved) == stats["moved_accounts"] > 0
    with pytest.raises(ConflictError, match="already applied"):
        balancing.apply_balance(world.manager, proposal.id)
    svc.undo(world.manager, rev.id)
    assert db.session.get(Territory, world.west.id).geom.equals(west_before)
    assert {a.id: territory_of(a.id) for a in accounts} == before


def test_balance_with_uploaded_units_follows_their_borders(world):
    """With four imported unit columns the two territories are unions of whole units."""
    _spread_accounts(world.admin)
    columns = [(f"U{i}", shapely.box(24.90 + i * 0.025, 60.15, 24.925 + i * 0.025, 60.20))
               for i in range(4)]
    folder = Path(current_app.instance_path)
    path = folder / "units-test.geojson"
    path.write_bytes(fc(*columns))
    request = balancing.BalanceRequest(
        territory_ids=(world.west.id, world.east.id),
        rep_ids=(world.rep_west.id, world.rep_east.id), units="upload", units_path=path)
    proposal = balancing.preview_balance(world.manager, request)
    for p in proposal.proposal:
        geom = shape(p["geometry"])
        covered = [name for name, unit in columns
                   if geom.intersection(unit).area > 0.5 * unit.area]
        assert geom.area == pytest.approx(sum(u.area for n, u in columns if n in covered),
                                          rel=1e-3)
    path.unlink()


def test_balance_refuses_reps_without_home_and_stale_previews(world):
    """A rep without a home location is named; a preview whose territories changed since
    is refused at apply; another manager cannot apply it (404)."""
    nohome = make_user("nohome@example.com", Role.REP, PASSWORD)
    db.session.commit()
    with pytest.raises(ValidationError, match="Nohome has no home location"):
        balancing.preview_balance(world.manager, balancing.BalanceRequest(
            rep_ids=(world.rep_west.id, nohome.id)))
    proposal = balancing.preview_balance(world.manager, balancing.BalanceRequest(
        rep_ids=(world.rep_west.id, world.rep_east.id)))
    other = make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    with pytest.raises(NotFoundError):
        balancing.apply_balance(other, proposal.id)
    svc.update_geometry(world.manager, world.west.id,
                        mapping(shapely.box(24.90, 60.15, 24.94, 60.20)))
    with pytest.raises(ConflictError, match="preview again"):
        balancing.apply_balance(world.manager, proposal.id)


def test_rebalance_moves_few_units_keeps_names_reps_and_far_borders(world):
    """East carries weekly accounts, West monthly ones: a rebalance moves border units only
    (a quarter of the accounts at most), within the target, every account keeps a territory, names
    and reps stay, the outer edges of the area do not move; undo restores both exactly."""
    accounts = _spread_accounts(world.admin)
    west_before = db.session.get(Territory, world.west.id).geom
    east_before = db.session.get(Territory, world.east.id).geom
    before = {a.id: territory_of(a.id) for a in accounts}
    request = balancing.BalanceRequest(
        territory_ids=(world.west.id, world.east.id), units="square", cell_km=0.5,
        target=1.10, mode="rebalance")
    proposal = balancing.preview_balance(world.manager, request)
    stats = proposal.stats
    assert stats["mode"] == "rebalance" and stats["deleted"] == []
    assert stats["before_max_min"] > 1.10 >= stats["after_max_min"]
    assert 0 < stats["moved_units"] < stats["units"] / 2  # empty units move most freely
    assert 0 < stats["moved_accounts"] < len(accounts) / 4  # 3.7 -> within 1.10
    assert sorted(p["name"] for p in proposal.proposal) == ["East", "West"]
    union = shapely.union_all([shape(p["geometry"]) for p in proposal.proposal])
    assert union.symmetric_difference(shapely.union(west_before, east_before)).area < 1e-9
    west_after = next(shape(p["geometry"]) for p in proposal.proposal if p["name"] == "West")
    assert west_after.area > west_before.area  # the lighter West takes border units from East
    rev = balancing.apply_balance(world.manager, proposal.id)
    assert [u.id for u in db.session.get(Territory, world.west.id).reps] == [world.rep_west.id]
    assert [u.id for u in db.session.get(Territory, world.east.id).reps] == [world.rep_east.id]
    after = {a.id: territory_of(a.id) for a in accounts}
    moved = [a for a in accounts if after[a.id] != before[a.id]]
    assert len(moved) == stats["moved_accounts"] and all(after[a.id] for a in accounts)
    assert all(after[a.id] == world.west.id for a in moved)  # from East into West only
    svc.undo(world.manager, rev.id)
    assert db.session.get(Territory, world.west.id).geom.equals(west_before)
    assert db.session.get(Territory, world.east.id).geom.equals(east_before)
    assert {a.id: territory_of(a.id) for a in accounts} == before


def test_rebalance_needs_two_territories_with_a_rep_home(world):
    world.east.reps.clear()
    db.session.commit()
    with pytest.raises(ValidationError, match="East has no rep with a home"):
        balancing.preview_balance(world.manager, balancing.BalanceRequest(
            territory_ids=(world.west.id, world.east.id), mode="rebalance"))
    with pytest.raises(ValidationError, match="at least two territories"):
        balancing.preview_balance(world.manager, balancing.BalanceRequest(
            territory_ids=(world.west.id,), mode="rebalance"))


def _weekly_hour_accounts(world, columns: dict[str, list[float]], lats: list[float]
                          ) -> dict[str, list[Account]]:
    """Accounts visited weekly for an hour (4 h a period each, so counts are workload), at
    every (lon, lat) of each territory's columns; the world's own accounts archived, so the
    two territories hold exactly these."""
    db.session.execute(update(Account).values(archived=True))
    made: dict[str, list[Account]] = {}
    for name, lons in columns.items():
        tid = world.west.id if name == "West" else world.east.id
        made[name] = [make_account(f"{name} {i}-{j}", lat, lon, territory_id=tid,
                                   cadence_days=7, visit_minutes=60)
                      for i, lon in enumerate(lons) for j, lat in enumerate(lats)]
    db.session.commit()
    return made


def _open_territory(account_id: int) -> list[int | None]:
    return [h.territory_id for h in svc.history_of(account_id) if h.until is None]


def test_rebalance_30_against_10_moves_the_ten_accounts_next_to_the_border(world):
    """West holds 10 accounts, East 30, all alike (4 h a period), in strips of two: five
    0.01°-wide strips in West, fifteen 0.0033°-wide in East, uploaded as the units. By
    hand: 20/20 needs 10 accounts to move (4 strips leave 22/18, a ratio of 1.22 even
    before travel); strips touch only their left and right neighbours, so the only strips
    that can go are East's five westernmost, one after the other. Apply moves exactly those
    ten accounts into West, names and reps stay; undo puts back both outlines, every
    account and its open history row."""
    east_lons = [24.95 + (i + 0.5) * 0.05 / 15 for i in range(15)]
    made = _weekly_hour_accounts(
        world, {"West": [24.905 + i * 0.01 for i in range(5)], "East": east_lons},
        [60.17, 60.18])
    strips = ([(f"W{i}", shapely.box(24.90 + i * 0.01, 60.15, 24.91 + i * 0.01, 60.20))
               for i in range(5)]
              + [(f"E{i}", shapely.box(24.95 + i * 0.05 / 15, 60.15,
                                       24.95 + (i + 1) * 0.05 / 15, 60.20)) for i in range(15)])
    path = Path(current_app.instance_path) / "strips-test.geojson"
    path.write_bytes(fc(*strips))
    west_before = db.session.get(Territory, world.west.id).geom
    east_before = db.session.get(Territory, world.east.id).geom
    proposal = balancing.preview_balance(world.manager, balancing.BalanceRequest(
        territory_ids=(world.west.id, world.east.id), units="upload", units_path=path,
        target=1.10, mode="rebalance"))
    path.unlink()
    stats = proposal.stats
    assert [b["accounts"] for b in stats["before"]] == [30, 10]  # East, West by name
    assert stats["before_max_min"] > 2.5  # 120 h + travel against 40 h + travel
    assert stats["after_max_min"] <= 1.10
    assert (stats["moved_units"], stats["moved_accounts"], stats["units"]) == (5, 10, 20)
    assert {p["name"]: (p["accounts"], p["gains"], p["loses"]) for p in proposal.proposal} == {
        "East": (20, 0, 10), "West": (20, 10, 0)}
    west_after = next(shape(p["geometry"]) for p in proposal.proposal if p["name"] == "West")
    assert west_after.symmetric_difference(
        shapely.box(24.90, 60.15, 24.95 + 5 * 0.05 / 15, 60.20)).area < 1e-12
    assert shape(stats["moved_area"]).symmetric_difference(
        shapely.box(24.95, 60.15, 24.95 + 5 * 0.05 / 15, 60.20)).area < 1e-12

    rev = balancing.apply_balance(world.manager, proposal.id)
    moved = {a.name for a in made["East"] if territory_of(a.id) == world.west.id}
    assert moved == {a.name for a in made["East"] if a.lon < 24.95 + 5 * 0.05 / 15}
    assert len(moved) == 10 == len(rev.moved)
    assert all(territory_of(a.id) == world.west.id for a in made["West"])
    assert [u.id for u in db.session.get(Territory, world.west.id).reps] == [world.rep_west.id]
    svc.undo(world.manager, rev.id)
    assert db.session.get(Territory, world.west.id).geom.equals(west_before)
    assert db.session.get(Territory, world.east.id).geom.equals(east_before)
    assert all(territory_of(a.id) == world.east.id for a in made["East"])
    for a in made["East"]:  # moved there and back: the open row is East again
        assert _open_territory(a.id) == ([world.east.id] if a.name in moved else [])


def test_rebalance_on_the_grid_moves_whole_groups_at_the_border(world):
    """The same 30 against 10 on a lattice (East 6 columns x 5 rows, West 2 x 5) with the
    default hexagon grid. Cells without accounts join their nearest cell with some, so the
    library does not strip East of its empty cells first (it did: 42 of 138 cells moved,
    compactness 0.7 -> 0.06): every unit that moves carries accounts, 9 to 11 of them move
    (10 by counts; travel shifts it by one), all from East's western half into West, both
    territories stay in one piece and reasonably compact; undo restores them exactly."""
    made = _weekly_hour_accounts(
        world, {"West": [24.9125, 24.9375],
                "East": [24.95 + (i + 0.5) * 0.05 / 6 for i in range(6)]},
        [60.155 + j * 0.01 for j in range(5)])
    west_before = db.session.get(Territory, world.west.id).geom
    east_before = db.session.get(Territory, world.east.id).geom
    proposal = balancing.preview_balance(world.manager, balancing.BalanceRequest(
        territory_ids=(world.west.id, world.east.id), target=1.10, mode="rebalance"))
    stats = proposal.stats
    assert stats["before_max_min"] > 2.5 and stats["after_max_min"] <= 1.10
    assert 9 <= stats["moved_accounts"] <= 11
    assert 0 < stats["moved_units"] <= stats["moved_accounts"]
    assert stats["units"] < stats["cells"]  # grouped
    assert stats["contiguous"] is True
    assert all(p["compactness"] >= 0.1 for p in proposal.proposal)
    rev = balancing.apply_balance(world.manager, proposal.id)
    moved = [a for a in made["East"] if territory_of(a.id) != world.east.id]
    assert len(moved) == stats["moved_accounts"]
    assert {int(k) for k in rev.moved} >= {a.id for a in moved}  # archived ones move too
    assert all(territory_of(a.id) == world.west.id and a.lon < 24.975 for a in moved)
    assert all(territory_of(a.id) == world.west.id for a in made["West"])
    assert db.session.get(Territory, world.west.id).geom.geom_type == "Polygon"
    svc.undo(world.manager, rev.id)
    assert db.session.get(Territory, world.west.id).geom.equals(west_before)
    assert db.session.get(Territory, world.east.id).geom.equals(east_before)
    assert all(territory_of(a.id) == world.east.id for a in made["East"])
