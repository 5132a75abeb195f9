"""The CRM's point map (static/js/points_map.js) in a real browser: Account 360 draws the
account's pin from the page data block, its popup shows the name as text, nothing external."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import ExternalRequests, LiveWorld
from tests.e2e.modules import with_module

XSS_NAME = "<script>alert(1)</script> Oy"


@pytest.mark.browser
def test_account_360_map_draws_the_pin_and_its_name_as_text(
    phone: Page,
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
) -> None:
    """The script-named account's Account 360 map: one pin, drawn by the module from the
    page data; its popup holds the name literally (no script element, no dialog)."""
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    phone.on("dialog", on_dialog)
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    login(phone, "manager@example.com")
    phone.goto(f"/accounts/{live_world.accounts[XSS_NAME]}")
    expect(phone.locator("html")).to_have_attribute("data-crm-map", "ready")
    assert with_module(phone, "/static/js/points_map.js", "(mod) => mod.pointsMap.count") == 1
    pins = phone.locator(".crm-map path.leaflet-interactive")
    expect(pins).to_have_count(1)
    pins.first.click()
    popup = phone.locator(".crm-map .leaflet-popup-content")
    expect(popup).to_have_text(XSS_NAME)
    assert popup.locator("script").count() == 0
    assert dialogs == [] and errors == []
    assert external_requests.urls == []
