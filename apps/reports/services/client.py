"""The client report: one account's year in a PDF a firm can send to its client."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account, WithdrawalFrequency
from apps.accounts.selectors import realized_summary
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO, round_money
from apps.reports.charts import PairedBar, paired_bars, taxes_saved_bars
from apps.reports.rendering import RenderedPdf, pdf_from_template
from apps.reports.selectors import executed_proposal_list
from apps.reports.services.branding import branding_context
from apps.reports.services.savings import taxes_saved_for_account
from apps.restrictions.selectors import (
    effective_target_get,
    outside_holding_list_for_account,
    restrictions_in_force,
)
from apps.securities.selectors import security_map_get, synthetic_symbols_get
from apps.taxlots.rules import add_months
from apps.trading.models import Proposal, TradeSide

REASON_LABELS = {
    "harvest": "Harvest a loss",
    "reduce_risk": "Reduce an overweight",
    "restriction": "Honour a restriction",
    "raise_cash": "Raise cash",
    "fill_underweight": "Fill an underweight",
    "substitute": "Substitute (keep exposure)",
    "transition": "Transition",
}
# More holdings than this: the holdings chart packs its rows, so it shares a page with the
# summary instead of leaving that page nearly empty.
COMPACT_CHART_ROWS = 20
_MONTHS = {
    WithdrawalFrequency.MONTHLY: 1,
    WithdrawalFrequency.QUARTERLY: 3,
    WithdrawalFrequency.ANNUALLY: 12,
}


@dataclass(frozen=True)
class HoldingRow:
    """A position against its target (fractions) and at market (USD)."""

    symbol: str
    name: str
    sector: str
    shares: Decimal
    value: Decimal | None
    weight: Decimal
    target: Decimal | None
    unrealized: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        """Weight minus target (None without a target)."""
        return None if self.target is None else self.weight - self.target


def upcoming_withdrawals(*, account: Account, as_of: date, months: int = 12) -> list[date]:
    """Scheduled withdrawal dates from ``as_of`` over the next ``months`` months."""
    step = _MONTHS.get(WithdrawalFrequency(account.withdrawal_frequency))
    start = account.next_withdrawal_on
    if step is None or start is None or account.withdrawal_amount <= 0:
        return []
    horizon = add_months(as_of, months)
    dates, k = [], 0
    while (day := add_months(start, k * step)) <= horizon:
        if day >= as_of:
            dates.append(day)
        k += 1
    return dates


def _plain_summary(
    *, account: Account, year: int, proposals: list[Proposal], harvested: Decimal
) -> list[str]:
    """Sentences a client can read: what we did this year and why, from the trade reasons."""
    if not proposals:
        return [
            f"No trades were executed in your account in {year}. We review it against its "
            "model at every rebalance and trade only when the benefit is worth the cost."
        ]
    sells = [t for p in proposals for t in p.trades.all() if t.side == TradeSide.SELL]
    buys = [t for p in proposals for t in p.trades.all() if t.side == TradeSide.BUY]
    reasons = Counter(t.reason for p in proposals for t in p.trades.all())
    times = "once" if len(proposals) == 1 else f"{len(proposals)} times"
    lines = [
        f"In {year} we rebalanced your account {times}: {len(sells)} sales and "
        f"{len(buys)} purchases in total."
    ]
    if reasons.get("harvest"):
        lines.append(
            f"We sold {reasons['harvest']} position(s) at a loss to harvest "
            f"${harvested:,.2f} of capital losses, which offset gains and lower your taxes; "
            "where we bought a similar security, it keeps your market exposure without "
            "triggering the wash-sale rule."
        )
    if reasons.get("reduce_risk"):
        lines.append(
            f"{reasons['reduce_risk']} sale(s) trimmed holdings above their target, bringing "
            "the account closer to its model. Where trimming would have realized a large "
            "gain, we kept part of the position and deferred the tax."
        )
    if reasons.get("fill_underweight") or reasons.get("substitute"):
        count = reasons.get("fill_underweight", 0) + reasons.get("substitute", 0)
        lines.append(f"{count} purchase(s) filled holdings below their target.")
    if reasons.get("restriction") or reasons.get("transition"):
        count = reasons.get("restriction", 0) + reasons.get("transition", 0)
        lines.append(
            f"{count} trade(s) honoured the restrictions you asked for (listed in this report)."
        )
    if reasons.get("raise_cash"):
        lines.append(
            f"{reasons['raise_cash']} sale(s) raised cash for your reserve and scheduled "
            "withdrawals."
        )
    return lines


def client_report_context(*, account: Account, year: int, as_of: date) -> dict[str, Any]:
    """Everything the client report shows, read once (the template only formats)."""
    branding = branding_context()
    holdings = holdings_get(account=account, as_of=as_of)
    try:
        target = effective_target_get(account=account, as_of=as_of)
        targets: dict[str, Decimal] = dict(target.weights)
        cash_target: Decimal | None = target.cash_weight
    except ApplicationError:  # no model: holdings without targets
        targets, cash_target = {}, None
    symbols = {p.symbol for p in holdings.positions} | set(targets)
    securities = security_map_get(symbols=symbols)
    total = holdings.total_value
    positions = {p.symbol: p for p in holdings.positions}
    rows = []
    for symbol in sorted(symbols):
        position = positions.get(symbol)
        security = securities.get(symbol)
        rows.append(
            HoldingRow(
                symbol=symbol,
                name=security.name if security else symbol,
                sector=(security.sector if security else "") or "Unclassified",
                shares=position.shares if position else ZERO,
                value=position.value if position else ZERO,
                weight=(position.weight or ZERO) if position else ZERO,
                target=targets.get(symbol, ZERO if targets else None),
                unrealized=position.unrealized if position else None,
            )
        )
    cash_weight = holdings.cash / total if total else ZERO
    sectors: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        sectors[row.sector][0] += row.weight
        sectors[row.sector][1] += row.target or ZERO
    sector_rows = sorted(
        ((name, w, t, w - t) for name, (w, t) in sectors.items()), key=lambda r: (-r[1], r[0])
    )
    cash_t = cash_target if cash_target is not None else ZERO
    sector_rows.append(("Cash", cash_weight, cash_t, cash_weight - cash_t))
    has_targets = bool(targets)
    holdings_chart = paired_bars(
        [
            PairedBar(r.symbol, float(r.weight), float(r.target) if r.target is not None else None)
            for r in rows
        ]
        + [
            PairedBar(
                "Cash", float(cash_weight), float(cash_target) if cash_target is not None else None
            )
        ],
        title="Holdings versus target",
        primary=branding.primary,
        secondary=branding.secondary,
        label_px=70,
        row_px=22 if len(rows) <= COMPACT_CHART_ROWS else 11,
    )
    sector_chart = paired_bars(
        [PairedBar(n, float(w), float(t) if has_targets else None) for n, w, t, _ in sector_rows],
        title="Allocation by sector versus target",
        primary=branding.primary,
        secondary=branding.secondary,
        row_px=14,
    )
    proposals = list(executed_proposal_list(account_ids=[account.pk]))
    saved = taxes_saved_for_account(account=account, year=year, as_of=as_of, proposals=proposals)
    saved_chart = taxes_saved_bars(
        [(str(y.year), y) for y in saved.years],
        title="Taxes saved by year: permanent, deferral (present value), costs, fees, net (USD)",
        primary=branding.primary,
        secondary=branding.secondary,
    )
    this_year = [p for p in proposals if p.run.as_of.year == year]
    realized = realized_summary(account=account, year=year)
    trades = [
        (p.run.as_of, t, REASON_LABELS.get(t.reason, t.reason))
        for p in this_year
        for t in p.trades.all()
    ]
    withdrawals = upcoming_withdrawals(account=account, as_of=as_of)
    synthetic = synthetic_symbols_get(
        symbols=symbols | {t.symbol for _, t, _ in trades}, as_of=as_of
    )
    return {
        "branding": branding,
        "account": account,
        "year": year,
        "as_of": as_of,
        "holdings": holdings,
        "rows": rows,
        "lots": sorted(holdings.lots, key=lambda v: (v.lot.symbol, v.lot.acquired_on)),
        "cash_weight": cash_weight,
        "cash_target": cash_target,
        "has_targets": has_targets,
        "sector_rows": sector_rows,
        "holdings_chart": holdings_chart,
        "sector_chart": sector_chart,
        "realized": realized,
        "saved": saved,
        "saved_chart": saved_chart,
        "harvested_this_year": saved.this_year.losses_harvested,
        "summary": _plain_summary(
            account=account,
            year=year,
            proposals=this_year,
            harvested=saved.this_year.losses_harvested,
        ),
        "trades": trades,
        "synthetic": synthetic,
        "withdrawals": [(d, account.withdrawal_amount) for d in withdrawals],
        "withdrawal_total": round_money(account.withdrawal_amount * len(withdrawals)),
        "restrictions": restrictions_in_force(account=account, as_of=as_of),
        "outside_holdings": outside_holding_list_for_account(account=account),
        "model": account.model,
    }


def report_render_client(*, account: Account, year: int, as_of: date) -> RenderedPdf:
    """Render the client report of one account for one year, valued on ``as_of``."""
    context = client_report_context(account=account, year=year, as_of=as_of)
    return pdf_from_template("reports/client.html", context)
