"""Inline SVG charts for pages and PDF reports: no JavaScript, accessible, escaped."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_COLOUR = "#1f5fbf"
TARGET_COLOUR = "#d97706"


@dataclass(frozen=True)
class Bar:
    """One bar: a label, its value (a fraction, e.g. a weight) and an optional target marker."""

    label: str
    value: float
    target: float | None = None


def horizontal_bars(bars: Sequence[Bar], *, title: str, width_px: int = 640) -> SafeString:
    """Horizontal bar chart of fractions (0..1 scaled to the largest), with target ticks.

    Args:
        bars: the bars, top to bottom.
        title: accessible name of the chart (``aria-label`` and ``<title>``).
        width_px: drawing width in CSS pixels.

    Returns:
        An ``<svg>`` element safe to insert in a template.
    """
    row_h, label_w, value_w = 18, 70, 60
    plot_w = width_px - label_w - value_w
    top = max([b.value for b in bars] + [b.target or 0.0 for b in bars] + [1e-9])
    height = row_h * len(bars) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width_px}" height="{height}" viewBox="0 0 {width_px} {height}" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = i * row_h + 2
        w = max(bar.value, 0.0) / top * plot_w
        parts.append(
            f'<text x="0" y="{y + 12}">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{BAR_COLOUR}"><title>{escape(bar.label)}: {bar.value:.2%}</title></rect>'
            f'<text x="{label_w + plot_w + 6}" y="{y + 12}">{bar.value:.1%}</text>'
        )
        if bar.target is not None:
            x = label_w + max(bar.target, 0.0) / top * plot_w
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + row_h - 2}" '
                f'stroke="{TARGET_COLOUR}" stroke-width="2"><title>target {bar.target:.2%}'
                "</title></line>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above  # nosec B308 B703
