"""Freshness (issue 16): loading a newer extract updates what OpenStreetMap owns on the
accounts made from it, leaves what a person changed (a conflict to review), flags the places
that are gone, and minds only its own area."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.models import Account, Stage, User
from geocrm.models.provenance import ImportConflict
from geocrm.prospecting.adding import add_places
from geocrm.prospecting.freshness import refresh_prospects
from places.poi import read_pois
from tests.factories import World, make_account
from tests.geocrm.prospecting.fixtures import known_accounts, load_town
from tests.places.osm_writer import write_osm


@pytest.fixture
def added(app: Flask, world: World, tmp_path: Path) -> dict[str, int]:
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    load_town(app, tmp_path)
    known_accounts(world)
    admin = db.session.get(User, world.admin.id)
    done = add_places(admin, ["node/6", "node/7", "node/9"])
    db.session.commit()
    ids = {a.external_id: a.id for a in db.session.scalars(
        select(Account).where(Account.id.in_(done.account_ids)))}
    return ids


def test_region_load_refreshes_and_flags_closed(app: Flask, world: World, added: dict[str, int],
                                                tmp_path: Path) -> None:
    # A person changes the far café's name by hand; OpenStreetMap renames it too.
    far = db.session.get(Account, added["node/9"])
    far.name = "Kaukainen kahvila (pääkonttori)"
    far.stage = Stage.CUSTOMER
    db.session.commit()
    outside = make_account("Somewhere else", 35.0, 139.0, source="osm", external_id="node/77")
    db.session.commit()
    extract = load_town(app, tmp_path, version=2)
    out = app.test_cli_runner().invoke(args=["region", "load", str(extract)])
    assert out.exit_code == 0, out.output
    assert "Places: 11 named businesses" in out.output
    assert "3 updated, 1 flagged closed" in out.output, out.output
    db.session.expire_all()
    uusi = db.session.get(Account, added["node/6"])
    assert uusi.name == "Kahvila Uusi Helsinki"  # OpenStreetMap's own field: updated
    assert uusi.opening_hours == "Mo-Sa 07:00-18:00"
    assert uusi.address.startswith("Mannerheimintie 5")
    assert uusi.phone == "+358 9 555 0101"  # only names, hours and addresses travel
    assert uusi.stage == Stage.PROSPECT and uusi.missing_since is None
    assert db.session.get(Account, added["node/7"]).missing_since is not None  # closed
    far = db.session.get(Account, added["node/9"])
    assert far.name == "Kaukainen kahvila (pääkonttori)"  # people win
    assert far.opening_hours == "24/7" and far.stage == Stage.CUSTOMER
    conflict = db.session.scalars(select(ImportConflict).where(
        ImportConflict.account_id == far.id)).one()
    assert conflict.field == "name"
    assert db.session.get(Account, outside.id).missing_since is None  # not this region's
    # an account of the source made before (the demo's): OpenStreetMap's name is its own
    old = db.session.scalars(select(Account).where(Account.external_id == "node/5")).one()
    assert old.name == "Vanha leipomo"
    # Loading the same extract again changes nothing; the first version brings node/7 back.
    again = refresh_prospects(read_pois(extract))
    assert (again.updated, again.flagged_missing, again.status) == (0, 0, "unchanged")
    first = refresh_prospects(read_pois(tmp_path / "town1.osm"))
    db.session.commit()
    assert first.unflagged == 1
    assert db.session.get(Account, added["node/7"]).missing_since is None


def test_an_alias_keeps_its_account(app: Flask, world: World, tmp_path: Path) -> None:
    """An account made from a building (way) whose node is the kept place is still there."""
    make_account("Rautakauppa", 60.18, 24.93, source="osm", external_id="way/50")
    db.session.commit()
    nodes = [(1, 60.1800, 24.9300, {"shop": "hardware", "name": "Rautakauppa Oy"}),
             *[(10 + k, 60.18 + dy, 24.93 + dx, {}) for k, (dx, dy) in
               enumerate(((-1e-4, -1e-4), (1e-4, -1e-4), (1e-4, 1e-4), (-1e-4, 1e-4)))]]
    ways = [(50, [10, 11, 12, 13, 10], {"shop": "hardware", "name": "Rautakauppa Oy"})]
    index = read_pois(write_osm(tmp_path / "alias.osm", nodes, ways))
    result = refresh_prospects(index)
    db.session.commit()
    assert result.flagged_missing == 0
    account = db.session.scalars(select(Account).where(Account.external_id == "way/50")).one()
    assert account.name == "Rautakauppa Oy" and account.missing_since is None
