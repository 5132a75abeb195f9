"""Geocoding in the app, on both database engines, with a real engine client talking to a real
local HTTP server that answers like Nominatim/Photon/Pelias (tests/geocode_fakes.py): the one
setting, pending marks and the background job, people's pins kept, address changes
re-geocoded, Data health, reverse geocoding for "add account here" and pinned accounts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from geocrm.core.transaction import transaction
from geocrm.crm.health import health_counts, health_list
from geocrm.demo import helsinki_extract, load_demo
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.geocoding import services
from geocrm.geocoding.engine import current_geocoder, extract_geocoder
from geocrm.jobs import wait_for_job
from geocrm.models import Account, AssignmentHistory, AuditEntry
from geocrm.models.geocoding import AccountGeocode, GeocodeStatus
from geocrm.models.planning import Job
from places.geocode import Confidence
from places.geocode.engines import NominatimGeocoder, PeliasGeocoder
from tests.factories import World, make_account
from tests.geocode_fakes import FakeGeocodeServer


@pytest.fixture
def fake() -> Iterator[FakeGeocodeServer]:
    server = FakeGeocodeServer("nominatim")
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], fake: FakeGeocodeServer,
               tmp_path: Any) -> dict[str, Any]:
    app_config.update(GEOCRM_GEOCODER="nominatim", GEOCRM_GEOCODER_URL=fake.url,
                      GEOCRM_GEOCODER_RATE="1000", GEOCRM_GEOCODER_CACHE="off")
    return app_config


def geocode_of(account_id: int) -> AccountGeocode | None:
    db.session.expire_all()
    return db.session.get(AccountGeocode, account_id)


def test_one_setting_picks_the_engine(app: Flask, fake: FakeGeocodeServer,
                                      tmp_path: Path) -> None:
    app.instance_path = str(tmp_path)  # no region index
    geocoder = current_geocoder()
    assert isinstance(geocoder, NominatimGeocoder) and geocoder.base_url == fake.url
    assert current_geocoder() is geocoder  # one client (one rate limit) per process
    app.config.update(GEOCRM_GEOCODER="pelias")
    assert isinstance(current_geocoder(), PeliasGeocoder)
    app.config.update(GEOCRM_GEOCODER="google")
    with pytest.raises(ValidationError, match="region, off, nominatim, photon, pelias"):
        current_geocoder()
    app.config.update(GEOCRM_GEOCODER="photon", GEOCRM_GEOCODER_URL="")
    with pytest.raises(ValidationError, match="GEOCRM_GEOCODER_URL"):
        current_geocoder()
    app.config.update(GEOCRM_GEOCODER="region")
    assert current_geocoder() is None  # no region loaded
    app.config.update(GEOCRM_GEOCODER="off")
    assert current_geocoder() is None


def test_region_index_from_an_extract(app: Flask, world: World, runner: Any,
                                      tmp_path: Path) -> None:
    """`flask geocode index --demo` builds the region's index; the default setting uses it."""
    app.instance_path = str(tmp_path)
    app.config.update(GEOCRM_GEOCODER="")
    result = runner.invoke(args=["geocode", "index", "--demo"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "region" / "addresses.npz").exists()
    geocoder = current_geocoder()
    assert geocoder is not None and geocoder.name == "region"
    account = make_account("Talo", None, None, address="Aleksanterinkatu 52",
                           city="Helsinki")
    db.session.commit()
    result = runner.invoke(args=["geocode", "run"])
    assert result.exit_code == 0, result.output
    assert "Geocoded with region: 1 placed (exact 1" in result.output
    db.session.expire_all()
    placed = db.session.get(Account, account.id)
    assert placed is not None and placed.location_source == "geocoder"
    assert (placed.lat, placed.lon) == pytest.approx((60.1685, 24.9419), abs=5e-4)


@pytest.mark.slow
def test_demo_accounts_without_address_get_one(app: Flask) -> None:
    result = load_demo(today=date(2026, 3, 2))
    assert result["addresses_from_pins"] > 50  # about one place in five has no addr:* tags
    assert db.session.scalar(select(func.count(Account.id)).where(
        Account.address.is_(None))) == 0
    geocoder = extract_geocoder(str(helsinki_extract()), "FI")
    for account in db.session.scalars(
            select(Account).join(AuditEntry, AuditEntry.entity_id == Account.id)
            .where(AuditEntry.action == "address_from_pin").limit(5)):
        assert account.lat is not None and account.lon is not None
        found = services.address_at(geocoder, account.lat, account.lon)
        assert found is not None and account.address == found["address"]


def test_pinless_accounts_are_placed_with_named_confidence(app: Flask, world: World) -> None:
    house = make_account("Talo", None, None, address="Mannerheimintie 1", city="Helsinki")
    street = make_account("Katu", None, None, address="Mannerheimintie 999", city="Helsinki")
    postcode = make_account("Posti", None, None, address="Nosuchstreet 4", postcode="00120")
    nowhere = make_account("Ei", None, None, address="Nosuchstreet 4", city="Atlantis")
    bare = make_account("Tyhjä", None, None)
    db.session.commit()
    with transaction():
        assert services.mark_pinless() == 4  # the one without any address is not marked
    geocoder = current_geocoder()
    assert geocoder is not None
    with transaction():
        run = services.geocode_pending(geocoder)
    assert (run.placed, run.not_found, run.low_confidence) == (3, 1, 2)
    assert run.by_confidence == {"exact": 1, "street": 1, "postcode": 1}
    db.session.expire_all()
    h = db.session.get(Account, house.id)
    assert h is not None and (h.lat, h.lon) == pytest.approx((60.16887, 24.94285))
    assert h.location_source == "geocoder" and h.location_confidence == 1.0
    assert h.territory_id == world.west.id  # placed in its territory, with its history
    history = db.session.scalars(select(AssignmentHistory).where(
        AssignmentHistory.account_id == h.id)).all()
    assert [(r.territory_id, r.until, r.reason) for r in history] == [
        (world.west.id, None, "placed from the address")]
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_id == h.id, AuditEntry.action == "pin")).one()
    assert entry.changes["geocode"] == "exact" and entry.changes["location_source"] == [
        None, "geocoder"]
    assert h.version == 2  # the phone's sync sees the change
    assert geocode_of(house.id).confidence == "exact"  # type: ignore[union-attr]
    assert geocode_of(street.id).confidence == "street"  # type: ignore[union-attr]
    assert geocode_of(postcode.id).confidence == "postcode"  # type: ignore[union-attr]
    assert geocode_of(nowhere.id).status == GeocodeStatus.NOT_FOUND  # type: ignore[union-attr]
    assert geocode_of(bare.id) is None
    # low confidence shows in Data health, with the grade's name
    counts = health_counts(world.admin, h.created_at.date())
    assert counts["low_confidence"] == 2
    details = {r.account[1]: r.detail for r in health_list(world.admin, "low_confidence",
                                                          h.created_at.date())}
    assert set(details) == {"Katu", "Posti"}
    assert "street" in details["Katu"] and "postcode" in details["Posti"]
    pinless = {r.account[1]: r.detail for r in health_list(world.admin, "no_location",
                                                          h.created_at.date())}
    assert pinless["Ei"] == "no pin: the geocoder did not find the address"
    assert pinless["Tyhjä"] == "no pin"


