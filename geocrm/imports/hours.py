"""A checker for OpenStreetMap ``opening_hours`` values, strict enough to catch garbage.

It does not evaluate the hours; it tells whether a value is made of the syntax's pieces
(weekday and month selectors, times, ``off``/``closed``, ``24/7``) with sane clock times, so
an import can refuse "sometimes" or "25:00-26:00" while accepting the forms real data uses,
including the common "Mo-Fr 09:00-17:00, Sa 10:00-14:00" with a comma between rules.
"""

from __future__ import annotations

import functools
import re

_TOKEN = re.compile(
    r"""
    (?P<time>\d{1,2}:\d{2}\+?)
  | (?P<day>Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)\b
  | (?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b
  | (?P<word>24/7|off|closed|open|unknown|sunrise|sunset|dawn|dusk|week|easter)\b
  | (?P<num>\d{1,4})
  | (?P<punct>[-,;:/\[\]+]|\|\|)
  | (?P<comment>"[^"]*")
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\+?\s*-\s*(\d{1,2}):(\d{2})")


@functools.lru_cache(maxsize=4096)  # shops share a few dozen distinct values
def opening_hours_error(value: str) -> str | None:
    """``None`` when ``value`` looks like valid opening_hours, else the reason it does not."""
    text = value.strip()
    if not text:
        return None
    pos = 0
    has_time_or_word = False
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return f"cannot read {text[pos:pos + 15]!r} (expected e.g. 'Mo-Fr 09:00-17:00')"
        if m.lastgroup in ("time", "word"):
            has_time_or_word = True
        pos = m.end()
    if not has_time_or_word:
        return "no opening times (expected e.g. 'Mo-Fr 09:00-17:00' or 'off')"
    for m in re.finditer(r"\d{1,2}:\d{2}", text):
        hours, minutes = (int(x) for x in m.group().split(":"))
        if minutes > 59 or hours > 48:
            return f"{m.group()} is not a clock time"
    for m in _RANGE.finditer(text):
        start = int(m.group(1)) * 60 + int(m.group(2))
        if start > 24 * 60:
            return f"{m.group(1)}:{m.group(2)} is after midnight; a range must start by 24:00"
    return None
