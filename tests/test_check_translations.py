"""scripts/check_translations.py: passes on the committed catalogues, and catches a missing,
fuzzy or placeholder-changing translation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location(
        "check_translations", ROOT / "scripts" / "check_translations.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogues_are_complete():
    """Every message extracted from babel.cfg's files is translated to ko and ja."""
    assert _module().main() == 0


@pytest.mark.parametrize(
    ("source", "target", "ok"),
    [
        ("Hello, %(name)s", "안녕하세요, %(name)s 님", True),
        ("Hello, %(name)s", "안녕하세요, %(nam)s 님", False),
        ("Hello, %(name)s", "안녕하세요", False),
        ("{count} pairs", "{count}組", True),
        ("{count} pairs", "{n}組", False),
        ("100%% done", "100%% 완료", True),
        ("%(a)s of %(b)s", "%(b)s中%(a)s", True),
    ],
)
def test_placeholders_compared(source, target, ok):
    """Placeholders must match as a multiset; order may change between languages."""
    check = _module()
    assert (check.placeholders(source) == check.placeholders(target)) is ok


def test_untranslated_and_fuzzy_are_reported(tmp_path, monkeypatch):
    """A catalogue missing one message and with one fuzzy one fails, naming both."""
    check = _module()
    pot = tmp_path / "messages.pot"
    pot.write_text('msgid ""\nmsgstr ""\n\nmsgid "Sign in"\nmsgstr ""\n\n'
                   'msgid "Sign out"\nmsgstr ""\n\nmsgid "Hi %(name)s"\nmsgstr ""\n',
                   encoding="utf-8")
    for loc in check.LOCALES:
        d = tmp_path / loc / "LC_MESSAGES"
        d.mkdir(parents=True)
        (d / "messages.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
            'msgid "Sign in"\nmsgstr "X"\n\n#, fuzzy\nmsgid "Sign out"\nmsgstr "Y"\n\n'
            'msgid "Hi %(name)s"\nmsgstr "Z %(nome)s"\n',
            encoding="utf-8",
        )
    monkeypatch.setattr(check, "TRANSLATIONS", tmp_path)
    monkeypatch.setattr(check, "ROOT", tmp_path)
    problems = check.check(pot)
    assert any("fuzzy 'Sign out'" in p for p in problems)
    assert any("placeholders of 'Hi %(name)s'" in p for p in problems)
    (tmp_path / "ko" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n\nmsgid "Sign in"\nmsgstr "X"\n', encoding="utf-8")
    assert any(p.startswith("ko: untranslated 'Sign out'") for p in check.check(pot))
