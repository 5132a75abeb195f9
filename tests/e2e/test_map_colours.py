"""Maps people can read (issue 13) in a real browser: territory names drawn inside the
territories, markers recoloured by the selector with a matching legend, no network."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from geocrm.colours import NO_VALUE_COLOUR, STAGE_COLOURS
from tests.e2e.conftest import ExternalRequests, LiveWorld
from tests.e2e.modules import TERRITORY_MAP, expose

MAP = "/maps/territories"
LABELS = "#territory-map .territory-label-text"
LEGEND = "#legend-colours li"


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def marker_colour(page: Page, account_id: int) -> str:
    """The background of one account's marker dot (zooming until it is a lone marker)."""
    return str(page.evaluate(
        """id => new Promise(done => territoryMap.cluster.zoomToShowLayer(
               territoryMap.marker(id), () => done(getComputedStyle(
                 territoryMap.marker(id).getElement().querySelector('.account-dot'))
                 .backgroundColor)))""",
        account_id))


@pytest.mark.browser
def test_names_inside_territories_and_legend_by_stage(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    login(phone, "manager@example.com")
    phone.goto(MAP)
    expect(phone.locator("#territory-map")).to_have_attribute("data-state", "ready")
    expose(phone, TERRITORY_MAP, "territoryMap")
    labels = phone.locator(LABELS)
    expect(labels).to_have_count(2)
    assert sorted(labels.all_inner_texts()) == ["East", "West"]
    # each name sits inside its territory's drawn polygon
    for name in ("West", "East"):
        inside = phone.evaluate(
            """name => { const el = [...document.querySelectorAll('.territory-label-text')]
                 .find(e => e.textContent === name);
               const b = el.getBoundingClientRect();
               const hit = document.elementsFromPoint(b.x + b.width / 2, b.y + b.height / 2);
               return hit.some(h => h.tagName === 'path'); }""", name)
        assert inside, name
    legend = phone.locator(LEGEND)
    expect(legend).to_have_count(len(STAGE_COLOURS))
    expect(legend.first).to_contain_text("lead")
    account = live_world.accounts["Kahvila Aalto"]  # a customer
    assert marker_colour(phone, account) == rgb(STAGE_COLOURS["customer"])
    assert external_requests.urls == []


@pytest.mark.browser
def test_colour_selector_recolours_markers_and_legend(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    login(phone, "manager@example.com")
    phone.goto(MAP)
    expect(phone.locator("#territory-map")).to_have_attribute("data-state", "ready")
    phone.locator(".map-filters summary").click()
    phone.locator("#map-colour").select_option("territory")
    with phone.expect_response(re.compile(r"points\.json\?.*colour=territory")):
        phone.locator(".map-filters button[type=submit]").click()
    expect(phone.locator("#territory-map")).to_have_attribute("data-state", "ready")
    expose(phone, TERRITORY_MAP, "territoryMap")
    legend = phone.locator(LEGEND)
    expect(legend).to_have_count(3)  # East, West, Unassigned
    texts = [t.strip() for t in legend.all_inner_texts()]
    assert texts[0].startswith("East") and texts[1].startswith("West")
    assert marker_colour(phone, live_world.accounts["Kahvila Aalto"]) == rgb("#1f77b4")
    assert marker_colour(phone, live_world.accounts["Far Away Ltd"]) == rgb(NO_VALUE_COLOUR)
    assert external_requests.urls == []
