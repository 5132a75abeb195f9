"""The manager's territory map and the login in Korean and Japanese in a real Chromium: the
page's words from the catalogues, the map module's status and popup from /app/i18n/<lang>."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import PHONE, ExternalRequests, LiveWorld
from tests.e2e.modules import TERRITORY_MAP, expose

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("locale", "sign_in", "title", "accounts", "stages"),
    [
        ("ko-KR", "로그인", "영업 구역 지도", r"^거래처 \d+곳$",
         re.compile("^(리드|잠재 거래처|거래처|실주)$")),
        ("ja-JP", "ログイン", "営業エリア地図", r"^顧客 \d+件$",
         re.compile("^(リード|見込み顧客|顧客|失注)$")),
    ],
)
def test_territory_map_in_the_browsers_language(
    playwright: Any,
    new_context: Callable[..., BrowserContext],
    login: Callable[[Page, str], None],
    live_world: LiveWorld,
    external_requests: ExternalRequests,
    locale: str, sign_in: str, title: str, accounts: str, stages: re.Pattern[str],
) -> None:
    """A manager whose browser speaks Korean (Japanese): the login, the map's heading, its
    loaded-status line and a marker's popup (its stage) are in that language."""
    page = new_context(**playwright.devices[PHONE], locale=locale).new_page()
    page.goto("/login")
    expect(page.locator("h1")).to_have_text(sign_in)
    login(page, "manager@example.com")
    page.goto("/maps/territories")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#territory-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#territory-map-status")).to_have_text(re.compile(accounts))
    expose(page, TERRITORY_MAP, "territoryMap")
    account_id = next(iter(live_world.accounts.values()))
    assert page.evaluate("(id) => territoryMap.reveal(id)", account_id)
    popup = page.locator(".leaflet-popup .account-popup")
    expect(popup.locator(".popup-stage")).to_have_text(stages)
    expect(popup.locator(".popup-visit")).not_to_have_text(re.compile("never|…"))
    assert external_requests.urls == []
