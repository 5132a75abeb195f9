"""The rep's day and the manager's desk in Korean and Japanese, in a real Chromium, for a company
in Seoul that counts in won.

Rep (a phone): sign in, Today, open an account, check in and log a visit offline, come back
online and sync; every step's words from the catalogues, times in the phone's zone and
language. Manager (a laptop): the territory map and an account's page, money without
decimals (₩121,850) and a visit just after midnight Seoul time on the right day in the
locale's format. axe-core (WCAG 2 A/AA, served from node_modules) finds nothing on any of
these screens in English, Korean or Japanese.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update
from werkzeug.serving import make_server

from geocrm import create_app
from geocrm.extensions import db
from geocrm.i18n import catalogue
from geocrm.models import Account, InteractionKind, User
from geocrm.planning import services
from tests.conftest import PASSWORD
from tests.e2e import field_fixtures
from tests.e2e.field_fixtures import (
    PHONE,
    LiveField,
    axe_violations,
    guard,
    sign_in,
    wait_outbox_empty,
)
from tests.factories import build_world, make_interaction
from tests.geocrm.planning.test_planning import run_planning

pw = field_fixtures.pw
chromium = field_fixtures.chromium
pytestmark = pytest.mark.browser

AALTO = (60.16, 24.91)
#: 15:30 UTC on 25 November is 00:30 on the 26th in Seoul: the visit's day depends on the zone.
VISIT_UTC = datetime(2026, 11, 25, 15, 30)
LANGS = {
    "en": {"accept": "en-US,en;q=0.9", "locale": "en-US"},
    "ko": {"accept": "ko-KR,ko;q=0.9", "locale": "ko-KR"},
    "ja": {"accept": "ja-JP,ja;q=0.9", "locale": "ja-JP"},
}
#: The visit at 00:30 Seoul time, as each language writes it on the web (geocrm.i18n).
WEB_VISIT = {"en": "Thu, Nov 26, 2026, 12:30 AM", "ko": "2026년 11월 26일 (목) 오전 12:30",
             "ja": "2026年11月26日(木) 0:30"}
#: ... and in the field app (the phone's Intl, month and day).
PHONE_DAY = {"en": "Nov 26", "ko": "11월 26일", "ja": "11月26日"}


@pytest.fixture(scope="module")
def seoul(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveField]:
    """The app for a company in Seoul that counts in won, with the tiny world."""
    field_fixtures.require_browser()
    path = tmp_path_factory.mktemp("seoul") / "e2e.sqlite"
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "SECRET_KEY": "e2e-secret", "WTF_CSRF_ENABLED": True, "GEOCRM_TILE_URL": "",
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "GEOCRM_LOGIN_MAX_FAILURES": 1000,
        "GEOCRM_TIMEZONE": "Asia/Seoul", "GEOCRM_CURRENCY": "KRW", "GEOCRM_TRAVEL": "straight",
        "GEOCRM_NAVER_APPNAME": "com.example.geocrm",
    })
    with app.app_context():
        db.create_all()
        world = build_world(PASSWORD)
        aalto = world.west_accounts[0]
        aalto.value = Decimal("121850")
        make_interaction(aalto, world.rep_west, kind=InteractionKind.VISIT,
                         occurred_at=VISIT_UTC, notes="Midnight visit")
        db.session.commit()
        run = run_planning(world, territory_ids=(world.west.id,))
        services.publish(run)
        db.session.commit()
        accounts = {a.name: a.id for a in world.west_accounts + world.east_accounts}
        accounts["plan"] = run.plans[0].id
        users = {u.email: u.id for u in (world.rep_west, world.rep_east, world.manager)}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield LiveField(f"http://127.0.0.1:{server.server_port}", app, accounts, users)
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


def context_for(pw: Any, chromium: Any, live: LiveField, lang: str, *, phone: bool) -> Any:
    """A browser speaking ``lang`` in Seoul's zone: a phone at Kahvila Aalto, or a laptop."""
    options: dict[str, Any] = {"locale": LANGS[lang]["locale"], "timezone_id": "Asia/Seoul"}
    if phone:
        device = {k: v for k, v in pw.devices["Pixel 7"].items()
                  if k not in {"default_browser_type", "user_agent"}}
        options |= {**device, "viewport": PHONE, "permissions": ["geolocation"],
                    "geolocation": {"latitude": AALTO[0], "longitude": AALTO[1], "accuracy": 10}}
    else:
        options["viewport"] = {"width": 1366, "height": 900}
    context = chromium.new_context(**options)
    context.set_extra_http_headers({"Accept-Language": LANGS[lang]["accept"]})
    guard(context, live)
    return context


