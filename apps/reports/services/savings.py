"""Taxes saved per account and year: read the executed rebalances, call the pure arithmetic."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account
from apps.common.money import ZERO, round_money
from apps.reports import taxes_saved as core
from apps.reports.selectors import executed_proposal_list
from apps.trading.models import Proposal, TradeSide


@dataclass(frozen=True)
class RebalanceLine:
    """One executed rebalance as shown in reports (USD)."""

    proposal_id: int
    run_id: int
    executed_on: date
    counterfactual_tax: Decimal
    tax_on_gains: Decimal
    losses_harvested: Decimal
    value: Decimal


@dataclass(frozen=True)
class AccountTaxesSaved:
    """An account's taxes saved: the year asked, every year since inception, the totals."""

    account: Account
    year: int
    as_of: date
    is_taxable: bool
    rates: core.TaxRates
    fee_rate: Decimal
    model_fee_rate: Decimal
    value: Decimal
    this_year: core.YearTaxesSaved
    years: list[core.YearTaxesSaved]
    since_inception: core.SinceInception
    lines: list[RebalanceLine]


def _rates(account: Account) -> core.TaxRates:
    if not account.is_taxable:
        return core.TaxRates(short_rate=ZERO, long_rate=ZERO)
    return core.TaxRates(
        short_rate=account.short_term_rate + account.state_rate,
        long_rate=account.long_term_rate + account.state_rate,
    )


def executed_rebalance_from_proposal(
    proposal: Proposal, *, is_taxable: bool
) -> core.ExecutedRebalance:
    """The pure module's view of one executed proposal (its sells' gains and losses by term)."""
    gains = {("short", True): ZERO, ("long", True): ZERO, ("short", False): ZERO}
    gains[("long", False)] = ZERO
    for trade in proposal.trades.all():
        if trade.side != TradeSide.SELL or trade.realized_gain_amount is None:
            continue
        term = "long" if trade.term == "long" else "short"
        amount = trade.realized_gain_amount
        gains[(term, amount >= 0)] += abs(amount)
    taxable = Decimal(1) if is_taxable else ZERO
    return core.ExecutedRebalance(
        executed_on=proposal.run.as_of,
        naive_tax=proposal.naive_tax_amount * taxable,
        short_gain=gains[("short", True)] * taxable,
        long_gain=gains[("long", True)] * taxable,
        short_loss=gains[("short", False)] * taxable,
        long_loss=gains[("long", False)] * taxable,
    )


def _value_before(proposal: Proposal) -> Decimal | None:
    value = (proposal.metrics or {}).get("before", {}).get("value_amount")
    return Decimal(str(value)) if value is not None else None


def taxes_saved_for_account(
    *, account: Account, year: int, as_of: date, proposals: list[Proposal] | None = None
) -> AccountTaxesSaved:
    """Taxes saved by the account's executed rebalances in ``year`` and since inception.

    Args:
        account: the client account (rates, fee rate, model fee, opening date).
        year: the tax year reported.
        as_of: the report's valuation date; the current year's fees run to it.
        proposals: the account's executed proposals, when the caller has read them in bulk.

    Returns:
        Each year from the first executed rebalance (or opening) to ``year``, in cents.
    """
    rates = _rates(account)
    if proposals is None:
        proposals = list(executed_proposal_list(account_ids=[account.pk]))
    by_year: dict[int, list[Proposal]] = defaultdict(list)
    for proposal in proposals:
        if proposal.run.as_of.year <= year:
            by_year[proposal.run.as_of.year].append(proposal)
    value_now = holdings_get(account=account, as_of=as_of).total_value
    model_fee_rate = account.model.fee_rate if account.model is not None else ZERO
    # Inception is the first year with an executed rebalance (when tax management began).
    first_year = min([*by_year, year])
    years: list[core.YearTaxesSaved] = []
    lines: list[RebalanceLine] = []
    for y in range(first_year, year + 1):
        executed = [
            executed_rebalance_from_proposal(p, is_taxable=account.is_taxable)
            for p in by_year.get(y, [])
        ]
        values = [v for p in by_year.get(y, []) if (v := _value_before(p)) is not None]
        if as_of.year == y or not values:
            values.append(value_now)
        end = as_of if as_of.year == y else date(y, 12, 31)
        fee_basis = core.FeeBasis(
            advisory_fee_rate=account.fee_rate,
            model_fee_rate=model_fee_rate,
            average_value=sum(values, ZERO) / len(values),
            year_fraction=core.year_fraction(year=y, start=account.opened_on, end=end),
        )
        years.append(
            core.taxes_saved_year(year=y, rebalances=executed, rates=rates, fees=fee_basis)
        )
        for p, e in zip(by_year.get(y, []), executed, strict=True):
            lines.append(
                RebalanceLine(
                    proposal_id=p.pk,
                    run_id=p.run_id,
                    executed_on=e.executed_on,
                    counterfactual_tax=round_money(e.naive_tax),
                    tax_on_gains=round_money(
                        e.short_gain * rates.short_rate + e.long_gain * rates.long_rate
                    ),
                    losses_harvested=round_money(e.short_loss + e.long_loss),
                    value=round_money(_value_before(p) or ZERO),
                )
            )
    return AccountTaxesSaved(
        account=account,
        year=year,
        as_of=as_of,
        is_taxable=account.is_taxable,
        rates=rates,
        fee_rate=account.fee_rate,
        model_fee_rate=model_fee_rate,
        value=value_now,
        this_year=years[-1],
        years=years,
        since_inception=core.since_inception(years),
        lines=lines,
    )
