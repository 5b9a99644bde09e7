"""The side-by-side markdown report with hand-written SVG charts (no plotting library needed).

``write_report`` writes into ``out_dir``: ``report.md``, ``summary.json`` (every headline figure
and the summary line) and the charts ``dispersion_by_year.svg``, ``taxes_by_year.svg``,
``harvest_by_month.svg``, ``active_weight_dispersion.svg`` and ``tracking_error.svg``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path

from apps.backtest.book import SimAccount
from apps.backtest.data import PriceData
from apps.backtest.metrics import BacktestResult, PolicyFigures, dispersion_of

COLORS = {"ours": "#1f6fb4", "naive": "#d9822b"}
LABELS = {"ours": "ours (optimizer)", "naive": "advisor baseline"}
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 34, 50


def _axis(values: Sequence[float]) -> tuple[float, float]:
    low = min(0.0, *values) if values else 0.0
    high = max(0.0, *values) if values else 1.0
    if high == low:
        high = low + 1.0
    pad = (high - low) * 0.08
    return low - (pad if low < 0 else 0.0), high + pad


def _frame(title: str, low: float, high: float, fmt: Callable[[float], str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
    ]
    for k in range(5):
        value = low + (high - low) * k / 4
        y = TOP + plot_h * (1 - k / 4)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>'
        )
    return parts


def _legend(parts: list[str], names: Sequence[str]) -> None:
    for k, name in enumerate(names):
        x = LEFT + 10 + k * 170
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" fill="{COLORS[name]}"/>'
        )
        parts.append(f'<text x="{x + 14}" y="{HEIGHT - 7}">{escape(LABELS[name])}</text>')


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: Callable[[float], str],
) -> str:
    """Grouped bars: one group per category, one bar per series."""
    values = [v for vs in series.values() for v in vs]
    low, high = _axis(values)
    parts = _frame(title, low, high, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / max(len(categories), 1)
    bar = group * 0.8 / max(len(series), 1)

    def y_of(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    zero = y_of(0.0)
    step = max(1, math.ceil(len(categories) / 18))
    for c, category in enumerate(categories):
        x0 = LEFT + group * c + group * 0.1
        for s, (name, vs) in enumerate(series.items()):
            v = vs[c]
            top = min(y_of(v), zero)
            parts.append(
                f'<rect x="{x0 + s * bar:.1f}" y="{top:.1f}" width="{bar * 0.95:.1f}" '
                f'height="{abs(y_of(v) - zero):.1f}" fill="{COLORS[name]}"/>'
            )
        if c % step == 0:
            parts.append(
                f'<text x="{x0 + group * 0.4:.1f}" y="{HEIGHT - BOTTOM + 14}" '
                f'text-anchor="middle">{escape(category)}</text>'
            )
    _legend(parts, list(series))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: Callable[[float], str],
) -> str:
    """One polyline per series over shared x positions."""
    values = [v for vs in series.values() for v in vs if not math.isnan(v)]
    low, high = _axis(values)
    parts = _frame(title, low, high, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(x_labels), 2)
    step = max(1, math.ceil(len(x_labels) / 9))
    for k, label in enumerate(x_labels):
        if k % step == 0:
            x = LEFT + plot_w * k / (count - 1)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for name, vs in series.items():
        points = " ".join(
            f"{LEFT + plot_w * k / (max(len(vs), 2) - 1):.1f},"
            f"{TOP + plot_h * (high - v) / (high - low):.1f}"
            for k, v in enumerate(vs)
            if not math.isnan(v)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{COLORS[name]}" stroke-width="2"/>'
        )
    _legend(parts, list(series))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _pct(value: float, places: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.{places}f}%"


def _usd(value: float) -> str:
    return f"{value:,.0f}"


def _reduction(ours: float, naive: float) -> str:
    if naive == 0 or math.isnan(naive) or math.isnan(ours):
        return "n/a"
    return f"{(1 - ours / naive) * 100:.0f}%"


def _charts(result: BacktestResult, data: PriceData) -> dict[str, str]:
    ours, naive = result.policies["ours"], result.policies["naive"]
    years = sorted(set(ours.dispersion_by_year) | set(naive.dispersion_by_year))
    charts = {
        "dispersion_by_year.svg": bar_chart(
            "Cross-account std of calendar-year returns",
            [str(y) for y in years],
            {
                p.policy: [p.dispersion_by_year.get(y, (0.0, 0))[0] for y in years]
                for p in (ours, naive)
            },
            lambda v: f"{v * 100:.1f}%",
        ),
    }
    tax_years = sorted(set(ours.taxes_by_year) | set(naive.taxes_by_year))
    charts["taxes_by_year.svg"] = bar_chart(
        "Taxes on realized gains, whole book (USD, with carryover)",
        [str(y) for y in tax_years],
        {p.policy: [p.taxes_by_year.get(y, 0.0) for y in tax_years] for p in (ours, naive)},
        lambda v: f"{v / 1e6:.1f}M",
    )
    months = sorted({m for p in (ours, naive) for m, _ in p.harvest_by_month})
    charts["harvest_by_month.svg"] = bar_chart(
        f"Losses realized per month, % of value ({result.cohort_label})",
        months,
        {p.policy: [dict(p.harvest_by_month).get(m, 0.0) for m in months] for p in (ours, naive)},
        lambda v: f"{v * 100:.1f}%",
    )
    days = sorted({t for p in (ours, naive) for t, _ in p.active_weight_dispersion_series})
    charts["active_weight_dispersion.svg"] = line_chart(
        "Cross-account std of weights, mean over names (month ends)",
        [data.dates[t].strftime("%Y-%m") for t in days],
        {
            p.policy: [dict(p.active_weight_dispersion_series).get(t, math.nan) for t in days]
            for p in (ours, naive)
        },
        lambda v: f"{v * 100:.2f}%",
    )
    te = {
        policy: sorted(
            f.tracking_error
            for f in result.per_account
            if f.policy == policy and not math.isnan(f.tracking_error)
        )
        for policy in ("ours", "naive")
    }
    charts["tracking_error.svg"] = line_chart(
        "Tracking error per account, sorted (annualised)",
        [str(k + 1) for k in range(max(len(v) for v in te.values()))],
        te,
        lambda v: f"{v * 100:.1f}%",
    )
    return charts


def _table(ours: PolicyFigures, naive: PolicyFigures, result: BacktestResult) -> list[str]:
    s = result.saved_vs_fees
    rows = [
        (
            "Dispersion of annual returns (mean over years)",
            _pct(ours.dispersion),
            _pct(naive.dispersion),
            _reduction(ours.dispersion, naive.dispersion),
        ),
        (
            "Dispersion of annual returns, composite members (transition finished)",
            _pct(ours.dispersion_composite),
            _pct(naive.dispersion_composite),
            _reduction(ours.dispersion_composite, naive.dispersion_composite),
        ),
        (
            "Dispersion of annual returns, cash-funded accounts",
            _pct(ours.dispersion_cash),
            _pct(naive.dispersion_cash),
            _reduction(ours.dispersion_cash, naive.dispersion_cash),
        ),
        (
            "Dispersion of weights (mean over names, month ends)",
            _pct(ours.active_weight_dispersion),
            _pct(naive.active_weight_dispersion),
            _reduction(ours.active_weight_dispersion, naive.active_weight_dispersion),
        ),
        (
            "Tracking error vs model (mean / median)",
            f"{_pct(ours.tracking_error)} / {_pct(ours.tracking_error_median)}",
            f"{_pct(naive.tracking_error)} / {_pct(naive.tracking_error_median)}",
            _reduction(ours.tracking_error, naive.tracking_error),
        ),
        (
            "Taxes paid on realized gains (USD, with carryover)",
            _usd(ours.tax_total),
            _usd(naive.tax_total),
            _reduction(ours.tax_total, naive.tax_total),
        ),
        (
            "Tax if liquidated on the last day (USD)",
            _usd(ours.liquidation_tax),
            _usd(naive.liquidation_tax),
            "",
        ),
        (
            "Loss carryover left at the end (USD)",
            _usd(ours.carryover_end),
            _usd(naive.carryover_end),
            "",
        ),
        ("Losses realized (USD)", _usd(ours.losses_realized), _usd(naive.losses_realized), ""),
        ("Wash-sale disallowed (USD)", _usd(ours.wash_disallowed), _usd(naive.wash_disallowed), ""),
        (
            f"Peak month of losses realized, % of value ({result.cohort_label})",
            f"{_pct(ours.harvest_peak_month)} ({ours.harvest_peak_label})",
            f"{_pct(naive.harvest_peak_month)} ({naive.harvest_peak_label})",
            "",
        ),
        (
            "Pre-tax return (mean, cumulative)",
            _pct(ours.pre_tax_return),
            _pct(naive.pre_tax_return),
            "",
        ),
        (
            "After-tax return (mean, cumulative)",
            _pct(ours.after_tax_return),
            _pct(naive.after_tax_return),
            "",
        ),
        (
            "After-tax return if liquidated at the end",
            _pct(ours.after_tax_liquidation_return),
            _pct(naive.after_tax_liquidation_return),
            "",
        ),
        ("Turnover (a year, of mean value)", _pct(ours.turnover, 0), _pct(naive.turnover, 0), ""),
        ("Trades", str(ours.trades), str(naive.trades), ""),
    ]
    lines = [
        "| figure | ours | advisor baseline | reduction (negative: ours higher) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += [
        "",
        f"Taxes saved (baseline − ours): {_usd(s['taxes_saved'])} USD against fees of "
        f"{_usd(s['fees'])} USD ({s['fee_rate'] * 100:.2f}% a year of value). Taxes saved exceed "
        f"fees in {s['accounts_saved_over_fees'] * 100:.0f}% of accounts "
        f"({s['value_saved_over_fees'] * 100:.0f}% by value).",
    ]
    return lines


def _by_kind(result: BacktestResult) -> list[str]:
    lines = [
        "| kind | accounts | dispersion ours | dispersion baseline | TE ours | TE baseline "
        "| tax ours (USD) | tax baseline (USD) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ("cash", "legacy", "concentrated"):
        mine = [f for f in result.per_account if f.policy == "ours" and f.kind == kind]
        other = [f for f in result.per_account if f.policy == "naive" and f.kind == kind]
        if not mine:
            continue
        te_mine = [f.tracking_error for f in mine if not math.isnan(f.tracking_error)]
        te_other = [f.tracking_error for f in other if not math.isnan(f.tracking_error)]
        lines.append(
            f"| {kind} | {len(mine)} | {_pct(dispersion_of(mine))} | "
            f"{_pct(dispersion_of(other))} | {_pct(sum(te_mine) / max(len(te_mine), 1))} | "
            f"{_pct(sum(te_other) / max(len(te_other), 1))} | "
            f"{_usd(sum(f.tax_total for f in mine))} | {_usd(sum(f.tax_total for f in other))} |"
        )
    return lines


def render_markdown(result: BacktestResult) -> str:
    """The report's markdown (charts referenced by file name)."""
    ours, naive = result.policies["ours"], result.policies["naive"]
    years = sorted(set(ours.dispersion_by_year) | set(naive.dispersion_by_year))
    solver = result.solver
    lines = [
        f"# Backtest {result.start} .. {result.end}: ours vs advisor baseline",
        "",
        f"- Data: {result.source}",
        f"- Book: {result.accounts} accounts, seed {result.seed}, model `{result.model}` "
        f"(1% cash), scan `{result.scan}`",
        f"- Runtime: {result.runtime_seconds:.1f} s simulation; {solver['solves']:.0f} optimizer "
        f"solves ({solver['mean_ms']:.1f} ms each incl. rounding), {solver['failures']:.0f} "
        f"raised, {solver['violations']:.0f} with a violation after rounding, "
        f"{solver['second_chosen']:.0f}/{solver['second_candidates']:.0f} second side "
        f"assignments chosen; withdrawals not covered: ours {_usd(solver['shortfall_ours'])} "
        f"USD, baseline {_usd(solver['shortfall_naive'])} USD",
        "",
        "## Side by side",
        "",
        *_table(ours, naive, result),
        "",
        "## Dispersion of annual returns by year",
        "",
        "| year | ours | accounts | baseline | accounts |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {y} | {_pct(ours.dispersion_by_year.get(y, (math.nan, 0))[0])} | "
            f"{ours.dispersion_by_year.get(y, (0.0, 0))[1]} | "
            f"{_pct(naive.dispersion_by_year.get(y, (math.nan, 0))[0])} | "
            f"{naive.dispersion_by_year.get(y, (0.0, 0))[1]} |"
            for y in years
        ),
        "",
        "![dispersion](dispersion_by_year.svg)",
        "",
        "## By kind of account",
        "",
        *_by_kind(result),
        "",
        "![taxes](taxes_by_year.svg)",
        "",
        "![harvest](harvest_by_month.svg)",
        "",
        "![weights](active_weight_dispersion.svg)",
        "",
        "![tracking error](tracking_error.svg)",
        "",
        "Definitions: `apps/backtest/metrics.py` and `docs/evidence.md`.",
        "",
        "```",
        result.summary_line(),
        "```",
        "",
    ]
    return "\n".join(lines)


