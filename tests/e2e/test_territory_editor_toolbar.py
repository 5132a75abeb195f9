"""The editor's toolbar by mouse: drag a vertex and save, split with a drawn line.

Its own live server (the fixtures of ``test_territory_editor`` are module-scoped, so this
module gets a fresh seeded app): East = lon 24.95–25.00, lat 60.15–60.20, holding "Itä
Bakery" (60.16, 24.97), a script-named account (60.19, 24.98) and a 12-shop cluster at
lat 60.175–60.1765, lon 24.975–24.9765. Each test ends with the page's Undo, so the other
starts from the seeded map whatever the order.

Waits are on the app's state (``data-state="ready"`` after every reload, the result text,
the vertex markers Leaflet.draw adds, its drawing handler taking clicks again), never on
the clock (see :func:`click_vertices`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import shapely
from playwright.sync_api import Page, expect
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.models import Account, AssignmentHistory, Territory
from tests.e2e.conftest import CLUSTER_SIZE, ExternalRequests, LiveServer
from tests.e2e.test_territory_editor import (  # noqa: F401 - fixtures, used by name
    editor_page,
    editor_server,
    pixel,
    set_view,
    wait_draw_ready,
)

EAST_BOX = shapely.box(24.95, 60.15, 25.00, 60.20)
# The cluster and the script-named account: the accounts both tests move.
MOVED = CLUSTER_SIZE + 1


def open_editor(page: Page, login: Callable[[Page, str], None], centre: tuple[float, float]
                ) -> None:
    login(page, "manager@example.com")
    page.goto("/territories/")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#stats-table tbody tr", has_text="East").locator(
        'td[data-col="accounts"]')).to_have_text(str(CLUSTER_SIZE + 2))
    set_view(page, *centre, 13)


def east_state(server: LiveServer) -> tuple[shapely.Geometry, dict[str, int | None]]:
    """East's outline and the territory of every account that starts in East."""
    with server.app.app_context():
        east = db.session.get(Territory, server.world.territories["East"])
        assert east is not None
        geom = east.geom
        rows = db.session.execute(select(Account.name, Account.territory_id).where(
            (Account.name.like("East Shop %")) | Account.name.in_(
                ["Itä Bakery", "<script>alert(1)</script> Oy"]))).all()
        db.session.remove()
    return geom, {name: tid for name, tid in rows}


def undo_and_check_restored(page: Page, server: LiveServer, summary: str) -> None:
    """The result panel's Undo: East's outline and its 14 accounts come back exactly."""
    page.click("#result-undo")
    expect(page.locator("#result-text")).to_have_text(f"undone: {summary}")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#stats-table tbody tr", has_text="East").locator(
        'td[data-col="accounts"]')).to_have_text(str(CLUSTER_SIZE + 2))
    geom, where = east_state(server)
    assert geom.equals(EAST_BOX)
    assert set(where.values()) == {server.world.territories["East"]}


def click_vertices(page: Page, points: list[tuple[float, float]]) -> None:
    """Click each point of a line, waiting for Leaflet.draw to take it as a vertex.

    Leaflet.draw ignores a click less than 50 ms after the last one (its guard against a
    double click): each click waits for its drawing handler to take clicks again; the
    vertex count it draws is what we wait on after.
    """
    vertices = page.locator(".leaflet-marker-icon.leaflet-editing-icon")
    for i, (lat, lon) in enumerate(points):
        wait_draw_ready(page)
        x, y = pixel(page, lat, lon)
        page.mouse.click(x, y)
        expect(vertices).to_have_count(i + 1)


