"""The phone is the rep's home (issue 17): a rep signing in on a phone lands in the field app,
the app and the web pages link to each other, and no rep page scrolls sideways at 360 px
(the top menu is one row)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.e2e.conftest import ExternalRequests, LiveServer

pytestmark = pytest.mark.browser

REP = "west@example.com"
WIDER = r"""() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1
          && !el.closest('.leaflet-container') && !el.closest('nav') && !el.closest('table'))
  .map((el) => `${el.tagName}.${el.className}`).slice(0, 8)"""


def test_a_rep_on_a_phone_lands_in_the_field_app_and_can_switch(
    phone: Page, login: Callable[[Page, str], None], external_requests: ExternalRequests,
) -> None:
    login(phone, REP)
    assert phone.url.endswith("/app/"), phone.url
    phone.wait_for_selector("body[data-ready='1']")
    phone.click("#to-full-site")
    phone.wait_for_url("**/home")
    phone.click("#to-field-app")
    phone.wait_for_url("**/app/")
    assert external_requests.urls == []


def test_a_rep_on_a_laptop_and_a_manager_on_a_phone_land_on_the_web_pages(
    new_context: Callable[..., BrowserContext], phone: Page,
    login: Callable[[Page, str], None],
) -> None:
    laptop = new_context(viewport={"width": 1366, "height": 800}).new_page()
    login(laptop, REP)
    assert laptop.url.endswith("/home")
    login(phone, "manager@example.com")
    assert phone.url.endswith("/home")


@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
def test_rep_pages_fit_a_360_px_phone(
    new_context: Callable[..., BrowserContext], login: Callable[[Page, str], None],
    live_server: LiveServer, locale: str,
) -> None:
    context = new_context(viewport={"width": 360, "height": 740}, locale=locale)
    page = context.new_page()
    login(page, REP)
    account_id = live_server.world.accounts["Kahvila Aalto"]
    for url in ("/home", "/accounts/", f"/accounts/{account_id}", "/crm/pipeline",
                "/crm/tasks", "/people/me", "/calendar/"):
        page.goto(url)
        widths: Any = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (url, locale, widths, page.evaluate(WIDER))
        header = page.evaluate("() => document.querySelector('.topbar').offsetHeight")
        assert header <= 110, (url, locale, header)  # was 400 of 740 px