def words(lang: str, msgid: str, **values: Any) -> str:
    """A message as the catalogue says it in ``lang`` (English: the msgid)."""
    text = msgid if lang == "en" else catalogue(lang).get(msgid, msgid)
    text = text[0] if isinstance(text, list) else text
    return text % values if values else text


def template(lang: str, msgid: str) -> re.Pattern[str]:
    """A message with its %(name)s placeholders as wildcards."""
    text = words(lang, msgid)
    parts = re.split(r"%\(\w+\)s", text)
    return re.compile(".+".join(re.escape(p) for p in parts))


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_rep_day_offline_visit_and_sync(pw: Any, chromium: Any, seoul: LiveField,
                                        lang: str) -> None:
    """Sign in, Today, check in and log a visit offline, sync: translated all the way, the
    earlier midnight visit on the phone's local day, and no axe violations on any screen."""
    live = seoul
    live.page_errors.clear()
    email = "west@example.com"
    aalto = live.accounts["Kahvila Aalto"]
    context = context_for(pw, chromium, live, lang, phone=True)
    page = context.new_page()
    sign_in(page, live, email)
    assert page.get_attribute("html", "lang") == lang
    violations: dict[str, Any] = {}

    page.evaluate("location.hash = '#/today'")
    page.wait_for_selector("#screen h1")
    assert page.locator("#screen h1").inner_text().startswith(words(lang, "Today"))
    assert page.locator("nav.tabs a[data-tab='near']").inner_text() == words(lang, "Near me")
    violations["today"] = axe_violations(page)

    before = len(live.interactions(email))
    context.set_offline(True)
    page.evaluate(f"location.hash = '#/account/{aalto}'")
    page.wait_for_selector("#log-link")
    assert PHONE_DAY[lang] in page.locator(".timeline").inner_text()
    links = page.locator(".nav-links a")
    assert links.first.get_attribute("data-nav-app") == ("naver" if lang == "ko" else "google")
    naver = page.locator(".nav-links a[data-nav-app='naver']").get_attribute("data-app-url")
    kakao = page.locator(".nav-links a[data-nav-app='kakao']").get_attribute("data-app-url")
    assert naver.startswith("nmap://route/car?") and "appname=" in naver and "dlat=60.16" in naver
    assert kakao.startswith("kakaomap://route?ep=60.160000,24.910000") and "by=CAR" in kakao
    violations["account"] = axe_violations(page)
    page.click("#checkin")
    page.wait_for_selector("#checkout")
    page.click("#log-link")
    page.wait_for_selector("#log-form")
    violations["log"] = axe_violations(page)
    page.select_option("#kind", "visit")
    page.select_option("#outcome", "interested")
    page.fill("#notes", "샘플 전달 / サンプル")
    page.click("#log-form button[type=submit]")
    page.wait_for_function(f"() => location.hash === '#/account/{aalto}'", timeout=60_000)
    badge = page.locator("#sync-badge")
    pending = template(lang, "%(n)s pending")
    page.wait_for_function(
        "(re) => new RegExp(re).test(document.querySelector('#sync-badge').textContent)",
        arg=pending.pattern)
    assert "2" in badge.inner_text()
    assert len(live.interactions(email)) == before

    context.set_offline(False)
    wait_outbox_empty(page)
    rows = live.interactions(email)[before:]
    assert [(r.kind.value, r.outcome) for r in rows] == [("visit", "interested")]
    assert template(lang, "Synced %(time)s").search(badge.inner_text()), badge.inner_text()
    page.evaluate("location.hash = '#/sync'")
    page.wait_for_selector("#outbox-list li")
    assert page.locator("#screen h1").inner_text() == words(lang, "Sync")
    assert page.locator("label[for='nav-app']").inner_text() == words(lang, "My navigation app")
    expected_app = "naver" if lang == "ko" else "google"
    assert page.locator("#nav-app").input_value() == expected_app
    violations["sync"] = axe_violations(page)
    assert violations == {k: [] for k in violations}
    assert live.blocked == []
    assert live.page_errors == []
    context.close()


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_manager_map_and_account_in_local_words_money_and_time(
    pw: Any, chromium: Any, seoul: LiveField, lang: str
) -> None:
    """The territory map and an account's page for a manager: headings from the catalogue,
    won without decimals, the midnight visit on the 26th in the locale's format; axe clean."""
    live = seoul
    live.page_errors.clear()
    context = context_for(pw, chromium, live, lang, phone=False)
    page = context.new_page()
    page.on("pageerror", lambda err: live.page_errors.append(str(err)))
    page.goto(f"{live.url}/login")
    assert page.locator("h1").inner_text() == words(lang, "Sign in")
    violations = {"login": axe_violations(page)}
    page.fill("#email", "manager@example.com")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{live.url}/maps/territories")
    assert page.locator("h1").inner_text() == words(lang, "Territory map")
    page.wait_for_selector("#territory-map[data-state='ready']")
    violations["map"] = axe_violations(page)

    with live.app.app_context():
        aalto = db.session.get(Account, live.accounts["Kahvila Aalto"])
        assert aalto is not None
    page.goto(f"{live.url}/accounts/{live.accounts['Kahvila Aalto']}")
    text = page.locator("main").inner_text()
    assert "₩121,850" in text and "121,850.00" not in text
    assert WEB_VISIT[lang] in text, text[:2000]
    violations["account"] = axe_violations(page)
    assert violations == {k: [] for k in violations}
    assert live.blocked == []
    assert live.page_errors == []
    context.close()


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_rep_day_page_hands_off_to_the_chosen_navigation_app(
    pw: Any, chromium: Any, seoul: LiveField, lang: str
) -> None:
    """A rep's day on the web: a Korean rep sees Naver's links first, a Japanese rep Google's;
    choosing Kakao puts Kakao first and is remembered on reload; axe finds nothing."""
    live = seoul
    live.page_errors.clear()
    with live.app.app_context():  # the choice is saved in the profile: start each run without
        db.session.execute(update(User).where(User.email == "west@example.com")
                           .values(nav_app=None))
        db.session.commit()
        db.session.remove()
    context = context_for(pw, chromium, live, lang, phone=False)
    page = context.new_page()
    page.on("pageerror", lambda err: live.page_errors.append(str(err)))
    page.goto(f"{live.url}/login")
    page.fill("#email", "west@example.com")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{live.url}/planning/plans/{live.accounts['plan']}")
    first = "naver" if lang == "ko" else "google"
    page.wait_for_selector(f"#nav-section[data-nav-default='{first}']")
    providers = page.locator("#nav-providers > .nav-provider")
    assert providers.first.get_attribute("data-nav-app") == first
    naver = page.locator("#naver-links a").first
    assert naver.get_attribute("href").startswith("https://map.naver.com/")
    assert "appname=com.example.geocrm" in naver.get_attribute("data-app-url")
    assert page.locator("label[for='nav-app']").inner_text() == words(lang, "My navigation app")
    assert axe_violations(page) == []
    page.select_option("#nav-app", "kakao")
    assert providers.first.get_attribute("data-nav-app") == "kakao"
    page.reload()
    page.wait_for_selector("#nav-section[data-nav-default='kakao']")
    assert page.locator("#nav-app").input_value() == "kakao"
    assert live.blocked == []
    assert live.page_errors == []
    context.close()
