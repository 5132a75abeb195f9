"""Words stored by one reader and read by another (issue 12): a territory change's summary and
notes are codes put into words when shown; a job's progress is stored in English and shown in
the reader's language; a refused value names its field by a label, not a raw key. Cheap: one
app without a database, no requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask_babel import refresh

from geocrm import create_app
from geocrm.errors import ValidationError
from geocrm.i18n import progress_text
from geocrm.planning import progress
from geocrm.territory_admin import notes as tn
from territories import notes as library
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    yield create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SECRET_KEY": "t"})


def say(app: Flask, lang: str, fn: Any, *args: Any) -> str:
    with app.test_request_context(headers={"Accept-Language": lang}):
        refresh()
        return str(fn(*args))


def test_a_coded_territory_summary_reads_in_each_language(app: Flask) -> None:
    split = tn.note("split", name="강남", new="강남 (split)")
    assert say(app, "en", tn.render, split) == "split '강남': new '강남 (split)'"
    assert say(app, "ko", tn.render, split) == "'강남' 분할: 새 구역 '강남 (split)'"
    assert say(app, "ja", tn.render, split) == "'강남' を分割: 新しいエリア '강남 (split)'"
    nobody = tn.note("worked_by", name="North", reps=tn.note("nobody"))
    assert say(app, "ko", tn.render, nobody) == "'North' 담당: 없음"
    assert say(app, "ja", tn.render, tn.note("worked_by", name="N", reps=["A", "B"])) == (
        "'N' の担当: A、B")


def test_a_repair_note_of_the_pure_library_reads_in_each_language(app: Flask) -> None:
    found = library.invalid_repaired("Bow", "Self-intersection[1 1]")
    assert str(found) == "feature 'Bow': invalid (Self-intersection[1 1]), repaired"
    stored = tn.from_library(found)
    assert stored == {"code": "invalid_repaired",
                      "params": {"feature": "Bow", "reason": "Self-intersection[1 1]"}}
    assert say(app, "en", tn.render, stored) == str(found)
    assert say(app, "ko", tn.render, stored) == (
        "피처 'Bow': 잘못된 도형(Self-intersection[1 1])을 고침")
    assert say(app, "ja", tn.render, found).startswith("フィーチャ 'Bow': 無効な図形")
    inner = tn.note("feature_note", name="Zone", note=tn.note("polygon_repaired",
                                                              reason="Ring", num=2))
    assert say(app, "ja", tn.render, inner) == "'Zone': 無効な多角形（Ring）を 2個の部分に修復"


def test_an_old_revisions_english_text_is_shown_as_written(app: Flask) -> None:
    class Old:
        summary = "reshaped 'West'"
        summary_note = None

    assert say(app, "ko", tn.summary, Old()) == "reshaped 'West'"
    assert say(app, "ko", tn.render, "cut out of 'West'") == "cut out of 'West'"


def test_a_planning_jobs_progress_reads_in_the_readers_language(app: Flask) -> None:
    day = progress.planning_day(date(2026, 11, 26), 12)
    assert day == "planning 2026-11-26: 12 visits to place"  # stored, for logs and the API
    assert say(app, "ko", progress_text, day) == "2026년 11월 26일 (목) 계획 중: 배치할 방문 12건"
    assert say(app, "ja", progress_text, progress.counted(40, 3, 5)) == (
        "顧客 40件、営業担当 3名、5日")
    assert say(app, "ko", progress_text, progress.SAVING) == "계획을 저장하는 중"
    assert say(app, "en", progress_text, progress.SAVING) == "saving the plans"
    assert say(app, "ko", progress_text, "started") == "시작됨"
    assert say(app, "ja", progress_text, "something unknown") == "something unknown"


def test_a_validation_reason_names_its_field_by_a_label(app: Flask) -> None:
    def message(field: str, row: int | None = None) -> str:
        return ValidationError(field, "…", row=row).message

    assert say(app, "ko", message, "cutter") == "나누는 선 또는 도형: …"
    assert say(app, "ja", message, "rep_id") == "営業担当: …"
    assert say(app, "ja", message, "changes.phone") == "電話: …"  # the last known part
    assert say(app, "ko", message, "geometry", 4) == "4행, 모양: …"
    assert say(app, "ko", message, "no_such_key") == "…"  # an unknown key is left out
    assert say(app, "en", message, "cutter") == "cutter: …"  # English keeps the key
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        refresh()
        err = ValidationError("cutter", "…")
    assert err.field == "cutter"  # programs still read the key


def test_why_an_account_changed_territory_reads_in_the_readers_language(app: Flask) -> None:
    reason = tn.assignment_reason
    assert say(app, "ko", reason, "edit: reshaped 'West'") == "수정: 'West' 경계 변경"
    assert say(app, "ja", reason, "reps: 'N' worked by A, B") == "営業担当: 'N' の担当: A、B"
    assert say(app, "ko", reason, "undo #12") == "변경 #12 되돌림"
    assert say(app, "ja", reason, "pin moved by hand") == "手動でピンを移動"
    assert say(app, "en", reason, "edit: reshaped 'West'") == "edit: reshaped 'West'"
    cut = "import: imported a-very-long-file-name-that-the-sixty-charac"
    assert say(app, "ko", reason, cut) == cut  # cut off at 60 characters: as written


def test_a_refusal_of_the_file_reader_reads_in_the_readers_language(app: Flask) -> None:
    from territories.errors import CRSError

    refused = CRSError("x.shp has no CRS; …", "no_crs_projected", file="x.shp", x="1338000",
                       y="410000")
    ko = say(app, "ko", tn.error_words, refused, "구역.zip")
    assert ko.startswith("구역.zip") and "1338000" in ko and "CRS;" not in ko
    assert say(app, "en", tn.error_words, CRSError("plain words"), "a.zip") == "plain words"
