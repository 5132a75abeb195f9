"""The one rule for colours that user data can set: ``#rrggbb`` or a palette colour.

A territory's colour goes into style attributes and map options, so it must never carry
anything but a hex colour; a missing or bad one falls back to the palette by index (the
territory id where there is one), so the territory map and the territory editor draw the
same territory in the same colour.
"""

from __future__ import annotations

import re

from geocrm.errors import ValidationError

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Distinguishable colours for territories and reps (matplotlib's tab10).
PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                            "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def palette_colour(index: int) -> str:
    """The palette colour for ``index`` (any int; it wraps around)."""
    return PALETTE[index % len(PALETTE)]


def safe_colour(colour: str | None, fallback_index: int = 0) -> str:
    """``colour`` as lowercase ``#rrggbb`` when it is one, else the palette colour for the index."""
    if colour and HEX_COLOUR.match(colour):
        return colour.lower()
    return palette_colour(fallback_index)


def check_colour(colour: object, field: str = "color") -> str:
    """A colour a user typed, as lowercase ``#rrggbb``; anything else is a 422 naming the field."""
    text = str(colour or "").strip()
    if not HEX_COLOUR.match(text):
        raise ValidationError(field, "a colour like #1f77b4")
    return text.lower()


# -- map palettes: every marker colour and legend swatch comes from here -----------------------
#: The grey of "no value" (no owner, never visited, field empty, outside every territory).
NO_VALUE_COLOUR = "#9ca3af"
#: The sales stages, in funnel order.
STAGE_COLOURS: dict[str, str] = {"lead": "#6b7280", "prospect": "#d97706",
                                 "customer": "#15803d", "lost": "#b91c1c"}
#: Five steps from low to high (ColorBrewer YlGnBu, readable on light and dark tiles) for
#: numbers: value, numeric custom fields.
SEQUENTIAL: tuple[str, ...] = ("#a1dab4", "#41b6c4", "#2c7fb8", "#253494", "#081d58")
#: Five steps from fresh to stale (ColorBrewer RdYlGn reversed) for the days since a visit.
AGE: tuple[str, ...] = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")


def stage_colour(stage: str) -> str:
    """The marker colour of a sales stage (grey for one this version does not know)."""
    return STAGE_COLOURS.get(stage, NO_VALUE_COLOUR)


def categorical_colours(count: int) -> list[str]:
    """``count`` distinguishable colours for unordered categories (owners, field values)."""
    return [palette_colour(i) for i in range(count)]
