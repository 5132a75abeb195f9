"""People, profiles, calendar and notification choices in a real Chromium (issue 17): an admin
invites through the page and the newcomer joins in another browser; deactivation signs them
out; a planner pins a rep's home on the map and gives them skills and a bike; a rep makes a
calendar link that icalendar reads and chooses notifications."""

from __future__ import annotations

from collections.abc import Callable

import icalendar
import pytest
import requests
from playwright.sync_api import BrowserContext, Page, expect

from geocrm.extensions import db
from geocrm.models import User
from tests.e2e.conftest import ExternalRequests, LiveServer

pytestmark = pytest.mark.browser


def _page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context(viewport={"width": 1280, "height": 900}).new_page()


def test_invite_join_and_deactivate(
    new_context: Callable[..., BrowserContext], login: Callable[[Page, str], None],
    live_server: LiveServer, external_requests: ExternalRequests,
) -> None:
    admin = _page(new_context)
    login(admin, "admin@example.com")
    admin.goto("/people/")
    admin.fill("#email", "hanako@example.com")
    admin.fill("#name", "山田花子")
    admin.select_option("#role", "rep")
    admin.click("text=Make an invitation link")
    link = admin.locator("#issued-link input").input_value()
    assert "/people/join/" in link
    newcomer = _page(new_context)
    newcomer.goto(link)
    newcomer.fill("#password", "a-long-passphrase")
    newcomer.fill("#confirm", "a-long-passphrase")
    newcomer.click("button[type=submit]")
    newcomer.wait_for_url("**/home")
    expect(newcomer.locator(".who")).to_contain_text("山田花子")
    admin.goto("/people/")
    admin.click("text=山田花子")
    admin.click("button:has-text('Deactivate')")
    expect(admin.locator(".flash").first).to_contain_text("deactivated")
    newcomer.goto("/accounts/")
    assert "/login" in newcomer.url  # signed out at once
    assert external_requests.urls == []


def test_planner_pins_a_reps_home_on_the_map(
    new_context: Callable[..., BrowserContext], login: Callable[[Page, str], None],
    live_server: LiveServer,
) -> None:
    with live_server.app.app_context():
        rep_id = db.session.query(User.id).filter_by(email="east@example.com").scalar()
    page = _page(new_context)
    login(page, "planner@example.com")
    page.goto(f"/people/{rep_id}/profile")
    page.wait_for_selector("#home-map[data-state=ready]")
    box = page.locator("#home-map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    lat = float(page.locator("input[name=home_lat]").input_value())
    lon = float(page.locator("input[name=home_lon]").input_value())
    page.fill("#skills", "forklift, 日本語")
    page.select_option("#vehicle", "bike")
    page.click("button[type=submit].primary")
    expect(page.locator(".flash").first).to_contain_text("Saved")
    with live_server.app.app_context():
        rep = db.session.get(User, rep_id)
        assert rep is not None
        assert (round(rep.home_lat, 5), round(rep.home_lon, 5)) == (round(lat, 5), round(lon, 5))
        assert (rep.skills, rep.vehicle) == ("forklift, 日本語", "bike")
        db.session.remove()


def test_a_rep_subscribes_to_a_calendar_and_chooses_notifications(
    new_context: Callable[..., BrowserContext], login: Callable[[Page, str], None],
    live_server: LiveServer,
) -> None:
    page = _page(new_context)
    login(page, "west@example.com")
    page.goto("/people/me")
    page.uncheck("input[name=task_assigned][value=email]")
    page.click("#notify-form button[type=submit]")
    expect(page.locator("input[name=task_assigned][value=email]")).not_to_be_checked()
    page.click("text=Calendar")
    page.click("button:has-text('Make my calendar link')")
    link = page.locator("#feed-link").input_value()
    feed = requests.get(link, timeout=10)  # what a calendar app does: no cookies
    assert feed.status_code == 200
    assert icalendar.Calendar.from_ical(feed.content).get("X-WR-CALNAME")
