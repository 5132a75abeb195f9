"""Map hand-off for Korea: Naver Map (nmap:// with appname, ≤5 waypoints a leg, web fallback)
and Kakao Map (kakaomap://route sp/ep/by=CAR, one leg a link, mobile-web fallback) beside
Google, Apple and Waze, on the rep's day page; Korean readers get Naver first by default."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from geocrm.maps.web import default_nav_app
from geocrm.planning import exports
from tests.geocrm.planning.test_planning_exports import make_plan


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def chain(plan_stops: int) -> tuple[list[tuple[float, float]], list[str]]:
    plan = make_plan(plan_stops, name="강남 카페, 본점")
    points = exports.route_points(plan)
    return points, ["Start"] + [s.name for s in plan.stops] + ["Home"]


@pytest.mark.parametrize("n", [1, 5, 6, 13])
def test_naver_legs_carry_at_most_five_waypoints_and_cover_every_stop(n: int) -> None:
    """Every point appears, in order; each leg starts where the last ended; appname on each."""
    points, names = chain(n)
    links = exports.naver_links(points, names, "com.example.geocrm")
    seen: list[str] = []
    for i, link in enumerate(links):
        assert link["app"].startswith("nmap://route/car?")
        q = query(link["app"])
        assert q["appname"] == ["com.example.geocrm"]
        vias = [k for k in q if k.startswith("v") and k.endswith("lat")]
        assert len(vias) <= exports.NAVER_MAX_WAYPOINTS
        leg = [q["slat"][0]] + [q[f"v{j}lat"][0] for j in range(1, len(vias) + 1)] + [q["dlat"][0]]
        if i:
            assert leg[0] == seen[-1]
            leg = leg[1:]
        seen += leg
        web = query(link["web"])
        assert link["web"].startswith("https://map.naver.com/")
        assert (web["slat"], web["elat"]) == (q["slat"], q["dlat"])
        assert web["pathType"] == ["0"]
    assert seen == [f"{p[0]:.6f}" for p in points]
    assert len(links) == -(-(len(points) - 1) // (exports.NAVER_MAX_WAYPOINTS + 1))


def test_naver_names_are_safe_and_appname_is_required() -> None:
    points, names = chain(2)
    link = exports.naver_links(points, names, "app")[0]
    assert query(link["app"])["v1name"] == ["강남 카페 본점 1"]
    with pytest.raises(ValueError, match="appname"):
        exports.naver_links(points, names, "")
    with pytest.raises(ValueError):
        exports.naver_links(points, names[:-1], "app")


def test_kakao_one_link_per_leg_with_web_fallback() -> None:
    points, names = chain(3)
    links = exports.kakao_links(points, names)
    assert len(links) == len(points) - 1
    first = links[0]
    assert first["app"] == "kakaomap://route?sp=60.170000,24.920000&ep=60.101000,24.901000&by=CAR"
    assert query(links[1]["app"])["sp"] == query(first["app"])["ep"]
    web = unquote(first["web"])
    assert web == ("https://map.kakao.com/link/by/car/Start,60.170000,24.920000/"
                   "강남 카페 본점 1,60.101000,24.901000")
    assert all("/" not in unquote(part).split(",")[0]
               for part in first["web"].split("/link/by/car/")[1].split("/"))


def test_korean_defaults_to_naver() -> None:
    assert default_nav_app("ko") == "naver"
    assert default_nav_app("ko-KR") == "naver"
    assert default_nav_app("ja") == "google"
    assert default_nav_app("en") == "google"


# -- the rep's day page ------------------------------------------------------------------------
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from tests.conftest import AuthActions  # noqa: E402
from tests.factories import World  # noqa: E402
from tests.geocrm.planning.test_planning import app_config, run_planning  # noqa: E402,F401
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: E402,F401


def test_day_page_offers_naver_and_kakao_with_the_configured_appname(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """Five providers on a rep's day; Naver links carry GEOCRM_NAVER_APPNAME and the web
    fallback in href; a Korean reader's default app is Naver, an English one's Google."""
    app.config["GEOCRM_NAVER_APPNAME"] = "com.example.geocrm"
    run = run_planning(world, territory_ids=(world.west.id,))
    auth.login(world.planner.email)
    plan_id = run.plans[0].id
    ko = client.get(f"/planning/plans/{plan_id}", headers={"Accept-Language": "ko"})
    html = ko.get_data(as_text=True)
    for provider in ("google", "apple", "waze", "naver", "kakao"):
        assert f'data-nav-app="{provider}"' in html
    assert 'data-app-url="nmap://route/car?' in html and "appname=com.example.geocrm" in html
    assert 'href="https://map.naver.com/index.nhn?' in html
    assert 'data-app-url="kakaomap://route?sp=' in html and "by=CAR" in html
    assert '<option value="naver" selected>네이버 지도</option>' in html
    en = client.get(f"/planning/plans/{plan_id}", headers={"Accept-Language": "en"})
    assert '<option value="google" selected>Google Maps</option>' in en.get_data(as_text=True)


def test_day_csv_and_calendar_speak_the_readers_language(
    app: Flask, world: World, client: FlaskClient, auth: AuthActions
) -> None:
    """The day's CSV header, yes/no and status, and the calendar's descriptions, in Korean."""
    import csv
    import io

    run = run_planning(world, territory_ids=(world.west.id,))
    auth.login(world.planner.email)
    plan_id = run.plans[0].id
    ko = {"Accept-Language": "ko"}
    rows = list(csv.reader(io.StringIO(client.get(f"/planning/plans/{plan_id}/route.csv",
                                                  headers=ko).get_data(as_text=True))))
    assert rows[0][:3] == ["날짜", "영업 담당자", "방문 순서"]
    assert rows[1][14] in ("예", "아니요") and rows[1][15] == "계획됨"
    ics = client.get(f"/planning/plans/{plan_id}/route.ics", headers=ko).get_data(as_text=True)
    assert "방문지" in ics.replace("\r\n ", "") and "Stop 1 of" not in ics
