"""In a real browser: a manager finds two duplicate accounts, merges them, and the
surviving account shows both histories. Nothing is fetched from outside 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from geocrm.extensions import db
from geocrm.models import Account, InteractionKind, Task, User
from tests.e2e.conftest import ExternalRequests, LiveServer
from tests.factories import make_account, make_interaction

# Far from the shared live world's map view (near "Far Away Ltd", unassigned: the manager
# sees it), so the other browser tests' cluster counts are untouched.
LAT, LON = 61.0005, 26.0005


def seed_twins(server: LiveServer) -> tuple[int, int]:
    with server.app.app_context():
        rep = db.session.query(User).filter_by(email="west@example.com").one()
        a = make_account("Pikku Leipomo", LAT, LON, phone="+358 50 765 4321")
        b = make_account("Pikku Leipomo Oy", LAT + 0.0002, LON, email="hello@leipomo.fi")
        make_interaction(a, rep, kind=InteractionKind.VISIT, occurred_at=datetime(2024, 5, 2, 9),
                         notes="History A: met the owner")
        make_interaction(b, rep, kind=InteractionKind.CALL, occurred_at=datetime(2024, 5, 3, 9),
                         notes="History B: asked for a quote")
        db.session.add_all([
            Task(title="Task from A", account_id=a.id, assignee_id=rep.id,
                 due_date=date(2030, 1, 1)),
            Task(title="Task from B", account_id=b.id, assignee_id=rep.id,
                 due_date=date(2030, 1, 2)),
        ])
        db.session.commit()
        ids = (a.id, b.id)
        db.session.remove()
    return ids


@pytest.mark.browser
def test_manager_finds_and_merges_duplicates(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    login: Callable[[Page, str], None],
    external_requests: ExternalRequests,
) -> None:
    """Duplicates page → review → pick the merged name → merge → one account, both histories."""
    a_id, b_id = seed_twins(live_server)
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(page, "manager@example.com")
    page.goto("/crm/duplicates")
    row = page.locator(f'tr.candidate[data-pair="{a_id}-{b_id}"]')
    expect(row).to_contain_text("Pikku Leipomo Oy")
    expect(row).to_contain_text("names 100% alike")
    row.get_by_role("link", name="Review and merge").click()
    expect(page).to_have_url(re.compile(rf"/crm/merge\?survivor={a_id}&merged={b_id}"))
    cells = page.locator("#merge-history tr", has_text="interactions").locator("td")
    expect(cells).to_have_text(["interactions", "1", "1", "2"])
    # Keep the merged account's name; the email (empty on the survivor) comes by default.
    page.locator('input[name="pick_name"][value="merged"]').check()
    page.locator("#merge-submit").click()
    expect(page).to_have_url(re.compile(rf"/accounts/{a_id}$"))
    expect(page.locator("h1")).to_contain_text("Pikku Leipomo Oy")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("History A: met the owner")
    expect(timeline).to_contain_text("History B: asked for a quote")
    expect(page.locator("#timeline .interaction")).to_have_count(2)
    expect(page.locator("#tasks")).to_contain_text("Task from A")
    expect(page.locator("#tasks")).to_contain_text("Task from B")
    expect(page.locator("#details")).to_contain_text("hello@leipomo.fi")
    expect(page.locator("#merges")).to_contain_text("Pikku Leipomo Oy")
    expect(page.locator("#audit")).to_contain_text("merge")
    # The merged account is gone, and the pair no longer shows as duplicates.
    assert page.goto(f"/accounts/{b_id}").status == 404
    page.goto("/crm/duplicates")
    expect(page.locator(f'tr.candidate[data-pair="{a_id}-{b_id}"]')).to_have_count(0)
    with live_server.app.app_context():
        assert db.session.get(Account, b_id) is None
        assert db.session.query(Task).filter_by(account_id=a_id).count() == 2
        db.session.remove()
    assert external_requests.urls == []
