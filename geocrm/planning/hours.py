"""The planner evaluates opening hours with the shared grammar in :mod:`geocrm.core.hours`.

Kept as the planner's name for it; the grammar itself lives in one place, so every value the
import accepts turns into time windows here.
"""

from __future__ import annotations

from geocrm.core.hours import DAY_S, Window, windows_on

__all__ = ["DAY_S", "Window", "windows_on"]