def test_a_persons_or_checkins_pin_is_never_moved(app: Flask, world: World) -> None:
    manual = make_account("Käsin", 60.2, 24.9, address="Mannerheimintie 1",
                          location_source="manual")
    checkin = make_account("Käynti", 60.2, 24.9, address="Bulevardi 5",
                           location_source="checkin")
    imported = make_account("Tuotu", 60.2, 24.9, address="Bulevardi 5",
                            location_source="import")
    db.session.commit()
    # an address change marks only the pin the geocoder may move
    for account, new in ((manual, "Bulevardi 5"), (checkin, "Mannerheimintie 3"),
                         (imported, "Aleksanterinkatu 52")):
        account.address = new
    db.session.commit()  # queues the background job for the one it may move
    job = db.session.scalars(select(Job).where(Job.kind == "geocode")).one()
    assert wait_for_job(job.id, timeout=30).result["placed"] == 1
    assert geocode_of(manual.id) is None and geocode_of(checkin.id) is None
    assert geocode_of(imported.id).status == "placed"  # type: ignore[union-attr]
    moved = db.session.get(Account, imported.id)
    assert moved is not None and (moved.lat, moved.lon) == pytest.approx((60.1685, 24.9419))
    # even if marked by hand, the geocoder leaves a person's pin where it is
    with transaction():
        services.mark_pending_ids([manual.id])
    geocoder = current_geocoder()
    assert geocoder is not None
    with transaction():
        run = services.geocode_pending(geocoder)
    assert run.placed == 0 and run.kept == 1
    db.session.expire_all()
    kept = db.session.get(Account, manual.id)
    assert kept is not None and (kept.lat, kept.lon) == (60.2, 24.9)
    assert kept.location_source == "manual"


