"""The field app in Korean and Japanese in a real Chromium: the shell from the catalogues, the
stored values (outcomes, kinds) through /app/i18n/<lang>.json, still translated offline."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import LiveField, phone_context, sign_in

pw = field_fixtures.pw
chromium = field_fixtures.chromium
field_server = field_fixtures.field_server

pytestmark = pytest.mark.browser

AALTO = (60.16, 24.91)


@pytest.mark.parametrize(
    ("accept", "lang", "today", "interested"),
    [("ko-KR,ko;q=0.9", "ko", "오늘", "관심 있음"), ("ja-JP,ja;q=0.9", "ja", "今日", "興味あり")],
)
def test_field_app_speaks_the_browsers_language_offline_too(
    pw: Any, chromium: Any, field_server: LiveField, accept: str, lang: str, today: str,
    interested: str,
) -> None:
    """A Korean (Japanese) phone: <html lang>, the tabs, and the log form's outcomes are
    translated; after going offline and reloading, they still are (worker's cache)."""
    live = field_server
    context = phone_context(pw, chromium, live, at=AALTO)
    context.set_extra_http_headers({"Accept-Language": accept})
    page = context.new_page()
    sign_in(page, live, "west@example.com")
    assert page.get_attribute("html", "lang") == lang
    assert page.locator("nav.tabs a[data-tab='today']").inner_text() == today

    def outcomes() -> list[str]:
        page.evaluate(f"location.hash = '#/account/{live.accounts['Kahvila Aalto']}'")
        page.click("#log-link")
        page.wait_for_selector("#log-form")
        return page.locator("#outcome option").all_inner_texts()

    assert interested in outcomes()
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("nav.tabs a[data-tab='today']").inner_text() == today
    assert interested in outcomes()
    assert live.page_errors == []
    context.close()


def test_field_app_language_switcher(pw: Any, chromium: Any, field_server: LiveField) -> None:
    """On the Sync screen an English rep picks 日本語: the profile keeps it, the app reloads
    in Japanese, and back to English the same way."""
    live = field_server
    context = phone_context(pw, chromium, live, at=AALTO)
    page = context.new_page()
    sign_in(page, live, "east@example.com")
    page.evaluate("location.hash = '#/sync'")
    page.wait_for_selector("#lang-choice")
    page.select_option("#lang-choice", "ja")
    with page.expect_navigation():
        page.click(".lang-switch button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_attribute("html", "lang") == "ja"
    expect_tab = page.locator("nav.tabs a[data-tab='sync']")
    assert expect_tab.inner_text() == "同期"
    page.select_option("#lang-choice", "en")
    with page.expect_navigation():
        page.click(".lang-switch button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_attribute("html", "lang") == "en"
    assert live.page_errors == []
    context.close()