@pytest.mark.browser
def test_manager_drags_a_vertex_and_saves_and_the_accounts_outside_are_unassigned(
    editor_page: Page,  # noqa: F811
    editor_server: LiveServer,  # noqa: F811
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Edit tool, drag East's north-east corner (60.20, 25.00) to (60.17, 24.96) by mouse,
    save. By hand: the new edge from the south-east corner passes lon 24.98 at lat 60.16, so
    Itä Bakery (24.97) stays inside; the edge from there to the north-west corner passes
    lon 24.958 at lat 60.175 and 24.953 at 60.19, so the cluster and the script-named account
    fall outside, in no territory: 13 accounts re-assigned, each with an open history row
    naming nobody. Undo restores the square and the 14 accounts."""
    page = editor_page
    server = editor_server
    open_editor(page, login, (60.185, 24.98))
    page.click(".leaflet-draw-edit-edit")
    corner = page.locator(".leaflet-marker-icon.leaflet-editing-icon")
    expect(corner.first).to_be_visible()
    x, y = pixel(page, 60.20, 25.00)
    tx, ty = pixel(page, 60.17, 24.96)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(tx, ty, steps=8)
    page.mouse.up()
    page.click('.leaflet-draw-actions a[title="Save changes"]')

    expect(page.locator("#result-text")).to_have_text(
        f"reshaped 'East' — {MOVED} account(s) re-assigned.")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#stats-table tbody tr", has_text="East").locator(
        'td[data-col="accounts"]')).to_have_text("1")
    expect(page.locator("#unassigned-line")).to_have_text(
        f"{MOVED + 1} account(s) in no territory (grey dots).")  # and Far Away Ltd
    geom, where = east_state(server)
    corners = list(shapely.get_coordinates(geom))
    assert len(corners) == 5  # four corners, closed
    moved_to = min(corners, key=lambda c: (c[0] - 24.96) ** 2 + (c[1] - 60.17) ** 2)
    assert abs(moved_to[0] - 24.96) < 5e-4 and abs(moved_to[1] - 60.17) < 5e-4  # a pixel or two
    assert not geom.covers(shapely.Point(25.00, 60.20))
    east_id = server.world.territories["East"]
    assert where.pop("Itä Bakery") == east_id
    assert set(where.values()) == {None} and len(where) == MOVED
    with server.app.app_context():
        reasons = set(db.session.execute(
            select(AssignmentHistory.territory_id, AssignmentHistory.reason)
            .join(Account, Account.id == AssignmentHistory.account_id)
            .where(Account.name.in_(list(where)), AssignmentHistory.until.is_(None))).all())
        db.session.remove()
    assert reasons == {(None, "edit: reshaped 'East'")}

    undo_and_check_restored(page, server, "reshaped 'East'")
    assert external_requests.urls == []


@pytest.mark.browser
def test_manager_splits_a_territory_with_a_drawn_line_into_two(
    editor_page: Page,  # noqa: F811
    editor_server: LiveServer,  # noqa: F811
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Click East to select it, draw a line from north of it down lon 24.973 to lat 60.173
    and east out of it, name the piece and split. By hand: the line cuts East into a
    2.7 x 2.7 hundredths-of-a-degree north-east corner (the smaller piece, so the new
    territory) holding the cluster and the script-named account, and the rest holding Itä
    Bakery: two territories, 13 accounts re-assigned. Undo merges them back."""
    page = editor_page
    server = editor_server
    open_editor(page, login, (60.18, 24.98))
    x, y = pixel(page, 60.16, 24.99)
    page.mouse.click(x, y)  # select East
    expect(page.locator("#selected-name")).to_have_text("East")

    page.click(".leaflet-draw-draw-polyline")
    click_vertices(page, [(60.205, 24.973), (60.173, 24.973), (60.173, 25.005)])
    page.click('.leaflet-draw-actions a[title="Finish drawing"]')
    expect(page.locator("#pending-panel")).to_be_visible()
    expect(page.locator("#pending-create")).to_be_hidden()  # a line splits, never creates
    expect(page.locator("#pending-split")).to_have_text("Split East with it")
    page.fill("#pending-name", "East corner")
    page.click("#pending-split")

    expect(page.locator("#result-text")).to_have_text(
        f"split 'East': new 'East corner' — {MOVED} account(s) re-assigned.")
    expect(page.locator("#editor-map")).to_have_attribute("data-state", "ready")
    rows = page.locator("#stats-table tbody tr")
    expect(rows.filter(has_text="East corner").locator('td[data-col="accounts"]')).to_have_text(
        str(MOVED))
    expect(rows.filter(has_text="East").filter(has_not_text="corner").locator(
        'td[data-col="accounts"]')).to_have_text("1")
    expect(page.locator("#selected-name")).to_have_text("East corner")
    east_id = server.world.territories["East"]
    geom, where = east_state(server)
    with server.app.app_context():
        corner = db.session.scalar(select(Territory).where(Territory.name == "East corner"))
        assert corner is not None
        corner_id, corner_geom = corner.id, corner.geom
        db.session.remove()
    expected = shapely.box(24.973, 60.173, 25.00, 60.20)
    assert corner_geom.symmetric_difference(expected).area < 0.02 * expected.area
    assert geom.union(corner_geom).symmetric_difference(EAST_BOX).area < 1e-9
    assert geom.intersection(corner_geom).area < 1e-12
    assert where.pop("Itä Bakery") == east_id
    assert set(where.values()) == {corner_id} and len(where) == MOVED

    undo_and_check_restored(page, server, "split 'East': new 'East corner'")
    with server.app.app_context():
        assert db.session.get(Territory, corner_id) is None
        db.session.remove()
    assert external_requests.urls == []
