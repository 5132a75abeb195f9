"""Account pages in Korean and Japanese in a real Chromium at a phone's 360 px and a laptop's
1366 px: nothing wider than the window, no label or heading whose text overflows its box,
and the form's address inputs follow the country chosen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from geocrm.extensions import db
from geocrm.models import Account
from tests.e2e.conftest import ExternalRequests, LiveServer
from tests.factories import make_account

pytestmark = pytest.mark.browser

# Long, real-looking addresses and names: what clips first in a narrow column.
KR = {"name": "의료법인에이치엠피의료재단녹십초요양병원", "country": "KR", "postcode": "07072",
      "region": "서울특별시", "city": "동작구", "district": "신대방동", "street": "시흥대로",
      "housenumber": "634", "building": "지하2층일부 1층일부 2~7층 녹십초메디컬센터빌딩",
      "address": "서울특별시 동작구 시흥대로 634, 지하2층일부 1층일부 2~7층 녹십초메디컬센터빌딩 "
                 "(신대방동)"}
JP = {"name": "株式会社東京丸の内総合不動産コンサルティングサービス", "country": "JP",
      "name_reading": "トウキョウマルノウチソウゴウフドウサンコンサルティングサービス",
      "postcode": "100-0005", "region": "東京都", "city": "千代田区", "district": "丸の内",
      "housenumber": "1丁目1番1号", "building": "パレスビルディング本館東棟 12階 1201号室",
      "address": "東京都千代田区丸の内1丁目1番1号 パレスビルディング本館東棟 12階 1201号室"}

# Every element whose text must fit its own box (labels, terms, headings, buttons, cells).
OVERFLOWING = """() => {
  const out = [];
  for (const el of document.querySelectorAll(
      'label, dt, dd, th, td, legend, button, .button, h1, h2, h3, .address-line')) {
    if (el.offsetParent === null) continue;  // hidden
    if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName + ': ' + el.textContent.trim());
  }
  return out;
}"""


# What sticks out of the window (for the failure message).
WIDER = r"""() => [...document.querySelectorAll('body *')]
  .filter((el) => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
          && !el.closest('.leaflet-container'))
  .map((el) => `${el.tagName}.${el.className} ${el.clientWidth}<${el.scrollWidth} `
       + el.textContent.trim().slice(0, 12).replace(/\s+/g, " "))
"""


@pytest.fixture(scope="module")
def cjk_accounts(live_server: LiveServer) -> Iterator[dict[str, int]]:
    with live_server.app.app_context():
        territory = next(iter(live_server.world.territories.values()))
        ids = {key: make_account(values["name"], 60.17, 24.93, territory_id=territory,
                                 **{k: v for k, v in values.items() if k != "name"}).id
               for key, values in (("KR", KR), ("JP", JP))}
        db.session.commit()
        db.session.remove()
    yield ids
    # The live server is shared by the whole browser suite: leave its world as it was (the
    # territory map test counts the accounts in each cluster).
    with live_server.app.app_context():
        for account_id in ids.values():
            account = db.session.get(Account, account_id)
            if account is not None:
                db.session.delete(account)
        db.session.commit()
        db.session.remove()


def _page(new_context: Callable[..., BrowserContext], locale: str, width: int) -> Page:
    context = new_context(locale=locale, viewport={"width": width, "height": 800})
    return context.new_page()


@pytest.mark.parametrize("width", [360, 1366])
@pytest.mark.parametrize("locale", ["ko-KR", "ja-JP"])
def test_account_pages_fit_in_korean_and_japanese(
    new_context: Callable[..., BrowserContext],
    login: Callable[[Page, str], None],
    cjk_accounts: dict[str, int],
    external_requests: ExternalRequests,
    locale: str,
    width: int,
) -> None:
    page = _page(new_context, locale, width)
    login(page, "manager@example.com")
    urls = ["/accounts/"]
    for account_id in cjk_accounts.values():
        urls += [f"/accounts/{account_id}", f"/accounts/{account_id}/edit"]
    for url in urls:
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == locale[:2]
        widths: Any = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (
            f"{url} at {width} px in {locale}: {widths}", page.evaluate(WIDER))
        assert page.evaluate(OVERFLOWING) == [], f"{url} at {width} px in {locale}"
    # The system font stack (no web font was fetched from anywhere).
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font and ("Noto Sans CJK" in font or "Malgun Gothic" in font
                                    or "Hiragino" in font)
    assert external_requests.urls == []


def test_the_address_inputs_follow_the_country_chosen(
    new_context: Callable[..., BrowserContext],
    login: Callable[[Page, str], None],
    cjk_accounts: dict[str, int],
    external_requests: ExternalRequests,
) -> None:
    page = _page(new_context, "ja-JP", 360)
    login(page, "manager@example.com")
    page.goto(f"/accounts/{cjk_accounts['KR']}/edit")
    parts = page.locator("[data-address-parts] [data-part]")

    def order() -> list[str]:
        return [p.get_attribute("data-part") or "" for p in parts.all()]

    assert order() == ["postcode", "region", "city", "district", "street", "housenumber",
                       "building"]
    expect(page.locator("label[for=region]")).to_have_text("韓国の道・広域市 (시·도)")
    page.select_option("#country", "JP")
    assert order() == ["postcode", "region", "city", "district", "housenumber", "building",
                       "street"]
    expect(page.locator("label[for=region]")).to_have_text("都道府県")
    expect(page.locator("label[for=housenumber]")).to_have_text("番地 (丁目-番-号)")
    # The values travel with their inputs.
    expect(page.locator("#street")).to_have_value("시흥대로")
    page.select_option("#country", "US")
    assert order()[:2] == ["housenumber", "street"]
    expect(page.locator("label[for=region]")).to_have_text("州・県・地域")
    assert external_requests.urls == []
