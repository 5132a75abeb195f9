"""Every CSV the app writes, through one writer that defuses spreadsheet formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets ("CSV injection"): an account named ``=HYPERLINK(...)``
typed by anyone, or a row of an imported file, would run on the manager's machine when they open
an export or a reject report. Numbers keep their sign (``-12.5`` is data, not a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from geocrm.params import is_number

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """One cell as text a spreadsheet shows rather than runs."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.replace(microsecond=0).isoformat(sep=" ")
    elif hasattr(value, "value") and not isinstance(value, Decimal):  # enums
        text = str(value.value)
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS) and not is_number(text):
        return "'" + text
    return text


class SafeWriter:
    """``csv.writer`` with every cell passed through :func:`safe_cell` (header rows too)."""

    def __init__(self, out: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lineterminator", "\r\n")
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_string(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document (header first) as one string, every cell made safe."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
