"""The planner evaluates opening hours with the shared grammar in :mod:`geocrm.core.hours`.

The grammar lives in one place, so every value the import accepts turns into time windows
here. What the planner adds is the company's setting: ``GEOCRM_HOLIDAY_COUNTRY`` (an ISO
code such as ``FI``) makes ``PH`` rules ("PH off") follow that country's public holidays;
without it a ``PH`` rule never matches.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, has_app_context

from geocrm.core.hours import DAY_S, Window
from geocrm.core.hours import windows_on as _windows_on

__all__ = ["DAY_S", "Window", "holiday_country", "windows_on"]


def holiday_country() -> str | None:
    """The configured country for public holidays, if any."""
    if not has_app_context():
        return None
    return (current_app.config.get("GEOCRM_HOLIDAY_COUNTRY") or "").strip().upper() or None


def windows_on(value: str | None, day: date) -> list[Window] | None:
    """Open windows on ``day`` (seconds after midnight); ``None`` = unknown. See core.hours."""
    return _windows_on(value, day, country=holiday_country())
