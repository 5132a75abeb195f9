"""Languages: locale choice (profile > session > Accept-Language > default), the footer switcher,
company-zone times, money per locale, the catalogues' completeness check."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import render_template_string

from geocrm import create_app
from geocrm.extensions import db
from tests.conftest import PASSWORD

TRANSLATIONS = Path(__file__).resolve().parents[2] / "geocrm" / "translations"


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues() -> None:
    """`make test` compiles the catalogues; a bare `pytest` run gets them compiled here."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        with mo.open("wb") as fh:
            write_mo(fh, catalog)


def _h1(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, html[:500]
    return match.group(1).strip()


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match
    return match.group(1)


def test_korean_browser_sees_korean_login(client):
    """Accept-Language: ko-KR gets 로그인 and <html lang="ko">."""
    html = client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}).text
    assert _h1(html) == "로그인"
    assert _lang(html) == "ko"
    assert "비밀번호" in html and "본문으로 건너뛰기" in html


def test_japanese_browser_sees_japanese_login(client):
    """Accept-Language: ja-JP gets ログイン and <html lang="ja">."""
    html = client.get("/login", headers={"Accept-Language": "ja-JP,ja;q=0.9"}).text
    assert _h1(html) == "ログイン"
    assert _lang(html) == "ja"


def test_unknown_language_falls_back_to_company_default(app_config, engine_name):
    """French (not spoken) gets GEOCRM_DEFAULT_LOCALE: English by default, Korean when set."""
    app = create_app(app_config)
    with app.app_context():
        assert _h1(app.test_client().get("/login", headers={"Accept-Language": "fr"}).text) \
            == "Sign in"
    app = create_app({**app_config, "GEOCRM_DEFAULT_LOCALE": "ko"})
    with app.app_context():
        html = app.test_client().get("/login", headers={"Accept-Language": "fr-FR"}).text
        assert _h1(html) == "로그인" and _lang(html) == "ko"


def test_bad_settings_refuse_to_start(app_config):
    """A default locale or currency nobody can use stops the app at start-up, by name."""
    with pytest.raises(RuntimeError, match="GEOCRM_DEFAULT_LOCALE"):
        create_app({**app_config, "GEOCRM_DEFAULT_LOCALE": "fr"})
    with pytest.raises(RuntimeError, match="GEOCRM_CURRENCY"):
        create_app({**app_config, "GEOCRM_CURRENCY": "EURO"})


def test_korean_menu_after_sign_in(client, auth, world):
    """A signed-in rep with a Korean browser gets the menu and home page in Korean."""
    auth.login(world.rep_west.email)
    html = client.get("/home", headers={"Accept-Language": "ko-KR"}).text
    nav = re.search(r'<nav aria-label="주 메뉴">(.*?)</nav>', html, re.S)
    assert nav, html[:800]
    for word in ("홈", "거래처", "할 일", "내 경로"):
        assert f">{word}</a>" in nav.group(1)
    assert "영업 담당자" in html  # the role beside the name
    assert "로그아웃" in html


def test_profile_setting_beats_accept_language(client, auth, world):
    """A user whose profile says ja sees Japanese even from a Korean browser."""
    world.rep_west.locale = "ja"
    db.session.commit()
    auth.login(world.rep_west.email)
    html = client.get("/home", headers={"Accept-Language": "ko-KR"}).text
    assert _lang(html) == "ja"
    assert ">ホーム</a>" in html