def test_address_change_queues_the_background_job(app: Flask, world: World,
                                                  fake: FakeGeocodeServer) -> None:
    account = world.west_accounts[0]  # pinned, no location_source: the geocoder may move it
    account.address = "Aleksanterinkatu 52"
    account.city = "Helsinki"
    db.session.commit()
    job = db.session.scalars(select(Job).where(Job.kind == "geocode")).one()
    job = wait_for_job(job.id, timeout=30)
    assert job.status.value == "done", job.error
    assert job.result["placed"] == 1
    db.session.expire_all()
    moved = db.session.get(Account, account.id)
    assert moved is not None and moved.location_source == "geocoder"
    assert (moved.lat, moved.lon) == pytest.approx((60.1685, 24.9419))
    assert geocode_of(account.id).status == "placed"  # type: ignore[union-attr]


def test_engine_down_keeps_accounts_pending(app: Flask, world: World,
                                            fake: FakeGeocodeServer) -> None:
    account = make_account("Talo", None, None, address="Mannerheimintie 1", city="Helsinki")
    db.session.commit()
    with transaction():
        services.mark_pinless()
    fake.fail_status = 503
    geocoder = current_geocoder()
    assert geocoder is not None
    with transaction():
        run = services.geocode_pending(geocoder)
    assert run.error is not None and "HTTP 503" in run.error
    assert run.placed == 0 and run.still_pending == 1
    assert geocode_of(account.id).status == "pending"  # type: ignore[union-attr]


def test_reverse_fills_missing_addresses(app: Flask, world: World) -> None:
    near = make_account("Ilman osoitetta", 60.16851, 24.94191)  # at Aleksanterinkatu 52
    far = make_account("Korvessa", 61.5, 25.5)
    db.session.commit()
    geocoder = current_geocoder()
    assert geocoder is not None
    assert services.address_at(geocoder, 60.16851, 24.94191)["address"] == \
        "Aleksanterinkatu 52"  # type: ignore[index]
    with transaction():
        result = services.fill_missing_addresses(geocoder)
    assert result["filled"] == 1 and result["not_found"] >= 1
    db.session.expire_all()
    filled = db.session.get(Account, near.id)
    assert filled is not None and filled.address == "Aleksanterinkatu 52"
    assert filled.postcode == "00100" and filled.city == "Helsinki"
    assert (filled.lat, filled.lon) == (60.16851, 24.94191)  # the pin stays
    assert geocode_of(near.id) is None  # an address read from the pin is not re-geocoded
    assert db.session.get(Account, far.id).address is None  # type: ignore[union-attr]


def test_cli_run_and_fill(app: Flask, world: World, runner: Any) -> None:
    make_account("Talo", None, None, address="Bulevardi 5", city="Helsinki")
    make_account("Ilman osoitetta", 60.16851, 24.94191)
    db.session.commit()
    result = runner.invoke(args=["geocode", "run"])
    assert result.exit_code == 0, result.output
    assert "1 placed (exact 1" in result.output
    result = runner.invoke(args=["geocode", "fill-addresses"])
    assert result.exit_code == 0, result.output
    assert "Filled 1 of" in result.output
    result = runner.invoke(args=["geocode", "try", "Mannerheimintie 3, 00100 Helsinki"])
    assert "nominatim: 60.169200, 24.942400 (exact)" in result.output


def test_scores_order_follows_the_grades() -> None:
    scores = [services.SCORES[c] for c in Confidence]
    assert scores == sorted(scores, reverse=True)
    assert not services.is_low(Confidence.INTERPOLATED) and services.is_low(Confidence.STREET)


def test_address_changed_in_bulk_is_found_stale(app: Flask, world: World) -> None:
    """An import writes addresses with bulk statements (no ORM hook): the next run compares the
    address each geocoded pin was placed for and re-places the changed ones."""
    account = make_account("Talo", None, None, address="Mannerheimintie 1", city="Helsinki")
    other = make_account("Toinen", None, None, address="Bulevardi 5", city="Helsinki")
    db.session.commit()
    geocoder = current_geocoder()
    assert geocoder is not None
    with transaction():
        services.mark_pinless()
        services.geocode_pending(geocoder)
    db.session.execute(update(Account).where(Account.id == account.id)
                       .values(address="Aleksanterinkatu 52"))
    db.session.commit()
    with transaction():
        assert services.mark_stale() == 1  # only the one whose address changed
        run = services.geocode_pending(geocoder)
    assert run.placed == 1
    db.session.expire_all()
    moved = db.session.get(Account, account.id)
    assert moved is not None and (moved.lat, moved.lon) == pytest.approx((60.1685, 24.9419))
    assert geocode_of(other.id).status == "placed"  # type: ignore[union-attr]
    with transaction():
        assert services.mark_stale() == 0
