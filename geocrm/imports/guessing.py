"""Guessed column mappings checked against the file's data before anyone relies on them.

A header name alone is a weak guess: an ``ID`` column with repeats is not an external id
(matching by it would fold distinct records together), a ``STATUS`` column with ``open``
is not the sales stage (every row would be rejected), and ``X``/``Y`` holding metres are
not degrees. Each guess that does not fit the data is dropped (or, for metres, moved to
x/y) with a reason the mapping page shows; what the user maps by hand is never changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import numpy.typing as npt
from flask_babel import gettext as _

from geocrm.models import Stage

STAGES = tuple(s.value for s in Stage)


@dataclass
class CheckedGuess:
    """The mapping to offer, and why guesses were dropped or moved."""

    mapping: dict[str, str]
    reasons: dict[str, str] = field(default_factory=dict)  # target -> why


def _cells(headers: list[str], rows: list[list[str]], header: str, width: int) -> list[str]:
    """The stripped cells of a column, one per row (a short row's missing cell is blank);
    ``width`` is the shortest row's length. Row ``i`` of the list is the file's row
    ``i + 2`` (the header is row 1)."""
    i = headers.index(header)
    if width > i:  # every row has the cell: picked in C calls
        return list(map(str.strip, map(itemgetter(i), rows)))
    return [(cells[i] if i < len(cells) else "").strip() for cells in rows]


def _float(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _numbers(cells: list[str]) -> npt.NDArray[np.float64]:
    """The non-blank cells that read as numbers (a decimal comma too).

    A column of plain numbers (the common case: 100,000 coordinates) is parsed by numpy in
    one call; any other cell sends the column through :func:`_float`, cell by cell.
    """
    filled = list(filter(None, cells))
    try:
        return np.asarray(filled, dtype=np.float64)
    except ValueError:
        return np.asarray([v for t in filled if (v := _float(t)) is not None], np.float64)


def check_guess(guessed: Mapping[str, str], headers: list[str],
                rows: list[list[str]]) -> CheckedGuess:
    """Drop guessed columns whose data contradicts the field they were guessed for.

    An external-id column must be unique in the file; a stage column must hold stages in
    most of its cells; "latitude/longitude" beyond ±90/±180 are grid metres (moved to x/y).
    Each check reads the whole column (a guess is judged on all of the data, not a sample)
    in C calls where the data is as expected; only a column that fails is walked row by
    row, to name its rows.
    """
    mapping = dict(guessed)
    reasons: dict[str, str] = {}
    width = min(map(len, rows), default=0)
    ext = mapping.get("external_id")
    if ext:
        cells = _cells(headers, rows, ext, width)
        filled = list(filter(None, cells))
        if len(set(filled)) < len(filled):
            first: dict[str, int] = {}
            repeats: list[tuple[str, int, int]] = []
            for n, value in enumerate(cells, start=2):
                if not value:
                    continue
                if value in first:
                    repeats.append((value, first[value], n))
                else:
                    first[value] = n
            value, a, b = repeats[0]
            del mapping["external_id"]
            reasons["external_id"] = _(
                "%(column)s was not used as the external id: %(num)s of its %(total)s values "
                "repeat (e.g. %(value)s in rows %(a)s and %(b)s), and an external id must name "
                "one record. Map another column, or none.", column=repr(ext), num=len(repeats),
                total=len(first) + len(repeats), value=repr(value), a=a, b=b)
    stage = mapping.get("stage")
    if stage:
        cells = _cells(headers, rows, stage, width)
        counts = Counter(filter(None, cells))
        unknown = [v for v in counts if v.lower() not in STAGES]  # in order of first sight
        # Mostly stages: the stage column, whose odd values are rejected row by row. Mostly
        # something else ('open', 'closed'): another column that happens to be named so.
        if sum(counts[v] for v in unknown) * 2 > counts.total():
            del mapping["stage"]
            examples = _(", ").join(
                _("%(value)s (row %(num)s)", value=repr(v), num=cells.index(v) + 2)
                for v in unknown[:3])
            reasons["stage"] = _(
                "%(column)s was not used as the stage: it holds values that are not stages "
                "(%(examples)s; stages are %(stages)s). New accounts start as leads.",
                column=repr(stage), examples=examples, stages=", ".join(STAGES))
    lat, lon = mapping.get("lat"), mapping.get("lon")
    if lat and lon:
        ys = _numbers(_cells(headers, rows, lat, width))
        xs = _numbers(_cells(headers, rows, lon, width))
        outside = int((np.abs(ys) > 90).sum() + (np.abs(xs) > 180).sum())
        if len(ys) and len(xs) and outside > (len(ys) + len(xs)) // 2:
            del mapping["lat"], mapping["lon"]
            mapping["x"], mapping["y"] = lon, lat
            reasons["x"] = _(
                "%(lon)s and %(lat)s hold values such as %(x)s, %(y)s, which are not degrees: "
                "they are mapped as x/y. Enter their coordinate system (the EPSG code the "
                "publisher states; it is never guessed).", lon=repr(lon), lat=repr(lat),
                x=f"{xs[0]:g}", y=f"{ys[0]:g}")
    return CheckedGuess(mapping, reasons)
