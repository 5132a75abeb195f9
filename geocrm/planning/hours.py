"""Opening hours on a given day, as the time windows the planner needs.

``geocrm.imports.hours`` only checks that an OpenStreetMap ``opening_hours`` value is well
formed; planning has to *evaluate* it: "Mo-Fr 09:00-12:00,13:00-17:00; Sa 10:00-14:00" on a
Friday is two windows with a lunch closure between them. This covers the forms shop data
really uses — weekday lists and ranges (wrapping "Sa-Mo"), several time ranges, ``off`` /
``closed``, ``24/7``, open ends ("18:00+"), ranges past midnight, month selectors and
month-day dates ("Dec 24-26 off"), later rules overriding earlier ones for their days and
``,``-joined rules adding to them. Anything it does not understand — public holidays,
``[n]`` weekday qualifiers, week numbers, sun times — makes :func:`windows_on` answer
``None`` ("unknown"), and the planner says so instead of guessing.
"""

from __future__ import annotations

import re
from datetime import date

DAY_S = 24 * 3600
WEEKDAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
Window = tuple[int, int]

_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*(?:-\s*(\d{1,2}):(\d{2})|(\+))$")
_WEEKDAY_ITEM = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$")
_MONTH_ITEM = re.compile(
    r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?:\s+(\d{1,2}))?"
    r"(?:\s*-\s*(?:(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s*)?(\d{1,2})?)?$"
)
_MONTH_PREFIX = re.compile(
    r"^((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[\s\d,\-A-Za-z]*?)"
    r"(?=\s+(?:Mo|Tu|We|Th|Fr|Sa|Su|off|closed|open)\b|\s+\d{1,2}:\d{2}|$)"
)
# A comma that starts a new (additional) rule rather than another time or weekday.
_RULE_COMMA = re.compile(r"(?<=\d|f|d)\s*,\s*(?=(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH|Jan|Feb|Mar|Apr|"
                         r"May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b)")


class Unknown(Exception):
    """A piece of the syntax this evaluator does not handle."""


def windows_on(value: str | None, day: date) -> list[Window] | None:
    """Open windows on ``day`` in seconds after midnight, merged and sorted.

    ``[]`` means closed all day; ``None`` means the value is empty or not understood (the
    caller decides what that means — the planner treats it as open, with a note).
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        return _evaluate(text, day)
    except Unknown:
        return None


def _evaluate(text: str, day: date) -> list[Window]:
    text = re.sub(r'"[^"]*"', "", text)  # comments
    result: list[Window] | None = None
    for rule_group in re.split(r";|\|\|", text):
        parts = [p.strip() for p in _RULE_COMMA.split(rule_group) if p.strip()]
        for index, rule in enumerate(parts):
            matched, windows = _rule(rule, day)
            if not matched:
                continue
            if index == 0 or result is None:
                result = windows  # a new rule replaces what earlier rules said about the day
            else:
                result = _merge(result + windows)  # an additional (",") rule adds to it
    return _merge(result or [])


def _rule(rule: str, day: date) -> tuple[bool, list[Window]]:
    """Whether ``rule`` speaks about ``day``, and the windows it gives that day."""
    if rule == "24/7":
        return True, [(0, DAY_S)]
    if "[" in rule or re.search(r"\b(PH|SH|week|easter|sunrise|sunset|dawn|dusk)\b", rule):
        # Holidays, nth weekdays, week numbers, sun times: only a pure weekday list that also
        # contains PH/SH ("Mo-Fr,PH 09:00-12:00") is still usable, for its weekdays.
        stripped = re.sub(r"\s*,\s*(?:PH|SH)\b|\b(?:PH|SH)\s*,\s*", "", rule).strip()
        if re.match(r"^(PH|SH)\b", stripped):
            return False, []  # a holiday-only rule: we do not know the holidays
        if stripped == rule or "[" in stripped or re.search(
            r"\b(PH|SH|week|easter|sunrise|sunset|dawn|dusk)\b", stripped
        ):
            raise Unknown(rule)
        rule = stripped
    rest = rule
    # A month selector first ("Jan-Mar", "Dec 24-26"), then a weekday selector, then times.
    month = _MONTH_PREFIX.match(rest)
    if month:
        if not _month_matches(month.group(1).strip(), day):
            return False, []
        rest = rest[month.end():].strip()
    tokens = rest.split(None, 1)
    if tokens and re.match(r"^(Mo|Tu|We|Th|Fr|Sa|Su)", tokens[0]):
        if not _weekday_matches(tokens[0], day):
            return False, []
        rest = tokens[1].strip() if len(tokens) > 1 else ""
    return True, _times(rest)


def _weekday_matches(selector: str, day: date) -> bool:
    wd = day.weekday()
    for item in selector.split(","):
        m = _WEEKDAY_ITEM.match(item.strip())
        if m is None:
            raise Unknown(selector)
        a = WEEKDAYS.index(m.group(1))
        b = WEEKDAYS.index(m.group(2)) if m.group(2) else a
        if (a <= b and a <= wd <= b) or (a > b and (wd >= a or wd <= b)):
            return True
    return False


def _month_matches(selector: str, day: date) -> bool:
    for item in selector.split(","):
        m = _MONTH_ITEM.match(item.strip())
        if m is None:
            raise Unknown(selector)
        m1 = MONTHS.index(m.group(1)) + 1
        d1 = int(m.group(2)) if m.group(2) else None
        m2 = MONTHS.index(m.group(3)) + 1 if m.group(3) else m1
        d2 = int(m.group(4)) if m.group(4) else None
        if d1 is None:  # month range: "Jan-Mar" or "Dec"
            if m.group(4) and not m.group(3):
                raise Unknown(selector)
            lo, hi = (m1, 1), (m2, 31)
        else:
            lo, hi = (m1, d1), (m2, d2 if d2 is not None else d1)
        here = (day.month, day.day)
        if (lo <= hi and lo <= here <= hi) or (lo > hi and (here >= lo or here <= hi)):
            return True
    return False


def _times(text: str) -> list[Window]:
    text = text.strip()
    if text in ("", "open"):
        return [(0, DAY_S)] if text == "open" else _missing_times()
    if text in ("off", "closed"):
        return []
    windows: list[Window] = []
    for item in text.split(","):
        m = _TIME_RANGE.match(item.strip())
        if m is None:
            raise Unknown(item)
        start = int(m.group(1)) * 3600 + int(m.group(2)) * 60
        if m.group(5):  # "18:00+": open end
            end = DAY_S
        else:
            end = int(m.group(3)) * 3600 + int(m.group(4)) * 60
            if end <= start:  # past midnight: the part that belongs to this day
                end = DAY_S
        if start >= DAY_S:
            raise Unknown(item)
        windows.append((start, min(end, DAY_S)))
    return windows


def _missing_times() -> list[Window]:
    # "Mo-Fr" with no times: OSM reads it as open all day on those days.
    return [(0, DAY_S)]


def _merge(windows: list[Window]) -> list[Window]:
    out: list[Window] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out
