"""Repair notes that are both an English sentence and a code with parameters.

Reading a territory file says what it changed (a polygon repaired, a feature dropped, all
layers read). People read those notes in a log or a notebook, and an app shows them in its
reader's language. A :class:`Note` is a ``str`` (the English sentence, so printing and
``"repaired" in note`` keep working) that also carries ``code`` and ``params``: the app
translates from those instead of parsing the sentence (the pattern of ``routing.notes``).

The builders below are the reader's notes (``territories.io``), each in one place, so the
sentence and its code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Note(str):
    """An English sentence with its ``code`` and ``params`` (see the module docstring)."""

    code: str
    params: dict[str, Any]

    def __new__(cls, text: str, code: str, params: dict[str, Any] | None = None) -> Note:
        self = super().__new__(cls, text)
        self.code = code
        self.params = dict(params or {})
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as text, code and parameters (results travel between processes)."""
        return (Note, (str(self), self.code, self.params))


def empty_dropped(feature: str) -> Note:
    """A feature without geometry was left out."""
    return Note(f"feature {feature!r}: empty geometry, dropped", "empty_dropped",
                {"feature": feature})


def invalid_repaired(feature: str, reason: str) -> Note:
    """An invalid polygon (a bow-tie, a ring crossing itself) was made valid."""
    return Note(f"feature {feature!r}: invalid ({reason}), repaired", "invalid_repaired",
                {"feature": feature, "reason": reason})


def no_area_dropped(feature: str, kind: str) -> Note:
    """A feature with no polygonal area left (a point, a line) was left out."""
    return Note(f"feature {feature!r}: no area ({kind}), dropped", "no_area_dropped",
                {"feature": feature, "kind": kind})


def parts_dropped(feature: str, num: int) -> Note:
    """Empty or zero-area parts of a multipolygon were left out."""
    return Note(f"feature {feature!r}: {num} empty or zero-area part(s) dropped",
                "parts_dropped", {"feature": feature, "num": num})


def all_layers(names: Sequence[str]) -> Note:
    """Every polygon layer of a multi-layer file was read as one set."""
    return Note(f"read all {len(names)} layers: {', '.join(names)}", "all_layers",
                {"num": len(names), "layers": list(names)})


def crs_overridden(filename: str, declared: str, chosen: str | None) -> Note:
    """The file declares one CRS and the caller chose to read it as another."""
    return Note(f"{filename} declares {declared}; read as {chosen} as chosen", "crs_overridden",
                {"filename": filename, "declared": declared, "chosen": chosen})
