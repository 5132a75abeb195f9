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


def test_every_file_error_of_the_reader_is_translated() -> None:
    """The reader's own errors (unknown encoding, missing sheet, x/y without a CRS or mapped to
    a missing column, an unknown field) come out in Korean and Japanese, values kept; an
    upload that is gone says so in the reader's language."""
    from geocrm.errors import GeocrmError, ValidationError
    from geocrm.imports import reading, sources
    from geocrm.uploads import ACCOUNT_IMPORTS

    def error(fn: Any, *args: Any, **kwargs: Any) -> str:
        with pytest.raises(ValidationError) as err:
            fn(*args, **kwargs)
        return err.value.message

    found = [
        error(sources.decode, b"a", "klingon"),
        error(sources.check_crs, "", "X", "Y"),
        error(sources.project_grid, ["X", "Y"], [], {"x": "X", "y": "Z"}, "EPSG:5174",
              lambda *r: None),
        error(reading.check_mapping, {"name": "name", "colour": "name"}, ["name"]),
        "sheet: the workbook has no sheet 'B' (it has A, C)",
        "action: this conflict is already kept",
    ]
    for lang in ("ko", "ja"):
        said = [say(lang, words.sentence, m) for m in found]
        for english, text in zip(found, said, strict=True):
            assert text != english and not text.startswith(english.split(":")[0] + ":"), text
        assert "klingon" in said[0] and "'X'" in said[1] and "'Z'" in said[2]
        assert "'colour'" in said[3] and "'B'" in said[4]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SECRET_KEY": "t"})
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        refresh()
        with pytest.raises(GeocrmError) as gone:
            ACCOUNT_IMPORTS.load("0" * 32, 1)
        assert "upload" not in gone.value.message, gone.value.message
