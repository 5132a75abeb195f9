"""Cleaning a file's rows in two processes gives exactly what one process gives."""

from __future__ import annotations

import os
import threading

import pytest

from geocrm.imports import halves
from geocrm.imports.rows import clean_columns

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="cleaning in two needs fork")


def _file(n: int) -> dict[str, list[str]]:
    """Columns of ``n`` rows: Latin, Korean and Japanese names and addresses, repeated
    values, blanks, bad cells in both halves, and a column blank in its first half only."""
    names = ["Kahvila Ääni", "서울식당", "ラーメン 一蘭", "K-Market", ""]
    addresses = ["Mannerheimintie 5", "서울특별시 종로구 세종대로 175", "東京都千代田区丸の内1-9-1",
                 "", "청계천로 88"]
    stages = ["lead", "customer", "", "open", "prospect"]  # "open" is refused
    return {
        "name": [names[i % 5] + (f" {i % 7}" if i % 3 else "") for i in range(n)],
        "external_id": [f"E{i}" if i % 11 else "" for i in range(n)],
        "address": [addresses[i % 5] for i in range(n)],
        "postcode": [f"00{100 + i % 9}" if i % 2 else "" for i in range(n)],
        "stage": [stages[i % 5] if i % 13 else "lead" for i in range(n)],
        "lat": ["" if i % 17 == 0 else ("91" if i % 29 == 0 else f"60.{i % 1000:03d}")
                for i in range(n)],
        "lon": ["" if i % 17 == 0 else f"24.{i % 997:03d}" for i in range(n)],
        "tags": ["a;b" if i % 4 else "" for i in range(n)],
        "phone": ["" if i < n // 2 else f"+358 40 {i:06d}" for i in range(n)],
    }


@pytest.mark.parametrize("n", [2, 3, 101, 2_000])
def test_two_processes_clean_as_one(n):
    columns = _file(n)
    alone_rejects: list = []
    alone = clean_columns(columns, range(2, n + 2), alone_rejects, addresses={})
    both_rejects: list = []
    both = halves.clean_columns_in_two(columns, range(2, n + 2), both_rejects, addresses={},
                                       force=True)
    assert both.rows() == alone.rows()
    assert both.blank == alone.blank and both.refused == alone.refused
    assert both.numbers == alone.numbers
    assert sorted(both_rejects, key=lambda r: r.row) == sorted(alone_rejects,
                                                               key=lambda r: r.row)
    assert alone_rejects or n < 30, "the file is meant to have bad cells"
    wanted = [number for number in range(2, n + 2) if number % 3]
    assert both.take(wanted) == alone.take(wanted)


def test_a_failed_child_leaves_its_half_to_this_process(monkeypatch):
    """The child dies before answering: its half is cleaned here, and nothing is lost."""
    monkeypatch.setattr(halves, "_child", lambda *args: os._exit(3))
    columns = _file(300)
    rejects: list = []
    both = halves.clean_columns_in_two(columns, range(2, 302), rejects, force=True)
    alone_rejects: list = []
    assert both.rows() == clean_columns(columns, range(2, 302), alone_rejects).rows()
    assert sorted(rejects, key=lambda r: r.row) == sorted(alone_rejects, key=lambda r: r.row)
    assert halves._unpickled(b"\x80\x05\x95") is None  # an answer cut short  # noqa: SLF001


def test_only_a_large_file_in_a_single_threaded_process_is_cleaned_in_two():
    assert not halves._worth_forking(halves.TWO_FROM - 1)  # noqa: SLF001
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not halves._worth_forking(halves.TWO_FROM * 10)  # noqa: SLF001
    finally:
        stop.set()
        other.join()


def test_the_child_words_its_rejects_in_the_readers_language(app):
    """The child inherits the request: a Korean reader's rejects are Korean from both
    halves, as from one process."""
    columns = _file(400)
    with app.test_request_context("/", headers={"Accept-Language": "ko"}):
        alone: list = []
        clean_columns(columns, range(2, 402), alone)
        both: list = []
        halves.clean_columns_in_two(columns, range(2, 402), both, force=True)
    assert sorted(both, key=lambda r: r.row) == sorted(alone, key=lambda r: r.row)
    assert any(r.row > 201 for r in both)
    assert any("\uac00" <= ch <= "\ud7a3" for r in both for ch in r.reason), both[:3]