def summary_json(result: BacktestResult) -> dict[str, object]:
    """Headline figures as JSON-ready data."""
    out: dict[str, object] = {
        "accounts": result.accounts,
        "start": result.start,
        "end": result.end,
        "source": result.source,
        "seed": result.seed,
        "scan": result.scan,
        "model": result.model,
        "runtime_seconds": round(result.runtime_seconds, 1),
        "solver": result.solver,
        "saved_vs_fees": result.saved_vs_fees,
        "summary_line": result.summary_line(),
        "figures": result.figures(),
    }
    for name, p in result.policies.items():
        out[name] = {
            "dispersion": p.dispersion,
            "dispersion_by_year": {str(y): v for y, v in p.dispersion_by_year.items()},
            "dispersion_composite": p.dispersion_composite,
            "dispersion_composite_by_year": {
                str(y): v for y, v in p.dispersion_composite_by_year.items()
            },
            "dispersion_cash": p.dispersion_cash,
            "active_weight_dispersion": p.active_weight_dispersion,
            "tracking_error": p.tracking_error,
            "tax_total": p.tax_total,
            "taxes_by_year": {str(y): v for y, v in p.taxes_by_year.items()},
            "liquidation_tax": p.liquidation_tax,
            "losses_realized": p.losses_realized,
            "harvest_peak_month": p.harvest_peak_month,
            "harvest_peak_label": p.harvest_peak_label,
            "after_tax_return": p.after_tax_return,
            "after_tax_liquidation_return": p.after_tax_liquidation_return,
            "turnover": p.turnover,
        }
    return out


def write_report(
    result: BacktestResult, out_dir: Path, *, data: PriceData, book: tuple[SimAccount, ...]
) -> Path:
    """Write the report, its charts and ``summary.json``; returns the markdown's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, svg in _charts(result, data).items():
        (out_dir / name).write_text(svg)
    (out_dir / "summary.json").write_text(json.dumps(summary_json(result), indent=1) + "\n")
    path = out_dir / "report.md"
    path.write_text(render_markdown(result))
    return path
