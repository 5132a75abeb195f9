"""In a real browser: past the size threshold a manager starts the duplicate search in the
background, watches its progress until the stored result shows, and dismisses a pair,
which keeps its place on the page. Nothing is fetched from outside 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from geocrm.extensions import db
from tests.e2e.conftest import ExternalRequests, LiveServer
from tests.factories import make_account

# Unassigned (the manager sees them), away from the other browser tests' map views.
LAT, LON = 61.0105, 26.0105


@pytest.mark.browser
def test_manager_runs_a_background_duplicate_search(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Find duplicates (a job) → progress → the pair listed → Not duplicates → marked."""
    with live_server.app.app_context():
        a = make_account("서울식당 부산점", LAT, LON)
        b = make_account("㈜서울식당 부산점", LAT + 0.00004, LON)
        db.session.commit()
        pair = f"{a.id}-{b.id}"
        db.session.remove()
    config = live_server.app.config
    before = config.get("GEOCRM_DUPLICATE_JOB_ACCOUNTS")
    config["GEOCRM_DUPLICATE_JOB_ACCOUNTS"] = 0
    try:
        page = new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(page, "manager@example.com")
        page.goto("/crm/duplicates")
        page.locator("#scan-start").click()
        expect(page.locator("#scan")).to_have_attribute("data-status", "done", timeout=30_000)
        row = page.locator(f'tr.candidate[data-pair="{pair}"]')
        expect(row).to_contain_text("서울식당 부산점")
        expect(row).to_contain_text("names 100% alike")
        expect(page.locator("#duplicate-count")).to_contain_text("best first")
        row.get_by_role("button", name="Not duplicates").click()
        expect(row).to_have_attribute("data-status", "dismissed")
        expect(row).to_contain_text("Marked as different accounts")
    finally:
        config["GEOCRM_DUPLICATE_JOB_ACCOUNTS"] = before
    assert external_requests.urls == []
