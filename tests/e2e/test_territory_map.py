"""The territory map in a real phone browser: territories, clusters, popups, no network."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from tests.e2e import conftest as e2e
from tests.e2e.conftest import ExternalRequests, LiveWorld
from tests.e2e.modules import TERRITORY_MAP, expose

MAP = "/maps/territories"
TERRITORY_PATHS = "#territory-map .leaflet-overlay-pane path.leaflet-interactive"
CLUSTERS = "#territory-map .marker-cluster"
MARKERS = "#territory-map .account-marker"
XSS_NAME = "<script>alert(1)</script> Oy"
# What a Pixel 7 shows when the manager's map opens on the two territories: one cluster per
# seeded group (West's also swallows "Kirja & Co"), and three lone markers: "Kahvila Aalto",
# "Itä Bakery" and the script-named account. "Far Away Ltd" is off screen.
EXPECTED_CLUSTERS = {"13", "12"}
EXPECTED_MARKERS = 3


def open_map(page: Page, query: str = "") -> None:
    """Open the map, wait for every marker to be clustered, and give test expressions the
    page's own ``territoryMap`` handle (the module's export)."""
    page.goto(MAP + query)
    expect(page.locator("#territory-map")).to_have_attribute("data-state", "ready")
    expose(page, TERRITORY_MAP, "territoryMap")


def settle(page: Page) -> None:
    """Wait until Leaflet and markercluster have finished any zoom animation (their flags,
    and the classes they put on the map while markers move)."""
    page.wait_for_function(
        "() => { const m = window.territoryMap;"
        " return !m.map._animatingZoom && !m.cluster._inZoomAnimation"
        " && !document.querySelector('#territory-map .leaflet-zoom-anim,"
        " #territory-map .leaflet-cluster-anim'); }"
    )


def inside_map(page: Page, selector: str) -> list[Locator]:
    """Elements matching ``selector`` whose centre lies inside the map's visible box."""
    box = page.locator("#territory-map").bounding_box()
    assert box is not None
    found = []
    items = page.locator(selector)
    for i in range(items.count()):
        b = items.nth(i).bounding_box()
        if b is None:
            continue
        x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
        if box["x"] < x < box["x"] + box["width"] and box["y"] < y < box["y"] + box["height"]:
            found.append(items.nth(i))
    return found


@pytest.mark.browser
def test_manager_opens_map_popup_and_account(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    """Log in as a manager on a phone, count territories and clusters, open a cluster, then a
    marker's popup, and follow its link to the account page, without leaving 127.0.0.1."""
    login(phone, "manager@example.com")
    open_map(phone)
    paths = phone.locator(TERRITORY_PATHS)
    expect(paths).to_have_count(len(live_world.territories))
    strokes = sorted(paths.nth(i).get_attribute("stroke") or "" for i in range(paths.count()))
    assert strokes == ["#1f77b4", "#ff7f0e"]  # West, East
    clusters = phone.locator(CLUSTERS)
    expect(clusters).to_have_count(len(EXPECTED_CLUSTERS))
    assert set(clusters.all_inner_texts()) == EXPECTED_CLUSTERS
    expect(phone.locator(MARKERS)).to_have_count(EXPECTED_MARKERS)

    # Open the East group: click clusters until single markers show inside it.
    zoom = phone.evaluate("() => territoryMap.map.getZoom()")
    clusters.filter(has_text=re.compile(r"^12$")).click()
    settle(phone)
    assert phone.evaluate("() => territoryMap.map.getZoom()") > zoom
    for _ in range(6):
        if inside_map(phone, MARKERS):
            break
        inside_map(phone, CLUSTERS)[0].click()
        settle(phone)
    markers = inside_map(phone, MARKERS)
    assert markers, "no single marker after zooming into the cluster"
    markers[0].click()
    popup = phone.locator(".leaflet-popup .account-popup")
    expect(popup.locator(".popup-name")).to_have_text(re.compile(r"^East Shop \d+$"))
    name = popup.locator(".popup-name").inner_text()
    expect(popup.locator(".popup-stage")).to_have_text("lead")
    expect(popup.locator(".popup-visit")).to_have_text("never")

    with phone.expect_navigation():
        popup.locator("a.popup-link").click()
    assert re.search(r"/accounts/\d+$", phone.url)
    expect(phone.locator("h1")).to_contain_text(name)
    assert external_requests.urls == []


@pytest.mark.browser
def test_script_named_account_shows_literally(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    """The account named like a script tag shows its name as text in the popup; nothing runs."""
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    phone.on("dialog", on_dialog)
    login(phone, "manager@example.com")
    open_map(phone)
    account_id = live_world.accounts[XSS_NAME]
    # Tag the account's own marker so the test can click it like a person would.
    phone.evaluate(
        "id => territoryMap.marker(id).getElement().setAttribute('data-testid', 'xss')",
        account_id,
    )
    phone.locator("[data-testid=xss]").click()
    name = phone.locator(".leaflet-popup .popup-name")
    expect(name).to_have_text(XSS_NAME)
    assert phone.locator(".leaflet-popup script").count() == 0
    assert phone.locator(".leaflet-popup a.popup-link").get_attribute("href") == (
        f"/accounts/{account_id}"
    )
    assert dialogs == []
    assert external_requests.urls == []


@pytest.mark.browser
def test_territory_toggle_hides_its_accounts(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    """Unticking a territory in the layer control hides its polygon and its accounts."""
    login(phone, "manager@example.com")
    open_map(phone)
    control = phone.locator(".leaflet-control-layers")
    control.hover()  # Leaflet expands the collapsed control on hover (and on tap)
    expect(control).to_have_class(re.compile(r"leaflet-control-layers-expanded"))
    west = phone.locator(".leaflet-control-layers-overlays label", has_text="West")
    west.locator("input").uncheck()
    expect(phone.locator(TERRITORY_PATHS)).to_have_count(1)
    expect(phone.locator(CLUSTERS)).to_have_count(1)
    assert phone.locator(CLUSTERS).all_inner_texts() == ["12"]
    west.locator("input").check()
    expect(phone.locator(CLUSTERS)).to_have_count(2)
    assert external_requests.urls == []


@pytest.mark.browser
def test_stage_filter_reaches_the_data(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    """The filter form reloads the map with the filter in the page and data URLs."""
    login(phone, "manager@example.com")
    open_map(phone)
    phone.locator(".map-filters summary").click()
    phone.locator("input[name=stage][value=customer]").check()
    with phone.expect_response(re.compile(r"points\.json\?stage=customer")) as response:
        phone.locator(".map-filters button[type=submit]").click()
    assert response.value.json()["count"] == 2  # "Kahvila Aalto" and the script-named one
    expect(phone.locator("#territory-map")).to_have_attribute("data-state", "ready")
    expect(phone.locator(CLUSTERS)).to_have_count(0)
    expect(phone.locator(MARKERS)).to_have_count(2)
    assert external_requests.urls == []


def test_missing_chromium_skips_or_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without Debian's Chromium, browser tests skip with the reason, or fail when CI
    requires a browser (GEOCRM_REQUIRE_BROWSER=1)."""
    monkeypatch.setattr(e2e, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("GEOCRM_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        e2e.chromium_or_skip()
    monkeypatch.setenv("GEOCRM_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="GEOCRM_REQUIRE_BROWSER=1"):
        e2e.chromium_or_skip()
