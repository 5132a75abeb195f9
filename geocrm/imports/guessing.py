"""Guessed column mappings checked against the file's data before anyone relies on them.

A header name alone is a weak guess: an ``ID`` column with repeats is not an external id
(matching by it would fold distinct records together), a ``STATUS`` column with ``open``
is not the sales stage (every row would be rejected), and ``X``/``Y`` holding metres are
not degrees. Each guess that does not fit the data is dropped (or, for metres, moved to
x/y) with a reason the mapping page shows; what the user maps by hand is never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter

from flask_babel import gettext as _

from geocrm.models import Stage

STAGES = tuple(s.value for s in Stage)


@dataclass
class CheckedGuess:
    """The mapping to offer, and why guesses were dropped or moved."""

    mapping: dict[str, str]
    reasons: dict[str, str] = field(default_factory=dict)  # target -> why


def _column(headers: list[str], rows: list[list[str]], header: str) -> list[tuple[int, str]]:
    """(row number, stripped value) of the non-blank cells of a column; header is row 1."""
    i = headers.index(header)
    if min(map(len, rows), default=0) > i:  # every row has the cell: picked in C calls
        values: Iterable[str] = map(str.strip, map(itemgetter(i), rows))
    else:
        values = ((cells[i] if i < len(cells) else "").strip() for cells in rows)
    return [(n, value) for n, value in enumerate(values, start=2) if value]


def _float(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def check_guess(guessed: Mapping[str, str], headers: list[str],
                rows: list[list[str]]) -> CheckedGuess:
    """Drop guessed columns whose data contradicts the field they were guessed for.

    An external-id column must be unique in the file; a stage column must hold stages in
    most of its cells; "latitude/longitude" beyond ±90/±180 are grid metres (moved to x/y).
    """
    mapping = dict(guessed)
    reasons: dict[str, str] = {}
    ext = mapping.get("external_id")
    if ext:
        first: dict[str, int] = {}
        repeats: list[tuple[str, int, int]] = []
        for n, value in _column(headers, rows, ext):
            if value in first:
                repeats.append((value, first[value], n))
            else:
                first[value] = n
        if repeats:
            value, a, b = repeats[0]
            del mapping["external_id"]
            reasons["external_id"] = _(
                "%(column)s was not used as the external id: %(num)s of its %(total)s values "
                "repeat (e.g. %(value)s in rows %(a)s and %(b)s), and an external id must name "
                "one record. Map another column, or none.", column=repr(ext), num=len(repeats),
                total=len(first) + len(repeats), value=repr(value), a=a, b=b)
    stage = mapping.get("stage")
    if stage:
        unknown: dict[str, int] = {}
        cells = _column(headers, rows, stage)
        for n, value in cells:
            if value.lower() not in STAGES:
                unknown.setdefault(value, n)
        # Mostly stages: the stage column, whose odd values are rejected row by row. Mostly
        # something else ('open', 'closed'): another column that happens to be named so.
        if sum(v.lower() not in STAGES for _, v in cells) * 2 > len(cells):
            del mapping["stage"]
            examples = _(", ").join(_("%(value)s (row %(num)s)", value=repr(v), num=n)
                                    for v, n in list(unknown.items())[:3])
            reasons["stage"] = _(
                "%(column)s was not used as the stage: it holds values that are not stages "
                "(%(examples)s; stages are %(stages)s). New accounts start as leads.",
                column=repr(stage), examples=examples, stages=", ".join(STAGES))
    lat, lon = mapping.get("lat"), mapping.get("lon")
    if lat and lon:
        ys = [v for _, t in _column(headers, rows, lat) if (v := _float(t)) is not None]
        xs = [v for _, t in _column(headers, rows, lon) if (v := _float(t)) is not None]
        outside = sum(abs(v) > 90 for v in ys) + sum(abs(v) > 180 for v in xs)
        if ys and xs and outside > (len(ys) + len(xs)) // 2:
            del mapping["lat"], mapping["lon"]
            mapping["x"], mapping["y"] = lon, lat
            reasons["x"] = _(
                "%(lon)s and %(lat)s hold values such as %(x)s, %(y)s, which are not degrees: "
                "they are mapped as x/y. Enter their coordinate system (the EPSG code the "
                "publisher states; it is never guessed).", lon=repr(lon), lat=repr(lat),
                x=f"{xs[0]:g}", y=f"{ys[0]:g}")
    return CheckedGuess(mapping, reasons)
