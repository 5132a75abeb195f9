"""The plan maps' plain values that more than one module reads.

The routes themselves travel as data (``geocrm.planning.page_data``) and are drawn by the
page's module (``geocrm/planning/static/plan_page.js``); folium builds only the bare map
with the configured base layer (``geocrm.planning.page_data.route_frame``).
"""

from __future__ import annotations

from dataclasses import dataclass

UNASSIGNED_COLOUR = "#6b7280"


@dataclass(frozen=True)
class LeftOut:
    """A visit left out of the plan, where it is and why (for the grey markers)."""

    lat: float
    lon: float
    name: str
    reason: str
