"""The territory editor in a real browser: draw a polygon by mouse, save, see it counted.

This module runs its own live server (same recipe and seed as ``tests/e2e/conftest.py``)
because it changes territories and accounts, which the other browser tests count on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from werkzeug.serving import make_server

from geocrm import create_app
from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, Territory, User
from tests.e2e.conftest import CLUSTER_SIZE, ExternalRequests, LiveServer, seed_live_world
from tests.e2e.modules import TERRITORY_EDITOR, expose, with_module
from tests.factories import make_account

# Around the West cluster: its accounts sit at lat 60.175–60.1765, lon 24.925–24.926.
VERTICES = [(60.1735, 24.9225), (60.1735, 24.9285), (60.1785, 24.9285), (60.1785, 24.9225)]


@pytest.fixture(scope="module")
def editor_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A private live app on a SQLite file, seeded like the shared one."""
    path = tmp_path_factory.mktemp("editor") / "geocrm.sqlite"
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "SECRET_KEY": "e2e-editor", "WTF_CSRF_ENABLED": True, "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "SERVER_NAME": None,
    })
    with app.app_context():
        db.create_all()
        world = seed_live_world()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-editor", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", world)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def editor_page(browser: Browser, editor_server: LiveServer,
                external_requests: ExternalRequests) -> Iterator[Page]:
    context = browser.new_context(base_url=editor_server.url, viewport={"width": 1280,
                                                                        "height": 900})
    external_requests.guard(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def on_map(page: Page, function: str, arg: Any = None) -> Any:
    """Evaluate the JS ``function(map, arg)`` on the editor's Leaflet map (the module's handle)."""
    return with_module(page, TERRITORY_EDITOR,
                       f"(mod, arg) => ({function})(mod.territoryEditor.map, arg)", arg)


def set_view(page: Page, lat: float, lon: float, zoom: int) -> None:
    on_map(page, "(map, v) => { map.setView([v[0], v[1]], v[2], {animate: false}); }",
           [lat, lon, zoom])


def wait_draw_ready(page: Page) -> None:
    """Until Leaflet.draw takes the next click as a vertex.

    After each vertex it ignores clicks for 50 ms (its guard against a double click: the
    drawing handler's ``_disableMarkers``); a human-paced click waits that out, and so do we,
    on the flag itself rather than on the clock.
    """
    expose(page, TERRITORY_EDITOR, "territoryEditor")
    page.wait_for_function(
        "() => { const on = window.territoryEditor.map._events.mouseup || [];"
        " const drawing = on.find(l => l.ctx instanceof L.Draw.Polyline);"
        " return !!drawing && !drawing.ctx._disableMarkers; }"
    )


def pixel(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of a map position."""
    point: dict[str, Any] = on_map(
        page, "(map, ll) => map.latLngToContainerPoint(ll)", [lat, lon])
    box = page.locator("#editor-map .folium-map").bounding_box()
    assert box is not None
    return box["x"] + point["x"], box["y"] + point["y"]


@pytest.mark.browser
def test_manager_draws_a_polygon_by_mouse_and_its_accounts_are_reassigned(
    editor_page: Page,
    editor_server: LiveServer,
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Click the polygon tool, click four corners round the West cluster, close the ring on
    the first vertex, name and save it: the panel counts the cluster's accounts before and
    after saving, and the database has them in the new territory with an open history row
    naming the manager, cut out of West."""
    page = editor_page
    login(page, "manager@example.com")
    page.goto("/territories/")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#stats-table tbody tr")).to_have_count(2)
    # Zoom to the cluster so the shape is big enough to click precisely.
    set_view(page, 60.176, 24.9255, 15)

    page.click(".leaflet-draw-draw-polygon")
    for lat, lon in VERTICES:
        wait_draw_ready(page)  # Leaflet.draw ignores clicks it reads as a double click
        x, y = pixel(page, lat, lon)
        page.mouse.click(x, y)
    wait_draw_ready(page)
    x, y = pixel(page, *VERTICES[0])
    page.mouse.click(x, y)  # back on the first vertex: closes the polygon

    count = page.locator("#pending-count")
    expect(count).to_have_attribute("data-accounts", str(CLUSTER_SIZE))
    page.fill("#pending-name", "Cluster block")
    page.click("#pending-save")

    expect(page.locator("#result-text")).to_contain_text(
        f"created 'Cluster block' — {CLUSTER_SIZE} account(s) re-assigned")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#selected-name")).to_have_text("Cluster block")
    expect(page.locator('#selected-stats dd[data-stat="accounts"]')).to_have_text(
        str(CLUSTER_SIZE))
    row = page.locator("#stats-table tbody tr", has_text="Cluster block")
    expect(row.locator('td[data-col="accounts"]')).to_have_text(str(CLUSTER_SIZE))
    expect(page.locator("#stats-table tbody tr", has_text="West").locator(
        'td[data-col="accounts"]')).to_have_text("2")

    app = editor_server.app
    with app.app_context():
        new = db.session.scalar(select(Territory).where(Territory.name == "Cluster block"))
        manager = db.session.scalar(select(User).where(User.email == "manager@example.com"))
        assert new is not None and new.manager_id == manager.id
        shops = db.session.scalars(select(Account).where(Account.name.like("West Shop %"))).all()
        assert len(shops) == CLUSTER_SIZE
        assert {a.territory_id for a in shops} == {new.id}
        west = db.session.scalar(select(Territory).where(Territory.name == "West"))
        assert len(west.geom.interiors) == 1  # the new block was cut out of West
        open_rows = db.session.scalars(select(AssignmentHistory).where(
            AssignmentHistory.account_id.in_([a.id for a in shops]),
            AssignmentHistory.until.is_(None))).all()
        assert len(open_rows) == CLUSTER_SIZE
        assert {(h.territory_id, h.changed_by_id) for h in open_rows} == {(new.id, manager.id)}
        db.session.remove()
    assert external_requests.urls == []


@pytest.mark.browser
def test_manager_deletes_a_territory_with_the_toolbar_and_its_accounts_are_unassigned(
    editor_page: Page,
    editor_server: LiveServer,
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Pick the toolbar's delete tool, click East, save: East's 14 accounts (its 2 plus the
    12-shop cluster) end in no territory, on the page (stats table, unassigned line and grey
    dots) and in the database (open history rows naming no territory); Undo brings East back
    under its old id with the same 14 accounts."""
    page = editor_page
    login(page, "manager@example.com")
    page.goto("/territories/")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    east_row = page.locator("#stats-table tbody tr", has_text="East")
    expect(east_row.locator('td[data-col="accounts"]')).to_have_text(str(CLUSTER_SIZE + 2))
    expect(page.locator("#unassigned-line")).to_have_text(
        "1 account(s) in no territory (grey dots).")  # Far Away Ltd
    rows = page.locator("#stats-table tbody tr").count()  # 3 after the drawing test, else 2
    east_id = editor_server.world.territories["East"]
    app = editor_server.app
    with app.app_context():
        east_accounts = sorted(db.session.scalars(
            select(Account.id).where(Account.territory_id == east_id)).all())
        db.session.remove()
    assert len(east_accounts) == CLUSTER_SIZE + 2

    set_view(page, 60.175, 24.95, 13)
    page.click(".leaflet-draw-edit-remove")
    x, y = pixel(page, 60.19, 24.99)  # inside East, away from its markers
    page.mouse.click(x, y)
    page.click('.leaflet-draw-actions a[title="Save changes"]')

    expect(page.locator("#result-text")).to_have_text(
        f"deleted 'East' — {CLUSTER_SIZE + 2} account(s) re-assigned.")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#stats-table tbody tr")).to_have_count(rows - 1)
    expect(east_row).to_have_count(0)
    expect(page.locator("#unassigned-line")).to_have_text(
        f"{CLUSTER_SIZE + 3} account(s) in no territory (grey dots).")
    expect(page.locator("path.unassigned-dot")).to_have_count(CLUSTER_SIZE + 3)
    with app.app_context():
        assert db.session.get(Territory, east_id) is None
        assert db.session.scalars(select(Account.territory_id).where(
            Account.id.in_(east_accounts))).all() == [None] * len(east_accounts)
        open_rows = db.session.scalars(select(AssignmentHistory).where(
            AssignmentHistory.account_id.in_(east_accounts),
            AssignmentHistory.until.is_(None))).all()
        assert sorted(h.account_id for h in open_rows) == east_accounts
        assert {(h.territory_id, h.reason) for h in open_rows} == {
            (None, "delete: deleted 'East'")}
        db.session.remove()

    page.click("#result-undo")
    expect(page.locator("#result-text")).to_have_text("undone: deleted 'East'")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#stats-table tbody tr")).to_have_count(rows)
    expect(east_row.locator('td[data-col="accounts"]')).to_have_text(str(CLUSTER_SIZE + 2))
    expect(page.locator("#unassigned-line")).to_have_text(
        "1 account(s) in no territory (grey dots).")
    with app.app_context():
        back = db.session.get(Territory, east_id)
        assert back is not None and back.name == "East"
        assert sorted(db.session.scalars(select(Account.id).where(
            Account.territory_id == east_id)).all()) == east_accounts
        reopened = db.session.scalars(select(AssignmentHistory).where(
            AssignmentHistory.account_id.in_(east_accounts),
            AssignmentHistory.until.is_(None))).all()
        assert len(reopened) == len(east_accounts)
        assert {(h.territory_id, h.territory_name) for h in reopened} == {(east_id, "East")}
        db.session.remove()
    assert external_requests.urls == []


@pytest.mark.browser
def test_manager_rebalances_west_and_east_in_the_wizard_and_undoes_it(
    editor_page: Page,
    editor_server: LiveServer,
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Twenty weekly accounts make East much heavier than West. The wizard opens on
    "rebalance"; with West and East, 0.5 km squares and the default target 1.10 the preview
    shows both outlines on the map, a ratio from above the target to within it and the
    accounts that change rep; apply moves exactly those (East to West), names stay, and the
    history page's Undo puts every account back."""
    app = editor_server.app
    ids = editor_server.world.territories
    with app.app_context():
        for i in range(5):
            for j in range(4):
                make_account(f"Heavy {i}-{j}", 60.155 + j * 0.012, 24.955 + i * 0.009,
                             territory_id=ids["East"], cadence_days=7, visit_minutes=60)
        db.session.commit()
        before = dict(db.session.execute(select(Account.id, Account.territory_id).where(
            Account.territory_id.in_([ids["West"], ids["East"]]))).all())
        db.session.remove()

    page = editor_page
    login(page, "manager@example.com")
    page.goto("/territories/balance")
    expect(page.locator('input[name="mode"][value="rebalance"]')).to_be_checked()
    expect(page.locator("#target")).to_have_value("1.10")
    boxes = page.locator('input[name="territory"]')
    for i in range(boxes.count()):  # only West and East (a drawn block has no rep)
        box = boxes.nth(i)
        box.set_checked(int(box.get_attribute("value") or 0) in (ids["West"], ids["East"]))
    page.check('input[name="units"][value="square"]')
    page.fill("#cell_km", "0.5")
    page.click("button.primary:has-text('Preview')")

    expect(page.locator("h1")).to_have_text("Rebalance preview")
    summary = page.locator("#balance-summary")
    expect(summary).to_contain_text("(target 1.1)")
    ratios = summary.locator("strong")
    before_ratio, after_ratio = float(ratios.nth(0).inner_text()), float(ratios.nth(1).inner_text())
    assert before_ratio > 1.10 >= after_ratio
    moved = int(page.locator("#moved-accounts").get_attribute("data-value") or -1)
    assert 0 < moved < len(before) / 2
    expect(page.locator("#balance-after tbody tr")).to_have_count(2)
    expect(page.locator("#balance-after tbody tr", has_text="West")).to_have_count(1)
    expect(page.locator("#balance-after tbody tr", has_text="East")).to_have_count(1)
    expect(page.locator("#balance-map path.leaflet-interactive")).not_to_have_count(0)

    page.click("button.primary:has-text('Apply')")
    row = page.locator("tr", has_text="balance: rebalanced 2 territories")
    expect(row).to_have_count(1)
    with app.app_context():
        after = dict(db.session.execute(select(Account.id, Account.territory_id).where(
            Account.id.in_(list(before)))).all())
        changed = {a: (before[a], after[a]) for a in before if before[a] != after[a]}
        assert len(changed) == moved
        assert set(changed.values()) == {(ids["East"], ids["West"])}
        assert {t.name for t in db.session.scalars(select(Territory).where(
            Territory.id.in_([ids["West"], ids["East"]])))} == {"West", "East"}
        db.session.remove()

    row.locator("button", has_text="Undo").click()
    expect(page.locator("tr", has_text="balance: rebalanced 2 territories")).to_contain_text(
        "undone")
    with app.app_context():
        assert dict(db.session.execute(select(Account.id, Account.territory_id).where(
            Account.id.in_(list(before)))).all()) == before
        db.session.remove()
    assert external_requests.urls == []