def test_switcher_saves_to_profile(client, auth, world):
    """The footer form stores the choice on the user; an empty choice follows the browser."""
    auth.login(world.rep_west.email)
    response = client.post("/locale", data={"locale": "ko", "next": "/home"},
                           headers={"Accept-Language": "ja"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/home")
    db.session.expire_all()
    assert db.session.get(type(world.rep_west), world.rep_west.id).locale == "ko"
    assert _lang(client.get("/home", headers={"Accept-Language": "ja"}).text) == "ko"
    client.post("/locale", data={"locale": ""})
    db.session.expire_all()
    assert db.session.get(type(world.rep_west), world.rep_west.id).locale is None
    assert _lang(client.get("/home", headers={"Accept-Language": "ja"}).text) == "ja"


def test_switcher_when_signed_out_uses_the_session(client):
    """A visitor who is not signed in switches via the session; an off-site next is ignored."""
    response = client.post("/locale", data={"locale": "ja", "next": "https://evil.example/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert _h1(client.get("/login", headers={"Accept-Language": "ko"}).text) == "ログイン"


def test_switcher_refuses_unknown_language(client):
    """An unknown code is refused with a message and changes nothing."""
    client.post("/locale", data={"locale": "xx"})
    html = client.get("/login", headers={"Accept-Language": "en"}).text
    assert _lang(html) == "en"


def test_switcher_needs_csrf_token(app_config, engine_name):
    """With CSRF on, a POST without the token is refused; with the page's token it works."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        client = app.test_client()
        assert client.post("/locale", data={"locale": "ko"}).status_code == 400
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post("/locale", data={"locale": "ko", "csrf_token": token}).status_code \
            == 303
        assert _h1(client.get("/login").text) == "로그인"


def test_footer_switcher_is_a_post_form_with_csrf(client):
    """Every page carries the switcher: a POST form with the token, each language in itself."""
    html = client.get("/login").text
    form = re.search(r'<form class="lang-switch"(.*?)</form>', html, re.S)
    assert form and 'method="post"' in form.group(0)
    assert 'name="csrf_token"' in form.group(1)
    for name in ("English", "한국어", "日本語"):
        assert name in form.group(1)


def _render(app: Any, source: str, lang: str, **ctx: Any) -> str:
    with app.test_request_context(headers={"Accept-Language": lang}):
        return render_template_string(source, **ctx)


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        ("ko", "2026년 11월 26일 (목) 오전 9:30"),
        ("ja", "2026年11月26日(木) 9:30"),
        ("en", "Thu, Nov 26, 2026, 9:30 AM"),
    ],
)
def test_seoul_morning_visit_is_the_same_day(app_config, engine_name, lang, shown):
    """A visit at 00:30 UTC shows as 09:30 on the same day in Asia/Seoul, in each locale."""
    app = create_app({**app_config, "GEOCRM_TIMEZONE": "Asia/Seoul"})
    at = datetime(2026, 11, 26, 0, 30)
    assert _render(app, "{{ at|local_datetime }}", lang, at=at) == shown
    assert "26" in _render(app, "{{ at|local_date }}", lang, at=at)


def test_late_evening_utc_is_tomorrow_in_seoul(app_config, engine_name):
    """23:30 UTC on the 25th is the 26th in Seoul: the date filter moves it too."""
    app = create_app({**app_config, "GEOCRM_TIMEZONE": "Asia/Seoul"})
    out = _render(app, "{{ at|local_date }}", "ko", at=datetime(2026, 11, 25, 23, 30))
    assert out == "2026년 11월 26일 (목)"
    assert _render(app, "{{ d|local_date }}", "ja", d=date(2026, 11, 26)) == "2026年11月26日(木)"


@pytest.mark.parametrize(
    ("currency", "lang", "shown"),
    [
        ("EUR", "en", "€121,850.00"),
        ("EUR", "ko", "€121,850.00"),
        ("KRW", "ko", "₩121,850"),
        ("KRW", "en", "₩121,850"),
        ("JPY", "ja", "￥121,850"),
        ("JPY", "en", "¥121,850"),
    ],
)
def test_money_per_locale(app_config, engine_name, currency, lang, shown):
    """One currency setting, formatted by Babel per locale; KRW and JPY have no decimals."""
    app = create_app({**app_config, "GEOCRM_CURRENCY": currency})
    assert _render(app, "{{ v|money }}", lang, v=Decimal("121850.00")) == shown
    assert _render(app, "{{ v|money }}", lang, v=None) == "—"


def test_error_page_speaks_the_language(client):
    """A 404 page is translated (werkzeug's English replaced) and keeps <html lang>."""
    html = client.get("/no-such-page", headers={"Accept-Language": "ja"}).text
    assert "このページは存在しないか、表示できません。" in html
    assert _lang(html) == "ja"


def test_failed_sign_in_message_is_translated(client, world):
    """The wrong-password message is Korean for a Korean browser."""
    html = client.post("/login", data={"email": world.rep_west.email, "password": "nope-nope"},
                       headers={"Accept-Language": "ko"}).text
    assert "이메일 또는 비밀번호가 올바르지 않습니다." in html
    assert PASSWORD not in html


def test_account_pages_in_korean_with_seoul_time_and_won(app_config, engine_name):
    """A Korean rep's account list and Account 360: Korean labels, the visit at 00:30 UTC shown
    at 09:30 the same day (Asia/Seoul), the value in won without decimals."""
    from tests.factories import build_world, make_interaction

    app = create_app({**app_config, "GEOCRM_TIMEZONE": "Asia/Seoul", "GEOCRM_CURRENCY": "KRW"})
    with app.app_context():
        if engine_name == "postgres":
            from tests.conftest import _truncate_postgres

            _truncate_postgres()
        else:
            db.create_all()
        world = build_world(PASSWORD)
        account = world.west_accounts[0]
        account.value = Decimal("121850.00")
        make_interaction(account, world.rep_west, occurred_at=datetime(2026, 11, 26, 0, 30),
                         checkin_at=datetime(2026, 11, 26, 0, 30), outcome="interested")
        account.last_visit_at = datetime(2026, 11, 26, 0, 30)
        db.session.commit()
        client = app.test_client()
        client.post("/login", data={"email": world.rep_west.email, "password": PASSWORD})
        ko = {"Accept-Language": "ko-KR"}
        listing = client.get("/accounts/", headers=ko).text
        assert "<h1>거래처 <small>" in listing and "2026년 11월 26일 (목)" in listing
        html = client.get(f"/accounts/{account.id}", headers=ko).text
        assert "2026년 11월 26일 (목) 오전 9:30" in html
        assert "체크인 오전 9:30" in html
        assert "₩121,850" in html and "121850.00" not in html
        assert "관심 있음" in html and "<h2>상세 정보</h2>" in html
        ja = client.get(f"/accounts/{account.id}", headers={"Accept-Language": "ja"}).text
        assert "2026年11月26日(木) 9:30" in ja and "₩121,850" in ja
        db.session.remove()
        db.engine.dispose()


def test_account_form_errors_in_japanese(client, auth, world):
    """The edit form's labels and the account rules' reasons come in the reader's language."""
    auth.login(world.manager.email)
    account = world.west_accounts[0]
    html = client.post(f"/accounts/{account.id}/edit", headers={"Accept-Language": "ja"},
                       data={"name": account.name, "stage": "lead", "visit_minutes": "abc"}).text
    assert "訪問時間（分）" in html
    assert "整数である必要があります" in html


def test_field_app_messages_per_locale(client):
    """/app/i18n/<locale>.json serves the web's catalogue (same words), revalidates by ETag,
    English is the (empty) source, an unknown locale is a 404; the worker precaches all."""
    ko = client.get("/app/i18n/ko.json")
    assert ko.status_code == 200 and ko.json["locale"] == "ko"
    assert ko.json["messages"]["Sign in"] == "로그인"
    assert ko.json["messages"]["interested"] == "관심 있음"
    assert ko.json["messages"]["%(num)s interaction"] == ["활동 %(num)s건"]
    ja = client.get("/app/i18n/ja.json").json["messages"]
    assert ja["Sign in"] == "ログイン" and ja["visit"] == "訪問"
    assert client.get("/app/i18n/en.json").json == {"locale": "en", "messages": {}}
    assert client.get("/app/i18n/fr.json").status_code == 404
    again = client.get("/app/i18n/ko.json", headers={"If-None-Match": ko.headers["ETag"]})
    assert again.status_code == 304
    worker = client.get("/sw.js").text
    for loc in ("en", "ko", "ja"):
        assert f"/app/i18n/{loc}.json" in worker


def test_field_app_messages_leave_out_fuzzy_and_empty(tmp_path, monkeypatch):
    """A fuzzy or untranslated entry is not served: the app shows English rather than a guess."""
    from geocrm import i18n

    po = tmp_path / "ko" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Sync"\nmsgstr "동기화"\n\n#, fuzzy\n'
                  'msgid "Today"\nmsgstr "어제"\n\nmsgid "Near me"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path)
    assert i18n.catalogue("ko") == {"Sync": "동기화"}


def test_pipeline_and_tasks_in_korean(client, auth, world):
    """CRM pages: the pipeline's stages, amounts by |money (one format, board and totals) and
    the chart's currency sign; the task lists; a flash message after an action."""
    from geocrm.crm import services

    services.create_opportunity(world.rep_west, world.west_accounts[0].id,
                                {"name": "커피 머신", "amount": "12500.5"})
    db.session.commit()
    auth.login(world.rep_west.email)
    ko = {"Accept-Language": "ko"}
    html = client.get("/crm/pipeline", headers=ko).text
    assert "<h1>영업 파이프라인</h1>" in html and "<span>검토</span>" in html
    assert html.count("€12,500.50") >= 2 and "12500.50" not in html
    assert "단계별 금액" in html
    tasks = client.get("/crm/tasks", headers=ko).text
    assert "내 진행 중인 할 일" in tasks
    page = client.post(f"/crm/accounts/{world.west_accounts[0].id}/tasks",
                       data={"title": "전화", "assignee_id": world.rep_west.id},
                       headers=ko, follow_redirects=True).text
    assert "할 일을 추가했습니다." in page


def test_form_rules_refuse_in_the_readers_language(client, auth, world):
    """geocrm.params' reasons (shared by every form and the API) come translated: a negative
    deal amount on a Japanese page, a bad date on a Korean one."""
    auth.login(world.rep_west.email)
    url = f"/crm/accounts/{world.west_accounts[0].id}/opportunities"
    ja = client.post(url, data={"name": "x", "amount": "-5"}, headers={"Accept-Language": "ja"},
                     follow_redirects=True).text
    assert "0以上である必要があります" in ja
    ko = client.post(url, data={"name": "x", "expected_close": "next week"},
                     headers={"Accept-Language": "ko"}, follow_redirects=True).text
    assert "날짜가 아닙니다 (YYYY-MM-DD)" in ko


def test_data_health_in_japanese(client, auth, world):
    """The data-health checks' names and each row's reason are in the reader's language."""
    auth.login(world.manager.email)
    html = client.get("/crm/health?check=no_location", headers={"Accept-Language": "ja"}).text
    assert "<h1>データ品質</h1>" in html and "座標のない顧客" in html
    assert "信頼度の低い位置（信頼度 0.5 未満）" in html


def test_reports_in_korean_csv_keeps_its_keys(client, auth, world):
    """A report's title, column headers and totals label are Korean on the page and in its CSV;
    ``header=keys`` gives the stable column keys (a header tools can rely on)."""
    auth.login(world.manager.email)
    ko = {"Accept-Language": "ko"}
    html = client.get("/crm/reports/coverage?as_of=2026-11-26", headers=ko).text
    assert "2026년 11월 26일 (목) 기준 영업 구역별 방문 커버리지" in html
    assert "<th scope=\"col\">커버리지 %</th>" in html and ">합계</td>" in html
    csv = client.get("/crm/reports/coverage?as_of=2026-11-26&format=csv", headers=ko).text
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("ID,영업 구역,거래처")
    keys = client.get("/crm/reports/coverage?as_of=2026-11-26&format=csv&header=keys",
                      headers=ko).text
    assert keys.splitlines()[0].lstrip("\ufeff").startswith("territory_id,territory,accounts")
    pipeline = client.get("/crm/pipeline", headers=ko).text
    assert "리드: 금액" not in pipeline  # lead is an account stage, not a deal stage
    assert "검토: 금액" in pipeline


def test_territory_balance_and_history_in_japanese(client, auth, world):
    """The balance form and the change history speak Japanese to a Japanese manager."""
    auth.login(world.manager.email)
    ja = {"Accept-Language": "ja"}
    balance = client.get("/territories/balance", headers=ja).text
    assert "<h1>業務量で営業エリアを調整</h1>" in balance and "六角形グリッド" in balance
    history = client.get("/territories/history", headers=ja).text
    assert "<h1>営業エリアの変更</h1>" in history and "まだ変更はありません。" in history


def test_territory_editor_page_in_korean(client, auth, world):
    """The territory editor's page (its panel and tables) speaks Korean; its module's words
    come from the same catalogue (/app/i18n/ko.json carries them)."""
    auth.login(world.manager.email)
    html = client.get("/territories/", headers={"Accept-Language": "ko"}).text
    assert "<h1>영업 구역</h1>" in html and "새 영업 구역으로 저장" in html
    assert "영업 구역별 업무량" in html
    words = client.get("/app/i18n/ko.json").json["messages"]
    assert words["Split %(name)s with it"] == "이 선으로 %(name)s 나누기"


def test_segment_filters_described_in_japanese(client, auth, world):
    """A segment's filters read as Japanese phrases on the list (stages by label, money by
    |money)."""
    from geocrm.crm import segments

    segments.save_segment(world.manager, {"name": "大口", "stages": ["customer"],
                                          "min_value": "1000"})
    db.session.commit()
    auth.login(world.manager.email)
    html = client.get("/crm/segments", headers={"Accept-Language": "ja"}).text
    assert "ステージ: 顧客" in html and "見込み金額 ≥ €1,000.00" in html


def test_rep_routes_page_in_korean(client, auth, world):
    """A rep's list of published routes (empty here) speaks Korean."""
    auth.login(world.rep_west.email)
    html = client.get("/planning/my", headers={"Accept-Language": "ko"}).text
    assert "<h1>내 경로</h1>" in html and "오늘 이후 게시된 경로가 없습니다." in html
