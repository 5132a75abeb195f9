"""The planning pages in a Korean and a Japanese browser: the planner form, a run's result page
and one rep's day speak the reader's language (dates by the locale, plurals, escaped names)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions
from tests.factories import World
from tests.geocrm.planning.test_planning import app_config, run_planning  # noqa: F401
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
JA = {"Accept-Language": "ja-JP,ja;q=0.9"}


def test_korean_browser_sees_korean_planner_form(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """GET /planning/ with Accept-Language: ko shows the form and recent plans in Korean."""
    auth.login(world.planner.email)
    page = client.get("/planning/", headers=KO).get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert "<h1>방문 계획</h1>" in page
    assert "최근 계획" in page and "방문 주기가 지난 거래처만" in page
    assert "Recent plans" not in page and "First day" not in page


def test_korean_and_japanese_run_and_day_pages(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """A run's page and one rep's day in ko and ja: headings, status, the flash, local dates."""
    run = run_planning(world, territory_ids=(world.west.id, world.east.id))
    auth.login(world.planner.email)
    ko = client.get(f"/planning/runs/{run.id}", headers=KO).get_data(as_text=True)
    assert f"계획 #{run.id}:" in ko and "2026년 5월 15일 (금)" in ko
    assert 'id="run-status">초안</span>' in ko
    assert "영업 담당자에게 게시" in ko and "계획되지 않음 (" in ko
    assert "Publish to reps" not in ko and "Not planned" not in ko
    ja = client.get(f"/planning/runs/{run.id}", headers=JA).get_data(as_text=True)
    assert f"計画 #{run.id}:" in ja and "2026年5月15日(金)" in ja
    assert "営業担当に公開" in ja and 'id="run-status">下書き</span>' in ja
    plan_id = run.plans[0].id
    day = client.get(f"/planning/plans/{plan_id}", headers=KO).get_data(as_text=True)
    assert "길 안내" in day and "Navigate" not in day
    # Publishing flashes a Korean sentence with the count filled in.
    client.get(f"/planning/runs/{run.id}", headers=KO)
    client.post(f"/planning/runs/{run.id}/publish", headers=KO)
    page = client.get(f"/planning/runs/{run.id}", headers=KO).get_data(as_text=True)
    assert f"영업 담당자에게 계획 {len(run.plans)}개를 게시했습니다." in page
