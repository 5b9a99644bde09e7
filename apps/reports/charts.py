"""Inline SVG charts for PDF reports in the firm's colours: no scripts, every text escaped.

``apps.common.charts`` draws the pages' bars in fixed colours; reports need the tenant's
palette, paired bars (actual vs target) and range plots (dispersion), so they live here.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.reports.models import HEX_COLOUR

GRID = "#d9dde3"
INK = "#1d2733"
MUTED = "#6b7785"


def _colour(value: str, fallback: str) -> str:
    try:
        HEX_COLOUR(value)
    except Exception:  # a bad colour never reaches the SVG
        return fallback
    return value


def _svg_open(title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="DejaVu Sans, sans-serif" font-size="9">',
        f"<title>{escape(title)}</title>",
    ]


@dataclass(frozen=True)
class PairedBar:
    """One row: a label, the actual fraction and the target fraction (None: no target)."""

    label: str
    actual: float
    target: float | None


def paired_bars(
    rows: Sequence[PairedBar],
    *,
    title: str,
    primary: str,
    secondary: str,
    width_px: int = 620,
    label_px: int = 150,
    row_px: int = 22,
) -> SafeString:
    """Actual (primary colour) and target (secondary colour) bars per row, with a legend.

    ``row_px`` below 22 packs the rows (thinner bars) so a 50-name account fits half a page.
    """
    primary, secondary = _colour(primary, "#1f3a5f"), _colour(secondary, "#c8a04a")
    row_h, value_w, legend_h = row_px, 92, 18
    gap = 8 if row_h >= 22 else 4
    bar_h, bar_top = (row_h - gap) // 2, gap * 3 // 8
    text_dy = row_h // 2 + 2
    plot_w = width_px - label_px - value_w
    top = max([r.actual for r in rows] + [r.target or 0.0 for r in rows] + [1e-9])
    height = legend_h + row_h * len(rows) + 4
    parts = _svg_open(title, width_px, height)
    parts.append(
        f'<rect x="{label_px}" y="3" width="10" height="9" fill="{primary}"/>'
        f'<text x="{label_px + 14}" y="11" fill="{INK}">Actual</text>'
        f'<rect x="{label_px + 64}" y="3" width="10" height="9" fill="{secondary}"/>'
        f'<text x="{label_px + 78}" y="11" fill="{INK}">Target</text>'
    )
    for i, row in enumerate(rows):
        y = legend_h + i * row_h
        actual_w = max(row.actual, 0.0) / top * plot_w
        parts.append(
            f'<line x1="{label_px}" x2="{label_px + plot_w}" y1="{y + row_h - 1}" '
            f'y2="{y + row_h - 1}" stroke="{GRID}" stroke-width="0.5"/>'
            f'<text x="{label_px - 6}" y="{y + text_dy}" text-anchor="end" fill="{INK}">'
            f"{escape(row.label[:28])}</text>"
            f'<rect x="{label_px}" y="{y + bar_top}" width="{actual_w:.1f}" '
            f'height="{bar_h}" fill="{primary}"/>'
        )
        target_text = "—"
        if row.target is not None:
            target_w = max(row.target, 0.0) / top * plot_w
            parts.append(
                f'<rect x="{label_px}" y="{y + bar_top + bar_h + 1}" width="{target_w:.1f}" '
                f'height="{bar_h}" fill="{secondary}"/>'
            )
            target_text = f"{row.target:.1%}"
        parts.append(
            f'<text x="{label_px + plot_w + 6}" y="{y + text_dy}" fill="{INK}">{row.actual:.1%}'
            f'<tspan fill="{MUTED}"> / {target_text}</tspan></text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above  # nosec B308 B703


@dataclass(frozen=True)
class RangeRow:
    """One distribution: a label and its min, 25th percentile, median, 75th, max (fractions)."""

    label: str
    low: float
    q1: float
    median: float
    q3: float
    high: float


def range_plot(
    rows: Sequence[RangeRow],
    *,
    title: str,
    primary: str,
    secondary: str,
    width_px: int = 620,
    label_px: int = 170,
) -> SafeString:
    """Box-and-whisker rows on one shared axis (percent), e.g. before/after a run."""
    primary, secondary = _colour(primary, "#1f3a5f"), _colour(secondary, "#c8a04a")
    row_h, pad, axis_h = 24, 40, 16
    plot_w = width_px - label_px - pad
    lo = min([r.low for r in rows] + [0.0])
    hi = max([r.high for r in rows] + [1e-9])
    span = hi - lo or 1e-9

    def x(v: float) -> float:
        return label_px + (v - lo) / span * plot_w

    height = axis_h + row_h * len(rows) + 4
    parts = _svg_open(title, width_px, height)
    for k in range(5):
        v = lo + span * k / 4
        parts.append(
            f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{axis_h}" y2="{height}" '
            f'stroke="{GRID}" stroke-width="0.5"/>'
            f'<text x="{x(v):.1f}" y="10" text-anchor="middle" fill="{MUTED}">{v:.1%}</text>'
        )
    for i, row in enumerate(rows):
        y = axis_h + i * row_h + row_h / 2
        fill = secondary if i % 2 else primary
        parts.append(
            f'<text x="{label_px - 6}" y="{y + 3}" text-anchor="end" fill="{INK}">'
            f"{escape(row.label[:32])}</text>"
            f'<line x1="{x(row.low):.1f}" x2="{x(row.high):.1f}" y1="{y}" y2="{y}" '
            f'stroke="{INK}" stroke-width="1"/>'
            f'<rect x="{x(row.q1):.1f}" y="{y - 6}" width="{max(x(row.q3) - x(row.q1), 1):.1f}" '
            f'height="12" fill="{fill}" opacity="0.85"/>'
            f'<line x1="{x(row.median):.1f}" x2="{x(row.median):.1f}" y1="{y - 7}" '
            f'y2="{y + 7}" stroke="#ffffff" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above  # nosec B308 B703


@dataclass(frozen=True)
class SignedBar:
    """One row of a signed bar chart: a label and an amount (USD, negative allowed)."""

    label: str
    amount: float
    is_total: bool = False


def signed_bars(
    rows: Sequence[SignedBar],
    *,
    title: str,
    primary: str,
    secondary: str,
    width_px: int = 620,
    label_px: int = 190,
) -> SafeString:
    """Bars from a zero line: gains right (primary colour), costs left (secondary), USD labels.

    Totals are drawn darker and their labels bold. The scale is the largest magnitude shown.
    """
    primary, secondary = _colour(primary, "#1f3a5f"), _colour(secondary, "#c8a04a")
    row_h, value_w = 18, 90
    plot_w = width_px - label_px - value_w
    top = max([abs(r.amount) for r in rows] + [1e-9])
    negative = any(r.amount < 0 for r in rows)
    zero = label_px + (plot_w / 2 if negative else 0)
    half = plot_w / 2 if negative else plot_w
    height = row_h * len(rows) + 6
    parts = _svg_open(title, width_px, height)
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}" stroke="{MUTED}" '
        'stroke-width="0.7"/>'
    )
    for i, row in enumerate(rows):
        y = 3 + i * row_h
        w = abs(row.amount) / top * half
        x = zero if row.amount >= 0 else zero - w
        fill = primary if row.amount >= 0 else secondary
        weight = ' font-weight="bold"' if row.is_total else ""
        parts.append(
            f'<text x="{label_px - 6}" y="{y + 10}" text-anchor="end" fill="{INK}"{weight}>'
            f"{escape(row.label[:34])}</text>"
            f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{10 if row.is_total else 8}" '
            f'fill="{fill}" fill-opacity="{1 if row.is_total else 0.75}"/>'
            f'<text x="{label_px + plot_w + 6}" y="{y + 10}" fill="{INK}"{weight}>'
            f"{escape(f'{row.amount:,.2f}')}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above  # nosec B308 B703


def taxes_saved_bars(
    years: Sequence[tuple[str, Any]], *, title: str, primary: str, secondary: str
) -> SafeString:
    """The taxes-saved decomposition as signed bars, five per labelled year (USD).

    Each item of ``years`` is ``(label, figures)`` where ``figures`` has ``permanent``,
    ``deferral_value``, ``trading_costs``, ``fees`` and ``net_saved`` (an account's year or
    the firm's totals for a year): the client and firm PDFs draw the same bars.
    """
    return signed_bars(
        [
            SignedBar(f"{label} {name}", float(amount), is_total)
            for label, y in years
            for name, amount, is_total in (
                ("permanent", y.permanent, False),
                ("value of deferring", y.deferral_value, False),
                ("trading costs", -y.trading_costs, False),
                ("fees", -y.fees, False),
                ("net", y.net_saved, True),
            )
        ],
        title=title,
        primary=primary,
        secondary=secondary,
    )
