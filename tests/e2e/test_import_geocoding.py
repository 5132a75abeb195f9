"""In a real browser: a manager imports a customer list without coordinates, the import's page
hands over to the background geocoding job, its page shows the progress until it is done, and
the map shows the placed accounts - the one found only by its street as a hollow marker whose
popup says so. The geocoder is a real engine client (Nominatim) talking to a local server that
answers in Nominatim's documented format (tests/geocode_fakes.py); nothing leaves 127.0.0.1.

Its own app and database (not the shared live server): the accounts it places would change the
other map tests' clusters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from werkzeug.serving import make_server

from geocrm import create_app
from geocrm.extensions import db
from geocrm.models import Account
from tests.conftest import PASSWORD
from tests.e2e.conftest import ExternalRequests
from tests.e2e.modules import TERRITORY_MAP, expose
from tests.factories import build_world
from tests.geocode_fakes import FakeGeocodeServer

CSV = """Customer no,Company,Street address,Postcode,City
G-1,Kahvila Kulma,Aleksanterinkatu 52,00100,Helsinki
G-2,Kirjakauppa Katu,Mannerheimintie 999,,Helsinki
G-3,Kukkakauppa Kaukana,Nosuchstreet 4,,Atlantis
"""


class GeoServer:
    def __init__(self, app: Flask, url: str) -> None:
        self.app, self.url = app, url

    def account(self, name: str) -> Account:
        with self.app.app_context():
            account = db.session.scalars(select(Account).where(Account.name == name)).one()
            db.session.expunge(account)
            db.session.remove()
        return account


@pytest.fixture(scope="module")
def geo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeoServer]:
    fake = FakeGeocodeServer("nominatim")
    folder: Path = tmp_path_factory.mktemp("geocode-e2e")
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'geocrm.sqlite'}",
        "SECRET_KEY": "e2e-geocode", "WTF_CSRF_ENABLED": True, "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "SERVER_NAME": None,
        "GEOCRM_GEOCODER": "nominatim", "GEOCRM_GEOCODER_URL": fake.url,
        "GEOCRM_GEOCODER_RATE": "50", "GEOCRM_GEOCODER_CACHE": str(folder / "cache.sqlite"),
    })
    with app.app_context():
        db.create_all()
        build_world(PASSWORD)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield GeoServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        fake.stop()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def page(browser: Browser, geo_server: GeoServer,
         external_requests: ExternalRequests) -> Iterator[Page]:
    context = browser.new_context(base_url=geo_server.url)
    external_requests.guard(context)
    yield context.new_page()
    context.close()


def login(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.mark.browser
def test_import_geocode_job_map(page: Page, geo_server: GeoServer,
                                external_requests: ExternalRequests) -> None:
    login(page, "manager@example.com")
    page.goto("/imports/")
    page.set_input_files("#file", files=[{"name": "customers.csv", "mimeType": "text/csv",
                                          "buffer": CSV.encode()}])
    page.fill("#source", "erp")
    with page.expect_navigation():
        page.click("form[enctype] button[type=submit]")
    expect(page.locator("#consequences")).to_contain_text("rows to add: 3")
    with page.expect_navigation():
        page.click("#import-button")
    expect(page.locator("h1")).to_contain_text("imported")

    # the import hands over to the geocoding job
    expect(page.locator("#import-geocoding")).to_be_visible()
    with page.expect_navigation():
        page.click("#import-geocoding a.button")
    assert "/geocoding/jobs/" in page.url
    # the page refreshes itself until the job is done
    expect(page.locator("#job")).to_have_attribute("data-status", "done", timeout=30_000)
    result = page.locator("#geocode-result")
    expect(result).to_contain_text("2 accounts placed (1 with low confidence)")
    expect(result).to_contain_text("1 addresses not found")

    exact = geo_server.account("Kahvila Kulma")
    street = geo_server.account("Kirjakauppa Katu")
    assert exact.location_source == street.location_source == "geocoder"
    assert geo_server.account("Kukkakauppa Kaukana").lat is None

    # the map: the street-only pin is hollow and its popup says why
    with page.expect_navigation():
        page.click("text=See them on the map")
    expect(page.locator("#territory-map")).to_have_attribute("data-state", "ready")
    expose(page, TERRITORY_MAP, "territoryMap")
    classes = page.evaluate(
        "ids => ids.map(id => window.territoryMap.marker(id).options.icon.options.className)",
        [exact.id, street.id])
    assert "account-marker-low" not in classes[0]
    assert "account-marker-low" in classes[1]
    page.evaluate("id => window.territoryMap.reveal(id, () => {})", street.id)
    popup = page.locator(".leaflet-popup-content .account-popup")
    expect(popup).to_contain_text("Kirjakauppa Katu")
    expect(popup.locator(".popup-pin-low")).to_contain_text("geocoder, street only")
    expect(page.locator("#legend-low")).to_be_visible()

    # Data health lists it with its grade
    page.goto("/crm/health?check=low_confidence")
    expect(page.locator("#health-list")).to_contain_text("Kirjakauppa Katu")
    expect(page.locator("#health-list")).to_contain_text("street only")
    assert external_requests.urls == []


@pytest.mark.browser
def test_add_account_here_fills_the_address_where_the_rep_stands(
        browser: Browser, geo_server: GeoServer, external_requests: ExternalRequests) -> None:
    """The field app's "Add here" asks the server for the address at the phone's position (in
    the POST body, never the URL), fills it in, and the account syncs with it."""
    context = browser.new_context(
        base_url=geo_server.url, viewport={"width": 360, "height": 740}, has_touch=True,
        geolocation={"latitude": 60.16851, "longitude": 24.94191, "accuracy": 8},
        permissions=["geolocation"])
    external_requests.guard(context)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto("/login?next=/app/")
    page.fill("#email", "west@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    page.goto("/app/#/add")
    expect(page.locator("#acc_address")).to_have_value("Aleksanterinkatu 52", timeout=15_000)
    page.fill("#acc_address", "")
    page.click("#acc_address_here")  # asked again: fills it back
    expect(page.locator("#acc_address")).to_have_value("Aleksanterinkatu 52")
    page.fill("#acc_name", "Kulmakioski")
    page.click("#add-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('[role=status], .flash') !== null")
    added = None
    for _ in range(100):  # the outbox syncs in the background: up to 20 s
        with geo_server.app.app_context():
            added = db.session.scalars(select(Account).where(
                Account.name == "Kulmakioski")).first()
            db.session.remove()
        if added is not None:
            break
        page.wait_for_timeout(200)
    assert added is not None and added.address == "Aleksanterinkatu 52"
    assert added.city == "Helsinki" and added.postcode == "00100"  # filled in by the server
    assert any("/api/v1/geocode/reverse" in u for u in urls)
    assert not any("60.168" in u or "24.941" in u for u in urls)  # never in a URL
    assert external_requests.urls == []
    context.close()
