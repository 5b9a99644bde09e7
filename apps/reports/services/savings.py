"""Taxes saved per account and year: the account's path against its tax-naive shadow.

Reads the ledger (only filled quantities are booked there), the filled rebalances (their
targets and prices as the optimizer stored them) and closing prices, builds the shadow
(``apps.reports.shadow``) and calls the pure arithmetic (``apps.reports.taxes_saved``). Nothing
is stored: the shadow is rebuilt on demand, deterministically, from the same records.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

from apps.accounts.custodians import quantity_places
from apps.accounts.models import Account, Transaction, TransactionKind
from apps.accounts.selectors import substantially_identical_symbol_sets
from apps.accounts.services.ledger import cash_effect, engine_account_type, engine_trades
from apps.common.money import ZERO
from apps.optimizer.adapters import snapshot_unpack
from apps.reports import shadow as paths
from apps.reports import taxes_saved as core
from apps.reports.selectors import executed_proposal_list
from apps.securities.selectors import price_map_get
from apps.taxlots import engine
from apps.trading.models import Proposal

_WEIGHT = Decimal("1e-9")
_FLOWS = (
    TransactionKind.DEPOSIT,
    TransactionKind.WITHDRAWAL,
    TransactionKind.DIVIDEND,
    TransactionKind.FEE,
)


@dataclass(frozen=True)
class RebalanceLine:
    """One date the account was rebalanced (a proposal with filled quantities), USD."""

    proposal_id: int
    run_id: int
    executed_on: date
    value: Decimal
    shadow_traded: Decimal


@dataclass(frozen=True)
class AccountTaxesSaved:
    """An account's taxes saved: the year asked, every year since inception, the totals."""

    account: Account
    year: int
    as_of: date
    is_taxable: bool
    rates: core.TaxRates
    deferral: core.DeferralTerms
    fee_rate: Decimal
    model_fee_rate: Decimal
    value: Decimal
    this_year: core.YearTaxesSaved
    years: list[core.YearTaxesSaved]
    since_inception: core.SinceInception
    lines: list[RebalanceLine]


def deferral_terms() -> core.DeferralTerms:
    """The present-value terms of a deferred tax, from settings (``TAXES_SAVED_*``)."""
    return core.DeferralTerms(
        discount_rate=Decimal(str(settings.TAXES_SAVED_DISCOUNT_RATE)),
        horizon_years=int(settings.TAXES_SAVED_HORIZON_YEARS),
    )


def trading_cost_rate() -> Decimal:
    """Cost per dollar traded: the optimizer's transaction-cost allowance (a fraction)."""
    return Decimal(str(settings.OPTIMIZER_SOLVER_CONFIG["transaction_cost_bps"])) / 10_000


def _rates(account: Account) -> core.TaxRates:
    if not account.is_taxable:
        return core.TaxRates(short_rate=ZERO, long_rate=ZERO)
    return core.TaxRates(
        short_rate=account.combined_short_term_rate,
        long_rate=account.combined_long_term_rate,
    )


def _rebalance_day(proposal: Proposal) -> paths.RebalanceDay:
    """The targets and prices the optimizer used for a proposal (its stored snapshot)."""
    universe = proposal.run.universe_snapshot["universe"]
    own = snapshot_unpack(bytes(proposal.snapshot))
    symbols = list(universe["symbols"])
    weights = {
        s: Decimal(str(w)).quantize(_WEIGHT, rounding=ROUND_DOWN)
        for s, w in zip(symbols, own["target_weights"], strict=True)
        if w > 0
    }
    prices = {s: Decimal(str(p)) for s, p in zip(symbols, universe["prices"], strict=True)}
    return paths.RebalanceDay(on=proposal.run.as_of, targets=weights, prices=prices)


def _value_before(proposal: Proposal) -> Decimal | None:
    value = (proposal.metrics or {}).get("before", {}).get("value_amount")
    return Decimal(str(value)) if value is not None else None


