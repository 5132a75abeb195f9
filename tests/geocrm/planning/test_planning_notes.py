"""Planning notes stored as codes and parameters, put into words when shown: the same stored
re-plan summary reads in English, Korean and Japanese; an older plain sentence is shown as it
is; a known sentence of the solver or the travel provider is translated with its values."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import refresh

from geocrm import create_app
from geocrm.planning.notes import (
    english,
    from_library,
    minutes,
    names,
    note,
    reason_words,
    render,
    unique,
)
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401


def app_() -> Flask:
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SECRET_KEY": "t"})


def words(lang: str, value: Any) -> str:
    app = app_()
    with app.test_request_context(headers={"Accept-Language": lang}):
        refresh()
        return render(value)


DROPPED = note("dropped_many", num=2, why=note("closed_after", time="15:00"),
               names=["Kahvila Aalto", "Kirja & Co"])
REPLANNED = note("replanned", time="13:00", origin=note("from_checkin", name="카페 소담"))


def test_one_stored_note_reads_in_each_language() -> None:
    assert words("en", DROPPED) == ("2 visits dropped: closed after 15:00 "
                                    "(Kahvila Aalto, Kirja & Co).")
    assert words("ko", DROPPED) == ("방문 2건 제외: 15:00 이후 영업 종료 "
                                    "(Kahvila Aalto, Kirja & Co).")
    assert words("ja", DROPPED) == ("2件の訪問を外しました: 15:00以降は営業終了"
                                    "（Kahvila Aalto、Kirja & Co）。")
    assert words("en", REPLANNED) == "Re-planned at 13:00 from your check-in at 카페 소담."
    assert words("ko", REPLANNED) == "13:00에 카페 소담 체크인 위치에서 경로를 다시 계획했습니다."
    assert words("ja", REPLANNED) == ("13:00に카페 소담でのチェックイン地点から"
                                      "ルートを再計画しました。")
    assert "Re-planned" not in words("ja", REPLANNED)


def test_many_names_and_minute_ranges() -> None:
    many = names([f"Shop {i}" for i in range(7)])
    assert words("en", many) == "Shop 0, Shop 1, Shop 2, Shop 3 and 3 more"
    assert words("ja", many) == "Shop 0、Shop 1、Shop 2、Shop 3 ほか3件"
    assert words("ko", minutes(10, 25)) == "10–25분"
    assert words("en", minutes(5, 5)) == "5 min"


def test_older_rows_and_library_sentences() -> None:
    """A plain sentence stored before codes existed is shown as it is; the solver's and the
    travel provider's known sentences are translated, with their numbers."""
    legacy = "Kahvila Aalto moved from 2nd to 1st stop, at 13:00."
    assert words("ko", legacy) == legacy
    straight = ("straight-line estimate: distances are great-circle × 1.3 at the rep's speed, "
                "not roads (load a region with 'flask region load' or set GEOCRM_TRAVEL=osrm "
                "or valhalla for road times)")
    assert words("ko", straight).startswith("직선 추정: 거리는 도로가 아닌 대권 거리 × 1.3")
    assert "GEOCRM_TRAVEL=osrm 또는 valhalla" in words("ko", straight)
    older = straight.replace("osrm or valhalla", "osrm")  # stored before Valhalla came
    assert words("ko", older) == words("ko", straight)
    assert words("ja", "2026-05-15: " + straight).startswith("2026年5月15日(金): 直線での見積もり")
    assert words("ko", "New order: saves 7 min of travel (12 %).") == (
        "새 순서: 이동 시간이 7분 (12%) 줄어듭니다.")
    assert from_library("something new") == "something new"


def test_left_out_reasons_by_code_text_or_note() -> None:
    app = app_()
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        refresh()
        assert reason_words({"reason": "no_cadence",
                             "text": "no visit cadence set on the account"}) == (
            "顧客に訪問周期が設定されていない")
        assert reason_words({"reason": "replan", "text": "closed after 15:00",
                             "why": note("closed_after", time="15:00")}) == "15:00以降は営業終了"
        assert reason_words({"reason": "capacity", "text": "a sentence of its own"}) == (
            "a sentence of its own")
    with app.app_context():
        assert english(DROPPED).startswith("2 visits dropped")
    assert unique([DROPPED, DROPPED, "x", "x"]) == [DROPPED, "x"]


def test_weekly_balance_notes_name_reps_in_each_language() -> None:
    """routing's weekly notes carry codes and rep ids: stored with the reps' names (no ``r12``)
    and read in the reader's language; the English sentence is still the ``str`` itself."""
    import pickle
    from datetime import date

    import routing
    from routing import notes as rn

    reasons = [rn.own_accounts_over("r1", 12, 8.4), rn.could_only_get("r2", 3, 8.4)]
    found = [rn.week_summary(20, 9, date(2026, 5, 11), date(2026, 5, 22), 18),
             rn.rep_days("r1", 8, 95, 410),
             rn.visits_per_rep({"r1": 12, "r2": 3}, 4.0, per_hour=True, goal=1.2),
             rn.balance_impossible(1.2, reasons), rn.rep_no_days("r3")]
    assert "not possible" in found[3] and "r1's own accounts" in found[3]
    assert pickle.loads(pickle.dumps(found[2])).params == found[2].params
    assert isinstance(found[0], routing.Note)
    stored = [from_library(n, {"r1": "Anna Kim", "r2": "김민수"}) for n in found]
    assert all(isinstance(s, dict) for s in stored)
    assert "r1" not in str(stored) and "r2" not in str(stored)
    en = [words("en", s) for s in stored]
    assert en[2] == ("Visits per rep: Anna Kim 12, 김민수 3; busiest to least busy per "
                     "working hour 4.00× (goal ≤ 1.2×).")
    assert "Anna Kim's own accounts alone need 12 visits" in en[3]
    assert en[4] == "r3 works no day in this period."  # an id without a name stays as it is
    for lang in ("ko", "ja"):
        said = [words(lang, s) for s in stored]
        assert "Anna Kim" in said[1] and "김민수" in said[3]
        assert not any("visits" in s or "working" in s for s in said), said
    assert "2026년 5월 11일" in words("ko", stored[0])
