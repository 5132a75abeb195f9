"""The duplicate scan's progress in the reader's language: the plural form of the count and
the count with the locale's separators (the list page read it with a 500 before)."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from geocrm.crm.duplicates import progress_words


def test_progress_words_in_every_language(app: Flask) -> None:
    with app.test_request_context():
        assert progress_words("12,345 likely pairs") == "12,345 likely pairs"
        assert progress_words("1 likely pairs") == "1 likely pair"
        with force_locale("ja"):
            assert "12,345" in progress_words("12,345 likely pairs")
        with force_locale("ko"):
            assert "2" in progress_words("2 likely pairs") and "likely" not in progress_words(
                "2 likely pairs")
        assert progress_words("something new") == "something new"