def taxes_saved_for_account(
    *, account: Account, year: int, as_of: date, proposals: list[Proposal] | None = None
) -> AccountTaxesSaved:
    """Taxes saved by the account against its tax-naive shadow, in ``year`` and since inception.

    Args:
        account: the client account (rates, fee rates, custodian, opening date).
        year: the tax year reported.
        as_of: the report's valuation date; the current year is valued and its fees run to it.
        proposals: the account's executed proposals, when the caller has read them in bulk.

    Returns:
        Each year from the first filled rebalance (or ``year``) to ``year``, in cents.

    Cost: one ledger read, one snapshot per filled rebalance, one price read and two replays of
    the account's history per year shown (linear in its trades).
    """
    if proposals is None:
        proposals = list(executed_proposal_list(account_ids=[account.pk]))
    days: dict[date, tuple[Proposal, paths.RebalanceDay]] = {}
    for proposal in proposals:  # oldest first: a later proposal of the same date wins
        if proposal.run.as_of <= as_of and proposal.snapshot:
            days[proposal.run.as_of] = (proposal, _rebalance_day(proposal))
    entries = list(
        Transaction.objects.filter(account=account, trade_on__lte=as_of)
        .select_related("account")
        .order_by("trade_on", "sequence", "id")
    )
    start = min(days) if days else None
    before = [e for e in entries if start is None or e.trade_on < start]
    flows = [
        paths.CashFlow(on=e.trade_on, amount=cash_effect(e))
        for e in entries
        if start is not None and e.trade_on >= start and e.kind in _FLOWS
    ]
    account_id = str(account.pk)
    account_type = engine_account_type(account.registration)
    groups = substantially_identical_symbol_sets()
    opening = engine_trades(entries=before)
    # The shadow may hold a name the run did not price (an earlier target the account no longer
    # held): its close on that day, from the price table.
    names = {t.symbol for t in opening} | {s for _, d in days.values() for s in d.targets}
    for on, (proposal, day) in list(days.items()):
        missing = names - set(day.prices)
        if missing:
            closes = price_map_get(symbols=missing, as_of=on)
            prices = {**day.prices, **{s: q.close_price for s, q in closes.items()}}
            days[on] = (proposal, replace(day, prices=prices))
    places = quantity_places(account.custodian) if account.is_fractional_shares else 0
    shadow = paths.shadow_build(
        account=account_id,
        account_type=account_type,
        opening=opening,
        opening_cash=sum((cash_effect(e) for e in before), ZERO),
        flows=flows,
        rebalances=[day for _, day in days.values()],
        quantity_places=places,
        substantially_identical=groups,
    )
    ours = engine_trades(entries=entries)
    first_year = min(start.year, year) if start else year
    year_ends = {}
    symbols = {t.symbol for t in ours} | {t.symbol for t in shadow.trades}
    for y in range(first_year, year + 1):
        end = min(date(y, 12, 31), as_of)
        year_ends[y] = (
            end,
            {s: q.close_price for s, q in price_map_get(symbols=symbols, as_of=end).items()},
        )
    params = engine.ReplayParams(substantially_identical=groups)
    counted_from = start or as_of
    our_years = paths.path_years(
        account=account_id,
        account_type=account_type,
        trades=ours,
        year_ends=year_ends,
        counted_from=counted_from,
        params=params,
    )
    shadow_years = paths.path_years(
        account=account_id,
        account_type=account_type,
        trades=shadow.trades,
        year_ends=year_ends,
        counted_from=counted_from,
        params=params,
    )
    model_fee_rate = account.model.fee_rate if account.model is not None else ZERO
    by_year: dict[int, list[Proposal]] = defaultdict(list)
    for proposal, _ in days.values():
        by_year[proposal.run.as_of.year].append(proposal)
    fees = {}
    for figures in our_years:
        y = figures.year
        end = year_ends[y][0]
        cash = sum((cash_effect(e) for e in entries if e.trade_on <= end), ZERO)
        values = [v for p in by_year.get(y, []) if (v := _value_before(p)) is not None]
        values.append(figures.market_value + cash)
        fees[y] = core.FeeBasis(
            advisory_fee_rate=account.fee_rate,
            model_fee_rate=model_fee_rate,
            average_value=sum(values, ZERO) / len(values),
            year_fraction=core.year_fraction(year=y, start=account.opened_on, end=end),
        )
    carry = core.Carryforward()
    if account.is_taxable and account.carryforward_year in (None, first_year):
        carry = core.Carryforward(
            short=account.carryforward_short_amount, long=account.carryforward_long_amount
        )
    years = core.taxes_saved_years(
        ours=our_years,
        shadow=shadow_years,
        rebalances={y: len(ps) for y, ps in by_year.items()},
        rates=_rates(account),
        fees=fees,
        cost_rate=trading_cost_rate(),
        deferral=deferral_terms(),
        carry_in=carry,
    )
    traded_on: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for trade in shadow.trades[len(opening) :]:
        traded_on[trade.date] += trade.amount
    lines = [
        RebalanceLine(
            proposal_id=p.pk,
            run_id=p.run_id,
            executed_on=on,
            value=_value_before(p) or ZERO,
            shadow_traded=traded_on[on],
        )
        for on, (p, _) in sorted(days.items())
        if on.year >= first_year
    ]
    last_end = year_ends[year][0]
    value_now = our_years[-1].market_value + sum(
        (cash_effect(e) for e in entries if e.trade_on <= last_end), ZERO
    )
    return AccountTaxesSaved(
        account=account,
        year=year,
        as_of=as_of,
        is_taxable=account.is_taxable,
        rates=_rates(account),
        deferral=deferral_terms(),
        fee_rate=account.fee_rate,
        model_fee_rate=model_fee_rate,
        value=value_now,
        this_year=years[-1],
        years=years,
        since_inception=core.since_inception(years),
        lines=lines,
    )
