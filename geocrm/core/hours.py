"""Opening hours: one grammar for what the import accepts and what the planner evaluates.

Values are OpenStreetMap ``opening_hours`` ("Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off",
"24/7", "Mo-Fr 09:00-12:00,13:00-17:00", "Dec 24-26 off", "Mo[1] 10:00-12:00",
"sunrise-sunset") because that is what shop, register and OSM data carry. Both sides read
them with one well-kept parser and evaluator, ``opening-hours-py`` (the Rust ``opening_hours``
crate), so a value the import accepts is, by construction, a value the planner can turn into
time windows — before, the import had a tokenizer of its own and the planner a partial
evaluator, and the planner answered "unknown" for values the import had let in ("PH off",
``Mo[1]``, week numbers, sun times).

On top of the syntax, one house rule for data entry: a value must say *when* (a time,
``24/7``, or a state such as ``off``/``closed``/``open``); a bare "Mo-Fr" is valid OSM ("open
all day on weekdays") but in a customer file it is almost always a truncated value.

Public holidays (``PH``) need a country; without one a ``PH`` rule simply never matches (so
"Mo-Fr 09:00-17:00; PH off" is open on weekdays). Sun times are exact when the place's
coordinates and time zone are given, and otherwise use the library's defaults (07:00/19:00).
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import opening_hours as oh

DAY_S = 24 * 3600
Window = tuple[int, int]

# A value must say when: a clock time, 24/7, a state word or a sun event.
_SAYS_WHEN = re.compile(r"\d{1,2}:\d{2}|24/7|\b(?:off|closed|open|unknown|sunrise|sunset|dawn|"
                        r"dusk)\b", re.IGNORECASE)
_MAX_LEN = 500
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_RANGE = re.compile(r"\b(\d{1,2}):(\d{2})\+?\s*-\s*\d{1,2}:\d{2}")


def _clean(value: str | None) -> str:
    """Whitespace trimmed and a trailing rule separator dropped ("Mo-Fr 09:00-17:00;" is common)."""
    return re.sub(r"[\s;]+$", "", (value or "").strip())


@functools.lru_cache(maxsize=8192)  # shops share a few hundred distinct values
def _parse(text: str, country: str | None, coords: tuple[float, float] | None,
           zone: str | None) -> oh.OpeningHours:
    kwargs: dict[str, object] = {}
    if country:
        kwargs["country"] = country
    if coords is not None and zone:
        kwargs.update(coords=coords, timezone=ZoneInfo(zone), auto_country=False)
    return oh.OpeningHours(text, **kwargs)


def _reason(exc: Exception) -> str:
    """The parser's message cut to the line that points at the problem."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip().startswith("=")]
    where = re.search(r"--> \d+:(\d+)", str(exc))
    detail = lines[0].lstrip("= ").strip() if lines else "not valid opening_hours"
    column = f" at character {where.group(1)}" if where else ""
    return f"cannot read it{column}: {detail} (expected e.g. 'Mo-Fr 09:00-17:00; Sa 10:00-14:00')"


@functools.lru_cache(maxsize=4096)  # an import checks the same few values 100,000 times
def opening_hours_error(value: str | None) -> str | None:
    """``None`` when ``value`` is empty or good opening_hours, else why it is not (for rejects)."""
    text = _clean(value)
    if not text:
        return None
    if len(text) > _MAX_LEN:
        return f"is longer than {_MAX_LEN} characters"
    for m in _CLOCK.finditer(text):  # the clearest message for the commonest mistakes first
        hours, minutes = int(m.group(1)), int(m.group(2))
        if minutes > 59 or hours > 48:
            return f"{m.group()} is not a clock time"
    for m in _RANGE.finditer(text):
        if int(m.group(1)) * 60 + int(m.group(2)) > 24 * 60:
            return f"{m.group(1)}:{m.group(2)} is after midnight; a range must start by 24:00"
    try:
        _parse(text, None, None, None)
    except (oh.ParserError, SyntaxError, ValueError) as exc:
        return _reason(exc)
    if not _SAYS_WHEN.search(re.sub(r'"[^"]*"', "", text)):
        return "no opening times (expected e.g. 'Mo-Fr 09:00-17:00' or 'off')"
    return None


def normalise(value: str | None) -> str | None:
    """The canonical spelling of a good value ("mo-fr 9:00 - 17:00" -> "Mo-Fr 09:00-17:00")."""
    text = _clean(value)
    if not text or opening_hours_error(text) is not None:
        return None
    return str(_parse(text, None, None, None).normalize())


def windows_on(value: str | None, day: date, *, country: str | None = None,
               coords: tuple[float, float] | None = None,
               zone: str | None = None) -> list[Window] | None:
    """Open windows on ``day`` in seconds after local midnight, merged and sorted.

    ``[]`` means closed all day; ``None`` means the value is empty, not valid, or says the
    state is unknown that day ("Mo-Fr unknown") — the planner treats it as open, with a note.
    A range past midnight gives this day its evening part and the next day its early part.
    """
    text = _clean(value)
    if not text:
        return None
    key_coords = None if coords is None else (round(coords[0], 2), round(coords[1], 2))
    try:
        hours = _parse(text, country or None, key_coords if zone else None, zone)
    except (oh.ParserError, oh.UnknownCountryError, SyntaxError, ValueError):
        return None
    tz = ZoneInfo(zone) if zone and key_coords is not None else None
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = start + timedelta(days=1)
    windows: list[Window] = []
    for lo, hi, state, _comment in hours.intervals(start, end):
        if state == oh.State.UNKNOWN:
            return None
        if state == oh.State.OPEN:
            a = max(0, int((lo - start).total_seconds()))
            b = min(DAY_S, int((hi - start).total_seconds()))
            if b > a:
                windows.append((a, b))
    return _merge(windows)


def _merge(windows: list[Window]) -> list[Window]:
    out: list[Window] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
