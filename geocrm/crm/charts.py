"""Server-side charts: small inline SVG bar charts, no JavaScript and no CDN.

The SVG is built from escaped text only (labels are user data: territory and rep names),
and returned as :class:`markupsafe.Markup` so templates can place it without ``|safe``.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_H = 22
GAP = 6
LABEL_W = 190
BAR_W = 420


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``; an accessible title and values as text."""
    if not items:
        return Markup("")
    top = max_value if max_value is not None else max((v for _, v in items), default=0.0)
    top = top if top > 0 else 1.0
    height = len(items) * (BAR_H + GAP) + GAP
    width = LABEL_W + BAR_W + 110
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR_H + GAP)
        w = max(0.0, min(1.0, value / top)) * BAR_W
        short = label if len(label) <= 28 else label[:27] + "…"
        shown = f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.7:.1f}" text-anchor="end" '
            f'font-size="13">{escape(short)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="#0b5cad" '
            f'rx="3"><title>{escape(label)}: {escape(shown)} {escape(unit)}</title></rect>'
            f'<text x="{LABEL_W + w + 6:.1f}" y="{y + BAR_H * 0.7:.1f}" font-size="13">'
            f"{escape(shown)} {escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
