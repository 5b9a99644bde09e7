"""Firm reports: taxes saved across accounts, and dispersion per model (one firm's schema)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account
from apps.common.money import ZERO
from apps.models.models import ModelPortfolio
from apps.models.selectors import model_flatten
from apps.reports import dispersion as stats
from apps.reports import taxes_saved as core
from apps.reports.charts import RangeRow, range_plot, taxes_saved_bars
from apps.reports.rendering import RenderedPdf, pdf_from_template
from apps.reports.selectors import (
    executed_proposal_list,
    report_account_list,
    taxable_managed_account_list,
)
from apps.reports.services.branding import branding_context
from apps.reports.services.savings import taxes_saved_for_account
from apps.securities.selectors import price_history_get
from apps.trading.selectors import proposal_list


@dataclass(frozen=True)
class TaxesSavedRow:
    """One account's year in the firm report (USD; taxes saved at present value)."""

    account: Account
    value: Decimal
    rebalances: int
    losses_harvested: Decimal
    permanent: Decimal
    deferral_value: Decimal
    deferred_liability: Decimal
    deferred_liability_pv: Decimal
    saved: Decimal
    trading_costs: Decimal
    fees: Decimal
    net_saved: Decimal
    inception_saved_after_costs: Decimal
    inception_fees: Decimal

    @property
    def saved_after_costs(self) -> Decimal:
        """Taxes saved net of the extra trading costs."""
        return self.saved - self.trading_costs

    @property
    def is_ahead(self) -> bool:
        """Taxes saved, net of trading costs, exceeded fees this year."""
        return self.saved_after_costs > self.fees


@dataclass(frozen=True)
class FirmTaxesSaved:
    """The firm's taxes-saved report for a year: the headline shares and every account."""

    year: int
    as_of: date
    rows: list[TaxesSavedRow]
    share: core.FirmShare
    inception_share: core.FirmShare
    permanent: Decimal
    deferral_value: Decimal
    deferred_liability: Decimal
    saved: Decimal
    trading_costs: Decimal
    fees: Decimal
    net_saved: Decimal
    losses_harvested: Decimal


def firm_taxes_saved_get(*, year: int, as_of: date) -> FirmTaxesSaved:
    """Taxes saved across the firm's taxable managed accounts (IRAs save no tax now).

    Each account against its tax-naive shadow (``services.savings``); the headline shares are
    of accounts whose taxes saved, net of trading costs, exceeded fees, this year and since
    inception.
    """
    accounts = list(taxable_managed_account_list())
    executed = defaultdict(list)
    for proposal in executed_proposal_list(account_ids=[a.pk for a in accounts]):
        executed[proposal.account_id].append(proposal)
    rows = []
    for account in accounts:
        saved = taxes_saved_for_account(
            account=account, year=year, as_of=as_of, proposals=executed[account.pk]
        )
        y = saved.this_year
        rows.append(
            TaxesSavedRow(
                account=account,
                value=saved.value,
                rebalances=y.rebalances,
                losses_harvested=y.losses_harvested,
                permanent=y.permanent,
                deferral_value=y.deferral_value,
                deferred_liability=y.deferred_liability,
                deferred_liability_pv=y.deferred_liability_pv,
                saved=y.saved,
                trading_costs=y.trading_costs,
                fees=y.fees,
                net_saved=y.net_saved,
                inception_saved_after_costs=saved.since_inception.saved_after_costs,
                inception_fees=saved.since_inception.fees,
            )
        )
    rows.sort(key=lambda r: (-r.net_saved, r.account.pk))

    def total(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), ZERO)

    return FirmTaxesSaved(
        year=year,
        as_of=as_of,
        rows=rows,
        share=core.firm_share(
            [core.AccountOutcome(r.value, r.saved_after_costs, r.fees) for r in rows]
        ),
        inception_share=core.firm_share(
            [
                core.AccountOutcome(r.value, r.inception_saved_after_costs, r.inception_fees)
                for r in rows
            ]
        ),
        permanent=total("permanent"),
        deferral_value=total("deferral_value"),
        deferred_liability=total("deferred_liability"),
        saved=total("saved"),
        trading_costs=total("trading_costs"),
        fees=total("fees"),
        net_saved=total("net_saved"),
        losses_harvested=total("losses_harvested"),
    )


def report_render_taxes_saved(*, year: int, as_of: date) -> RenderedPdf:
    """Render the firm's taxes-saved report."""
    branding = branding_context()
    report = firm_taxes_saved_get(year=year, as_of=as_of)
    chart = taxes_saved_bars(
        [(str(year), report)],
        title=f"Taxes saved in {year}, all accounts: permanent, deferral (present value), "
        "costs, fees, net (USD)",
        primary=branding.primary,
        secondary=branding.secondary,
    )
    return pdf_from_template(
        "reports/taxes_saved.html",
        {"branding": branding, "report": report, "chart": chart, "year": year, "as_of": as_of},
    )


@dataclass(frozen=True)
class RunDispersion:
    """Tracking error and max drift across a model's accounts, before and after one run."""

    run_id: int
    as_of: date
    accounts: int
    te_before: stats.Spread
    te_after: stats.Spread
    drift_before: stats.Spread
    drift_after: stats.Spread


@dataclass(frozen=True)
class AccountDispersion:
    """One account of a model: value, return over the period, tracking error, active share."""

    account: Account
    value: Decimal
    period_return: float
    tracking_error: float
    active_share: float


