"""Small model factories and a named tiny world for the app tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import shapely

from geocrm.auth.services import create_user
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Interaction,
    InteractionKind,
    Role,
    Stage,
    Territory,
    User,
)


def make_user(email: str, role: Role, password: str, **fields: Any) -> User:
    user = create_user(email, email.split("@")[0].title(), password, role, **fields)
    db.session.flush()
    return user


def make_territory(name: str, geom: shapely.Geometry, **fields: Any) -> Territory:
    t = Territory(name=name, **fields)
    t.set_geometry(geom)
    db.session.add(t)
    db.session.flush()
    return t


def make_account(name: str, lat: float | None, lon: float | None, **fields: Any) -> Account:
    from geocrm.core.accounts import normalise_address, normalise_name
    from geocrm.core.names import normalise_reading

    a = Account(name=name, name_key=normalise_name(name), lat=lat, lon=lon, **fields)
    if a.address:
        a.address_key = normalise_address(a.address)
    if a.name_reading:
        a.reading_key = normalise_reading(a.name_reading)
    db.session.add(a)
    db.session.flush()
    return a


def make_interaction(account: Account, user: User, **fields: Any) -> Interaction:
    fields.setdefault("kind", InteractionKind.VISIT)
    i = Interaction(uuid=str(uuid.uuid4()), account_id=account.id, user_id=user.id, **fields)
    db.session.add(i)
    db.session.flush()
    return i


@dataclass
class World:
    admin: User
    manager: User
    planner: User
    rep_west: User
    rep_east: User
    west: Territory
    east: Territory
    west_accounts: list[Account]
    east_accounts: list[Account]
    unassigned: Account


def build_world(password: str) -> World:
    """Helsinki-sized squares: west = lon 24.90–24.95, east = 24.95–25.00, lat 60.15–60.20."""
    admin = make_user("admin@example.com", Role.ADMIN, password)
    manager = make_user("manager@example.com", Role.MANAGER, password)
    planner = make_user("planner@example.com", Role.PLANNER, password)
    rep_west = make_user("west@example.com", Role.REP, password, home_lat=60.17, home_lon=24.92)
    rep_east = make_user("east@example.com", Role.REP, password, home_lat=60.17, home_lon=24.97)
    west = make_territory(
        "West", shapely.box(24.90, 60.15, 24.95, 60.20), color="#1f77b4", manager_id=manager.id
    )
    east = make_territory(
        "East", shapely.box(24.95, 60.15, 25.00, 60.20), color="#ff7f0e", manager_id=manager.id
    )
    west.reps.append(rep_west)
    east.reps.append(rep_east)
    west_accounts = [
        make_account(
            "Kahvila Aalto",
            60.16,
            24.91,
            territory_id=west.id,
            stage=Stage.CUSTOMER,
            address="Mannerheimintie 1",
        ),
        make_account("Kirja & Co", 60.18, 24.93, territory_id=west.id, stage=Stage.PROSPECT),
    ]
    east_accounts = [
        make_account("Itä Bakery", 60.16, 24.97, territory_id=east.id, stage=Stage.LEAD),
        make_account(
            "<script>alert(1)</script> Oy", 60.19, 24.98, territory_id=east.id, stage=Stage.CUSTOMER
        ),
    ]
    unassigned = make_account("Far Away Ltd", 61.0, 26.0, stage=Stage.LEAD)
    db.session.commit()
    return World(
        admin,
        manager,
        planner,
        rep_west,
        rep_east,
        west,
        east,
        west_accounts,
        east_accounts,
        unassigned,
    )
