"""Distances in the company's unit (km or mi) formatted by Babel per locale, the first day of a
calendar week per locale, and problem titles in the reader's language."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import refresh

from geocrm import create_app
from geocrm.errors import problem_title
from geocrm.i18n import distance, week_start
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401


def make(**config: Any) -> Flask:
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SECRET_KEY": "t", **config})


def in_locale(app: Flask, lang: str, fn: Any) -> Any:
    with app.test_request_context(headers={"Accept-Language": lang}):
        refresh()
        return fn()


@pytest.mark.parametrize(("lang", "near", "far"), [
    ("en", "850 m", "12.3 km"), ("ko", "850m", "12.3km"), ("ja", "850 m", "12.3 km")])
def test_kilometres_per_locale(lang: str, near: str, far: str) -> None:
    app = make()
    assert in_locale(app, lang, lambda: (distance(850), distance(12345))) == (near, far)
    assert in_locale(app, lang, lambda: distance(850, small=False)) == far.replace("12.3", "0.8")


def test_miles_by_setting() -> None:
    app = make(GEOCRM_DISTANCE_UNIT="mi")
    assert in_locale(app, "en", lambda: (distance(100), distance(16093.44))) == ("328 ft",
                                                                                 "10.0 mi")
    assert in_locale(app, "ko", lambda: distance(16093.44)) == "10.0mi"
    assert in_locale(app, "en", lambda: distance(None)) == "—"


def test_an_unknown_unit_is_refused_at_start() -> None:
    with pytest.raises(RuntimeError, match="GEOCRM_DISTANCE_UNIT"):
        make(GEOCRM_DISTANCE_UNIT="furlong")


def test_week_starts_per_locale_and_country() -> None:
    """Sunday in Korean and Japanese (and US English); an English-speaking company in Finland
    starts on Monday, while a Korean reader there keeps Sunday."""
    app = make()
    assert [in_locale(app, lang, week_start) for lang in ("ko", "ja", "en")] == [6, 6, 6]
    finnish = make(GEOCRM_HOLIDAY_COUNTRY="FI")
    assert in_locale(finnish, "en", week_start) == 0
    assert in_locale(finnish, "ko", week_start) == 6


def test_problem_titles_in_the_readers_language(client: Any) -> None:
    """The API's problem documents: a translated title, the English name kept in ``code``."""
    ko = client.get("/api/v1/accounts/1", headers={"Accept-Language": "ko"})
    assert ko.status_code == 401
    body = ko.get_json()
    assert body["code"] == "Unauthorized" and body["title"] == "로그인 필요"
    app = make()
    assert in_locale(app, "ja", lambda: problem_title(422, "ValidationError")) == "入力エラー"
    assert in_locale(app, "en", lambda: problem_title(404, "Not Found")) == "Not found"
    assert in_locale(app, "en", lambda: problem_title(502, "The geocoder did not answer")) == (
        "The geocoder did not answer")