@dataclass(frozen=True)
class ModelDispersion:
    """Dispersion of one model's accounts now and over the year's runs."""

    model: ModelPortfolio
    start: date
    model_return: float
    returns: stats.Spread | None
    tracking_errors: stats.Spread | None
    active_weight_stdev: float
    active_share: float
    accounts: list[AccountDispersion]
    runs: list[RunDispersion]


def _runs(model: ModelPortfolio, year: int) -> list[RunDispersion]:
    by_run = defaultdict(list)
    for proposal in proposal_list().filter(account__model=model, run__as_of__year=year):
        if proposal.metrics.get("before") and proposal.metrics.get("after"):
            by_run[(proposal.run.as_of, proposal.run_id)].append(proposal.metrics)
    runs = []
    for (as_of, run_id), metrics in sorted(by_run.items()):
        spreads = [
            stats.spread([float(m[side][key]) for m in metrics])
            for key in ("active_risk_rate", "max_drift_weight")
            for side in ("before", "after")
        ]
        present = [s for s in spreads if s is not None]
        if len(present) != len(spreads):
            continue
        te_before, te_after, drift_before, drift_after = present
        runs.append(
            RunDispersion(
                run_id, as_of, len(metrics), te_before, te_after, drift_before, drift_after
            )
        )
    return runs


def model_dispersion_get(*, model: ModelPortfolio, year: int, as_of: date) -> ModelDispersion:
    """One model's dispersion: returns and active weights across its accounts, and its runs.

    Returns are buy-and-hold returns of each account's current weights from January 1 (or the
    first close) to ``as_of``; trades and flows during the period are not replayed.
    """
    flat = model_flatten(model=model, as_of=as_of)
    targets = {s: float(w) for s, w in flat.weights.items()}
    accounts = list(report_account_list().filter(model=model))
    weights: list[dict[str, float]] = []
    values: list[Decimal] = []
    for account in accounts:
        holdings = holdings_get(account=account, as_of=as_of)
        total = holdings.total_value
        values.append(total)
        weights.append(
            {
                p.symbol: float(p.value / total)
                for p in holdings.positions
                if p.value is not None and total
            }
        )
    names = sorted(set(targets).union(*weights)) if weights else sorted(targets)
    start = date(year, 1, 1)
    history = price_history_get(symbols=names, start=start, end=as_of).ffill().bfill()
    closes = history.reindex(columns=names).fillna(1.0).to_numpy(dtype=np.float64)
    model_vector = np.array([targets.get(n, 0.0) for n in names])
    rows = []
    for account, value, w in zip(accounts, values, weights, strict=True):
        vector = np.array([w.get(n, 0.0) for n in names])
        rows.append(
            AccountDispersion(
                account=account,
                value=value,
                period_return=stats.period_return(closes, vector),
                tracking_error=stats.tracking_error(closes, vector, model_vector),
                active_share=float(np.abs(vector - model_vector).sum() / 2),
            )
        )
    cross, share = stats.active_weight_spread(weights, targets)
    first_day = history.index[0] if len(history.index) else start
    return ModelDispersion(
        model=model,
        start=first_day,
        model_return=stats.period_return(closes, model_vector),
        returns=stats.spread([r.period_return for r in rows]),
        tracking_errors=stats.spread([r.tracking_error for r in rows]),
        active_weight_stdev=cross,
        active_share=share,
        accounts=sorted(rows, key=lambda r: r.period_return),
        runs=_runs(model, year),
    )


def firm_dispersion_get(*, year: int, as_of: date) -> list[ModelDispersion]:
    """Dispersion for every active model with accounts."""
    models = ModelPortfolio.objects.filter(is_active=True, accounts__isnull=False).distinct()
    return [model_dispersion_get(model=m, year=year, as_of=as_of) for m in models.order_by("code")]


def report_render_dispersion(*, year: int, as_of: date) -> RenderedPdf:
    """Render the firm's dispersion report (one section per model)."""
    branding = branding_context()
    sections = []
    for item in firm_dispersion_get(year=year, as_of=as_of):
        chart_rows = []
        for run in item.runs[-4:]:
            for label, s in (("before", run.te_before), ("after", run.te_after)):
                chart_rows.append(
                    RangeRow(f"{run.as_of:%Y-%m-%d} {label}", s.low, s.q1, s.median, s.q3, s.high)
                )
        returns_chart = None
        if item.returns is not None and item.tracking_errors is not None:
            r, t = item.returns, item.tracking_errors
            returns_chart = range_plot(
                [
                    RangeRow("Account returns", r.low, r.q1, r.median, r.q3, r.high),
                    RangeRow("Tracking error", t.low, t.q1, t.median, t.q3, t.high),
                ],
                title=f"{item.model.code}: returns and tracking error across accounts",
                primary=branding.primary,
                secondary=branding.secondary,
            )
        sections.append(
            {
                "d": item,
                "runs_chart": range_plot(
                    chart_rows,
                    title=f"{item.model.code}: tracking error before and after runs",
                    primary=branding.primary,
                    secondary=branding.secondary,
                )
                if chart_rows
                else None,
                "returns_chart": returns_chart,
            }
        )
    return pdf_from_template(
        "reports/dispersion.html",
        {"branding": branding, "sections": sections, "year": year, "as_of": as_of},
    )
