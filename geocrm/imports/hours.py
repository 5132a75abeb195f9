"""The import checks opening hours with the shared grammar in :mod:`geocrm.core.hours`.

Kept as the import's name for it; the rule itself lives in one place, so whatever the import
accepts the planner can evaluate.
"""

from __future__ import annotations

from geocrm.core.hours import normalise, opening_hours_error

__all__ = ["normalise", "opening_hours_error"]
