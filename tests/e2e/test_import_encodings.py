"""In a real browser: a manager uploads CSV files saved by Korean Excel (CP949) and Japanese
Excel (Shift_JIS), sees the detected encoding with the names intact in the sample rows and
what the import will do, imports, and the accounts carry the names as written. A file the
detector cannot tell is read again in the encoding the manager picks. Nothing is fetched
from outside 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.models import Account
from tests.e2e.conftest import ExternalRequests, LiveServer

# No coordinates: the shared live world's maps and unassigned counts stay as they are.
KOREAN = ("관리번호,사업장명,주소,전화번호\n"
          "E2E-K1,김밥천국 종로점,서울특별시 종로구 종로 1,02-123-4567\n"
          "E2E-K2,서울식당,서울특별시 중구 세종대로 110,02-765-4321\n"
          "E2E-K3,(주)한빛상사,서울특별시 강남구 테헤란로 152,\n")
JAPANESE = ("番号,店名,住所\n"
            "E2E-J1,ラーメン 一蘭 渋谷店,東京都渋谷区神南1丁目22-7\n"
            "E2E-J2,株式会社 東京商事,東京都千代田区丸の内1丁目\n")
# Too little text to tell: charset-normalizer 3.4 calls these bytes CP949.
KANA = "id,name\nE2E-H1,ｲｲﾀﾞ\n"


def names_by_ext(server: LiveServer, prefix: str) -> dict[str, str]:
    with server.app.app_context():
        rows = db.session.execute(select(Account.external_id, Account.name).where(
            Account.external_id.like(f"{prefix}%"))).all()
        db.session.remove()
    return dict(rows)


def upload(page: Page, filename: str, data: bytes, *, encoding: str | None = None) -> None:
    page.goto("/imports/")
    page.set_input_files("#file", files=[{"name": filename, "mimeType": "text/csv",
                                          "buffer": data}])
    page.fill("#source", "e2e-registers")
    if encoding:
        page.select_option("#upload-encoding", encoding)
    with page.expect_navigation():
        page.click("form[enctype] button[type=submit]")
    expect(page.locator("h1")).to_contain_text(f"Map the columns of {filename}")


def test_cp949_and_shift_jis_uploads_show_the_encoding_and_import_names_intact(
    new_context: Callable[..., BrowserContext], live_server: LiveServer,
    login: Callable[[Page, str], None], external_requests: ExternalRequests,
) -> None:
    """Korean CP949 and Japanese Shift_JIS files: detected, previewed, imported intact."""
    page = new_context().new_page()
    login(page, "manager@example.com")

    upload(page, "가게 목록.csv", KOREAN.encode("cp949"))
    expect(page.locator("#detected-encoding")).to_contain_text("Korean (CP949 / EUC-KR)")
    expect(page.locator("#sample-rows")).to_contain_text("김밥천국 종로점")
    expect(page.locator("#sample-rows")).to_contain_text("(주)한빛상사")
    expect(page.locator("#map-name")).to_have_value("사업장명")  # guessed from a Korean header
    expect(page.locator("#consequences")).to_contain_text("rows to add: 3")
    assert names_by_ext(live_server, "E2E-K") == {}  # the preview wrote nothing
    with page.expect_navigation():
        page.click("#import-button")
    expect(page.locator("h1")).to_contain_text("imported")
    assert names_by_ext(live_server, "E2E-K") == {
        "E2E-K1": "김밥천국 종로점", "E2E-K2": "서울식당", "E2E-K3": "(주)한빛상사"}

    upload(page, "店舗.csv", JAPANESE.encode("shift_jis"))
    expect(page.locator("#detected-encoding")).to_contain_text("Japanese (Shift_JIS / CP932)")
    expect(page.locator("#sample-rows")).to_contain_text("ラーメン 一蘭 渋谷店")
    expect(page.locator("#consequences")).to_contain_text("rows to add: 2")
    with page.expect_navigation():
        page.click("#import-button")
    expect(page.locator("h1")).to_contain_text("imported")
    assert names_by_ext(live_server, "E2E-J") == {
        "E2E-J1": "ラーメン 一蘭 渋谷店", "E2E-J2": "株式会社 東京商事"}
    assert external_requests.urls == []


def test_a_file_the_detector_cannot_tell_is_read_again_as_chosen(
    new_context: Callable[..., BrowserContext], live_server: LiveServer,
    login: Callable[[Page, str], None], external_requests: ExternalRequests,
) -> None:
    """A few half-width katakana could be Korean: the manager picks Shift_JIS, reads again."""
    page = new_context().new_page()
    login(page, "manager@example.com")
    upload(page, "kana.csv", KANA.encode("cp932"))
    page.select_option("#encoding", "cp932")
    with page.expect_navigation():
        page.click("#file-reading button[type=submit]")
    expect(page.locator("#detected-encoding")).to_contain_text("Japanese (Shift_JIS / CP932)")
    expect(page.locator("#detected-encoding")).to_contain_text("chosen by you")
    expect(page.locator("#sample-rows")).to_contain_text("ｲｲﾀﾞ")
    with page.expect_navigation():
        page.click("#import-button")
    expect(page.locator("h1")).to_contain_text("imported")
    assert names_by_ext(live_server, "E2E-H") == {"E2E-H1": "ｲｲﾀﾞ"}
    assert external_requests.urls == []
