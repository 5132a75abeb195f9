"""The import's findings in the reader's language: counts, rules, outcomes, the reader's notes
and a file's errors (a ValidationError's "field: reason"), unknown sentences as they are."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import refresh

from geocrm import create_app
from geocrm.imports import words
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401


def say(lang: str, fn: Any, *args: Any) -> str:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SECRET_KEY": "t"})
    with app.test_request_context(headers={"Accept-Language": lang}):
        refresh()
        return str(fn(*args))


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "file: is empty"), ("ko", "파일: 비어 있습니다"), ("ja", "ファイル: 空です")])
def test_a_file_error_names_the_field_in_the_readers_language(lang: str, expected: str) -> None:
    assert say(lang, words.sentence, "file: is empty") == expected


def test_known_forms_keep_their_values_unknown_ones_stay() -> None:
    assert say("ko", words.sentence, "row 7, name: is longer than 300 characters") == (
        "7행, 이름: 300자보다 깁니다")
    assert say("ja", words.sentence, "The workbook has 3 sheets (A, B, C); sheet 'B' was read.") \
        == "ブックには 3 枚のシートがあります（A, B, C）。シート 'B' を読みました。"
    assert say("ko", words.sentence, "the file is not Japanese (Shift_JIS / CP932): line 4 has "
               "bytes 82 a0 that are not; choose another encoding").startswith(
        "파일이 일본어 (Shift_JIS / CP932)이(가) 아닙니다. 4번째 줄")
    assert say("ja", words.sentence, "a sentence nobody wrote down") == (
        "a sentence nobody wrote down")
    assert say("ko", words.word, "flagged_missing") == "없어짐으로 표시"
    assert say("ja", words.outcome, "review") == "取り込み済み。要確認"
    assert say("ko", words.word, "some_new_key") == "some new key"
    assert say("ja", words.encodings, {"cp949": "Korean (CP949 / EUC-KR)"}) == (
        "{'cp949': '韓国語（CP949 / EUC-KR）'}")
