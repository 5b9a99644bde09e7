"""Rows → core problems: a chunk of accounts read in a few set-based queries, one problem each.

Lots, targets, the year so far, wash-sale history, budgets and locks; ``Decimal`` becomes
``float`` only here (``money.to_float``).
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db.models import Exists, OuterRef, Sum
from django.db.models.functions import Abs

from apps.accounts.cash import withdrawals_due
from apps.accounts.custodians import quantity_places
from apps.accounts.lot_arrays import LotArrays
from apps.accounts.models import (
    Account,
    BudgetKind,
    RealizedGain,
    Registration,
    Transaction,
    TransactionKind,
)
from apps.accounts.selectors import (
    RealizedSummary,
    realized_summaries,
    substantially_identical_symbol_sets,
)
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO, to_float
from apps.optimizer.adapters.universe import RunUniverse, solver_config
from apps.optimizer.core import types as core
from apps.optimizer.core.locks import (
    RecentTrade,
    harvest_pairs_from_history,
    wash_sale_locks_from_history,
)
from apps.optimizer.core.serialization import to_jsonable
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.transition import TransitionPlan, plan_transition
from apps.optimizer.funds import HoldingLock, holding_lock
from apps.restrictions.selectors import LotShares, effective_targets_get, substitutes_map
from apps.securities.selectors import (
    FundTradingTerms,
    fund_trading_terms_get,
)
from apps.targets import EffectiveTarget
from apps.taxlots.rules import WASH_SALE_WINDOW_DAYS

_REGISTRATIONS = {
    Registration.TAXABLE: core.Registration.TAXABLE,
    Registration.TRADITIONAL_IRA: core.Registration.TAX_DEFERRED,
    Registration.ROTH_IRA: core.Registration.TAX_EXEMPT,
}


@dataclass(frozen=True)
class Reservations:
    """What open orders (not yet filled nor cancelled) hold back, per account.

    A run solves on what is left: lots less the shares of open sells, cash less the cost of
    open buys (the trading app prices them with its buffer). Proceeds of open sells are not
    counted until they are filled.
    """

    lot_shares: dict[tuple[int, str], Decimal] = field(default_factory=dict)  # shares
    cash_amount: dict[int, Decimal] = field(default_factory=dict)  # USD
    # By household: open orders as trades of the day (a loss sale in flight locks buying the
    # name anywhere in the household, a buy in flight locks selling it at a loss).
    household_trades: dict[int, list[RecentTrade]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountSkip:
    """An account the data-quality gate kept out of the run, and why."""

    account_id: int
    reason: str


@dataclass(frozen=True)
class AccountProblem:
    """A core problem ready to solve, with the target's explanation lines."""

    account_id: int
    household_id: int
    problem: core.RebalanceProblem
    target_notes: tuple[str, ...]
    transition: TransitionPlan | None = None  # the plan this run follows, if any
    # Fund lots a minimum holding period keeps from being sold (``funds``; never-sell lots).
    holding_locks: tuple[HoldingLock, ...] = ()

    @property
    def solve_order(self) -> tuple[int, bool, int]:
        """Sort key: a household's accounts one after the other, taxable ones first.

        Taxable accounts harvest losses; the household's later accounts then keep out of those
        names (``household_traded``).
        """
        taxable = self.problem.tax_profile.registration is core.Registration.TAXABLE
        return self.household_id, not taxable, self.account_id

    def household_traded(self, trades: Sequence[RecentTrade]) -> "AccountProblem":
        """This problem once other accounts of the household trade ``trades`` the same day.

        A same-day trade is inside every wash-sale window (IRC §1091(a); IRS Publication 550,
        "Wash Sales": 30 days before or after the sale), and a household's accounts count as one
        taxpayer's, an IRA's purchases included (Rev. Rul. 2008-5): a loss sale elsewhere locks
        buying the name (and every name substantially identical to it) here, a purchase
        elsewhere locks selling them here at a loss.
        """
        if not trades:
            return self
        problem = self.problem
        extra = wash_sale_locks_from_history(
            problem.as_of, trades, groups=problem.substantially_identical
        )
        locks = problem.wash_sale_locks
        merged = core.WashSaleLocks(
            no_buy_symbols=locks.no_buy_symbols | extra.no_buy_symbols,
            no_loss_sale_symbols=locks.no_loss_sale_symbols | extra.no_loss_sale_symbols,
        )
        return replace(self, problem=replace(problem, wash_sale_locks=merged))

    def trades_today(self, result: core.RebalanceResult) -> list[RecentTrade]:
        """The result's trades as the household's trades of the day, for its later accounts.

        Only a taxable account's sale below basis is a loss sale (an IRA realizes no loss).
        """
        problem = self.problem
        taxable = problem.tax_profile.registration is core.Registration.TAXABLE
        sell = core.TradeSide.SELL
        kinds = {  # one per name, side and loss: a sale of several lots locks once
            (t.symbol, t.side, taxable and t.side is sell and t.realized_gain_amount < 0.0)
            for t in result.trades
        }
        account_id = str(self.account_id)
        return [
            RecentTrade(symbol, problem.as_of, side, is_loss, account_id)
            for symbol, side, is_loss in kinds
        ]


class _Budgets(TypedDict):
    """An account's budgets as ``core.TaxProfile`` fields (USD; None: no such budget)."""

    gains_budget_amount: float | None
    tax_budget_amount: float | None
    short_term_gains_budget_amount: float | None
    long_term_gains_budget_amount: float | None


def _budgets_left(account: Account, summary: RealizedSummary | None) -> _Budgets:
    """What each of the account's budgets still allows this year, as ``core.TaxProfile`` fields.

    ``summary`` is the account's year so far (``realized_summaries``), None without one.
    """
    if summary is None or not account.has_gains_budget:
        return _budget_fields(account, amounts=(None, None, None), allowed=(None, None, None))
    return _budget_fields(
        account,
        amounts=(
            summary.budget_amount,
            summary.short_term_budget_amount,
            summary.long_term_budget_amount,
        ),
        allowed=(
            summary.budget_left,
            summary.short_term_budget_left,
            summary.long_term_budget_left,
        ),
    )


class _YearSoFar(TypedDict):
    """An account's tax year so far as ``core.TaxProfile`` fields (USD; shadow prices)."""

    realized_short_term_gain_amount: float
    realized_long_term_gain_amount: float
    loss_carryforward_short_term_amount: float
    loss_carryforward_long_term_amount: float


def _year_so_far(summary: RealizedSummary | None) -> _YearSoFar:
    """The net gains realized this year (losses negative) and the losses carried into it.

    The shadow prices (``SolverConfig.tax_valuation`` "shadow", ``apps.taxlots.shadow``) net
    them per Schedule D (IRC §1222, §1211(b), §1212(b)). ``summary`` is a taxable account's
    ``realized_summaries`` entry: its gains are this year's reportable ones (a loss a wash sale
    disallows is not in them, IRC §1091(a)) and its carryforward counts only in the year it is
    set for (``Account.carryforward_year``). None (an account not taxed now): nothing.
    """
    if summary is None:
        return _YearSoFar(
            realized_short_term_gain_amount=0.0,
            realized_long_term_gain_amount=0.0,
            loss_carryforward_short_term_amount=0.0,
            loss_carryforward_long_term_amount=0.0,
        )
    return _YearSoFar(
        realized_short_term_gain_amount=to_float(summary.short_term),
        realized_long_term_gain_amount=to_float(summary.long_term),
        loss_carryforward_short_term_amount=to_float(summary.carryforward_short),
        loss_carryforward_long_term_amount=to_float(summary.carryforward_long),
    )


def _later_year(summary: RealizedSummary | None) -> _YearSoFar:
    """A transition plan's later year: nothing realized yet; this year's carryover carried in.

    The carryover is what the year so far carries out (IRC §1212(b)), before today's trades.
    """
    if summary is None:
        return _year_so_far(None)
    return _YearSoFar(
        realized_short_term_gain_amount=0.0,
        realized_long_term_gain_amount=0.0,
        loss_carryforward_short_term_amount=to_float(summary.carryover_out_short),
        loss_carryforward_long_term_amount=to_float(summary.carryover_out_long),
    )


def _traded_this_year(account_ids: Sequence[int], as_of: date) -> dict[int, Decimal]:
    """Buys and sells of each account in ``as_of``'s calendar year up to it, USD (one query)."""
    if not account_ids:
        return {}
    rows = (
        Transaction.objects.filter(
            account_id__in=account_ids,
            kind__in=(TransactionKind.BUY, TransactionKind.SELL),
            trade_on__range=(date(as_of.year, 1, 1), as_of),
        )
        .values("account_id")
        .annotate(total=Sum(Abs("amount")))
    )
    return {row["account_id"]: row["total"] or ZERO for row in rows}


def _with_turnover_budget(
    built: AccountProblem, traded: Decimal, budget_rate: Decimal
) -> AccountProblem:
    """Cap the run's trades at what the account's yearly turnover budget has left.

    The budget is a fraction of the account's value today (cash and lots at the run's prices);
    what was bought and sold this year counts against it; forced sales are not capped (the core
    excludes them), and a cap that no trade fits is relaxed by the core's elastic form and
    reported.
    """
    problem = built.problem
    table = core.lot_table(problem.lots)
    value = problem.cash_amount + float(table.shares @ problem.universe.prices[table.symbol_index])
    if value <= 0.0:
        return built
    budget = to_float(budget_rate) * value
    left = max(budget - to_float(traded), 0.0)
    constraints = replace(problem.constraints, turnover_cap_weight=left / value)
    return replace(built, problem=replace(problem, constraints=constraints))


def _optional_float(value: Decimal | None) -> float | None:
    return None if value is None else to_float(value)


class _ModelBands(TypedDict):
    name_band_rate: float | None
    sector_band_weight: float | None


def _model_bands(account: Account) -> _ModelBands:
    """The drift bands of the account's model as ``core.Constraints`` fields (None: no band).

    Every account of a model shares them: a name stays within ``name_band_rate`` × its target
    of it, a sector within ``sector_band_weight`` of the model's.
    """
    model = account.model
    return {
        "name_band_rate": _optional_float(model.name_band_rate) if model else None,
        "sector_band_weight": _optional_float(model.sector_band_weight) if model else None,
    }


def _annual_budgets(account: Account) -> _Budgets:
    """The account's budgets for a whole year (nothing realized yet), as ``core.TaxProfile`` fields.

    What the transition planner gives each of its later years.
    """
    amounts = (
        (
            account.annual_budget_amount,
            account.short_term_gains_budget_amount,
            account.long_term_gains_budget_amount,
        )
        if account.has_gains_budget
        else (None, None, None)
    )
    return _budget_fields(account, amounts=amounts, allowed=amounts)


def _budget_fields(
    account: Account,
    *,
    amounts: tuple[Decimal | None, Decimal | None, Decimal | None],
    allowed: tuple[Decimal | None, Decimal | None, Decimal | None],
) -> _Budgets:
    """The account's annual, short-term and long-term budgets as ``core.TaxProfile`` fields.

    ``amounts``: each budget as set (None: the account has no such budget); ``allowed``: what
    each allows (USD; None counts as nothing), never below zero. The annual budget is in net
    gains (``gains_budget_amount``) or in tax dollars (``tax_budget_amount``: the core charges
    each lot's gain at its own short- or long-term rate), as ``budget_kind`` says; the caps per
    character are in gains.
    """
    annual, short_term, long_term = (
        None if amount is None else max(to_float(left if left is not None else ZERO), 0.0)
        for amount, left in zip(amounts, allowed, strict=True)
    )
    is_tax = account.budget_kind == BudgetKind.TAX
    return _Budgets(
        gains_budget_amount=None if is_tax else annual,
        tax_budget_amount=annual if is_tax else None,
        short_term_gains_budget_amount=short_term,
        long_term_gains_budget_amount=long_term,
    )


# Household trades are read this far back: the wash-sale window (30 days) for the locks, and
# harvest pairs for two more windows (a replacement still held after that is a holding).
RECENT_TRADE_DAYS = 3 * WASH_SALE_WINDOW_DAYS


def _recent_trades(account_ids: Sequence[int], as_of: date) -> dict[int, list[RecentTrade]]:
    """Household trades of the last ``RECENT_TRADE_DAYS`` days, by household (one query)."""
    since = as_of - timedelta(days=RECENT_TRADE_DAYS)
    household_ids = Account.objects.filter(pk__in=account_ids).values("household_id")
    losses = RealizedGain.objects.filter(sell_id=OuterRef("pk"), gain_amount__lt=0)
    rows = (
        Transaction.objects.filter(
            account__household_id__in=household_ids,
            kind__in=(TransactionKind.BUY, TransactionKind.SELL),
            trade_on__range=(since, as_of),
        )
        .annotate(is_loss=Exists(losses))
        .values_list("account__household_id", "account_id", "symbol", "trade_on", "kind", "is_loss")
    )
    trades: dict[int, list[RecentTrade]] = defaultdict(list)
    for household_id, account_id, symbol, traded_on, kind, is_loss in rows:
        side = core.TradeSide.BUY if kind == TransactionKind.BUY else core.TradeSide.SELL
        trades[household_id].append(
            RecentTrade(
                symbol=symbol,
                traded_on=traded_on,
                side=side,
                is_loss=is_loss,
                account_id=str(account_id),
            )
        )
    return trades


def account_problems_build(
    *,
    account_ids: Sequence[int],
    as_of: date,
    mode: str,
    run_universe: RunUniverse,
    reserved: Reservations | None = None,
) -> tuple[list[AccountProblem], list[AccountSkip]]:
    """Core problems for a chunk of accounts, and the accounts the data-quality gate skips.

    The gate skips an account with a lot missing its basis, a holding or target that is unpriced
    or priced more than ``OPTIMIZER_MAX_PRICE_AGE_DAYS`` before ``as_of``, or negative cash.
    ``reserved``: shares and cash that open orders hold back (solved on what is left).
    """
    accounts = list(Account.objects.filter(pk__in=account_ids).select_related("household", "model"))
    identical = substantially_identical_symbol_sets()  # firm-wide: once per chunk
    universe_symbols = set(run_universe.index)
    substitutes = tuple(  # the firm's list, harvest replacements first (firm-wide)
        (symbol, tuple(a for a in alternatives if a in universe_symbols))
        for symbol, alternatives in sorted(substitutes_map(symbols=universe_symbols).items())
    )
    fund_terms = fund_trading_terms_get(symbols=universe_symbols)  # once per chunk
    reserved = reserved or Reservations()
    lots = LotArrays.read(account_ids).without(reserved.lot_shares)
    recent = _recent_trades(account_ids, as_of)
    traded = _traded_this_year(
        [a.pk for a in accounts if a.turnover_budget_rate is not None], as_of
    )
    planned = _planned(accounts, as_of=as_of, mode=mode)
    # The year so far of every taxable account (shadow prices, budgets) and of every planned one.
    summaries = realized_summaries(
        accounts=[a for a in accounts if a.is_taxable or a.pk in planned], year=as_of.year
    )
    targets = effective_targets_get(
        accounts=[a for a in accounts if a.model_id is not None],
        as_of=as_of,
        lots=LotShares(lots.account_ids, lots.names, lots.codes, lots.shares_micro),
    )
    index = run_universe.index
    # Universe position of every lot's symbol (-1: not in the universe, i.e. unpriced).
    lot_symbol = np.array([index.get(s, -1) for s in lots.names], dtype=np.int64)[lots.codes]
    limit = as_of - timedelta(days=settings.OPTIMIZER_MAX_PRICE_AGE_DAYS)
    prices = _PriceCheck(
        index=index,
        limit=limit,
        stale=frozenset(s for s, day in run_universe.priced_on.items() if day < limit),
    )
    weights: dict[int, _TargetWeights] = {}  # by id() of a target shared by several accounts
    problems: list[AccountProblem] = []
    skips: list[AccountSkip] = []
    for account in accounts:
        target = targets.get(account.pk)
        if isinstance(target, EffectiveTarget) and id(target) not in weights:
            weights[id(target)] = _TargetWeights.of(target, index, run_universe.universe.size)
        built = _account_problem(
            account=account,
            lots=lots,
            where=lots.slices.get(account.pk, slice(0, 0)),
            lot_symbol=lot_symbol,
            recent=recent.get(account.household_id, [])
            + reserved.household_trades.get(account.household_id, []),
            summary=summaries.get(account.pk),
            target=target,
            target_weights=weights.get(id(target)),
            as_of=as_of,
            mode=mode,
            run_universe=run_universe,
            prices=prices,
            reserved_cash=reserved.cash_amount.get(account.pk, ZERO),
            identical=identical,
            substitutes=substitutes,
            fund_terms=fund_terms,
        )
        budget_rate = account.turnover_budget_rate
        if isinstance(built, AccountProblem) and budget_rate is not None:
            built = _with_turnover_budget(built, traded.get(account.pk, ZERO), budget_rate)
        if isinstance(built, AccountProblem) and account.pk in planned:
            built = _with_transition_plan(
                built,
                account=account,
                years=planned[account.pk],
                summary=summaries[account.pk],
                run_universe=run_universe,
            )
        (problems if isinstance(built, AccountProblem) else skips).append(built)  # type: ignore[arg-type]
    return problems, skips


# Modes that move an account toward its model; the others (harvest only, raise or invest cash)
# do not follow a transition plan.
_PLANNED_MODES = frozenset({core.RebalanceMode.FULL_REBALANCE, core.RebalanceMode.TRANSITION})


def _planned(accounts: Sequence[Account], *, as_of: date, mode: str) -> dict[int, int]:
    """Accounts in a transition in ``as_of``'s year, with the calendar years they have left."""
    if core.RebalanceMode(mode) not in _PLANNED_MODES:
        return {}
    left = {a.pk: a.transition_years_left(as_of.year) for a in accounts}
    return {pk: years for pk, years in left.items() if years is not None}


def _with_transition_plan(
    built: AccountProblem,
    *,
    account: Account,
    years: int,
    summary: RealizedSummary,
    run_universe: RunUniverse,
) -> AccountProblem:
    """The problem with this year's share of the account's transition plan as its gains budget.

    The plan (``core.transition``) is re-made from today's holdings and prices at every run; the
    run may realize what the plan gives this calendar year less what was realized already, as
    net gains, and never more than the account's own net gains budget left. The account's
    other budgets (tax dollars, per character) keep applying as they are; the plan's later
    years have each of them whole (``_annual_budgets``), nothing realized yet and this year's
    carryover carried in (``_later_year``).
    """
    config = solver_config()
    problem = built.problem
    plan = plan_transition(
        problem,
        years=years,
        solve=lambda p: solve_rebalance(p, config, run_universe.compiled),
        risk_aversion=config.risk_aversion,
        tolerance_rate=to_float(account.transition_tolerance_rate),
        discount_rate=settings.OPTIMIZER_TRANSITION_DISCOUNT_RATE,
        annual_profile=replace(
            problem.tax_profile,
            **_annual_budgets(account),
            **_later_year(summary if account.is_taxable else None),
        ),
        realized_this_year_amount=to_float(summary.short_term + summary.long_term),
    )
    return replace(built, problem=plan.this_year_problem(problem), transition=plan)


def _books_gate(*, account: Account, lots: LotArrays, where: slice) -> str | None:
    missing = np.flatnonzero(~lots.has_basis[where])
    codes = lots.codes[where][missing]
    missing_basis = [lots.names[code] for code in np.unique(codes).tolist()]  # names are sorted
    if missing_basis:
        return f"lots without cost basis: {', '.join(missing_basis)} (import the basis first)"
    if account.cash_amount < 0:
        return f"negative cash {account.cash_amount} (unsettled trades or an overdraft)"
    return None


@dataclass(frozen=True)
class _PriceCheck:
    """The run's priced names and those priced before ``limit`` (stale), once per chunk."""

    index: dict[str, int]
    limit: date
    stale: frozenset[str]

    def gate(self, wanted: set[str]) -> str | None:
        unpriced = sorted(wanted.difference(self.index))
        if unpriced:
            return f"no price for {', '.join(unpriced)}"
        stale = sorted(wanted & self.stale)
        if stale:
            return f"stale prices (older than {self.limit}): {', '.join(stale)}"
        return None


@dataclass(frozen=True)
class _TargetWeights:
    """A target's names with a positive weight and, when all are priced, its weight vector."""

    symbols: frozenset[str]
    weights: npt.NDArray[np.float64] | None  # universe order; None: a name is not in it

    @classmethod
    def of(cls, target: EffectiveTarget, index: dict[str, int], size: int) -> "_TargetWeights":
        positive = {symbol: weight for symbol, weight in target.weights.items() if weight > 0}
        if not all(symbol in index for symbol in positive):
            return cls(frozenset(positive), None)
        weights = np.zeros(size)
        for symbol, weight in positive.items():
            weights[index[symbol]] = to_float(weight)
        weights.flags.writeable = False  # shared by the problems of the accounts sharing it
        return cls(frozenset(positive), weights)


def _account_problem(
    *,
    account: Account,
    lots: LotArrays,
    where: slice,
    lot_symbol: npt.NDArray[np.int64],
    recent: list[RecentTrade],
    summary: RealizedSummary | None,
    target: EffectiveTarget | ApplicationError | None,
    target_weights: _TargetWeights | None,
    as_of: date,
    mode: str,
    run_universe: RunUniverse,
    prices: _PriceCheck,
    reserved_cash: Decimal,
    identical: tuple[frozenset[str], ...],
    substitutes: tuple[tuple[str, tuple[str, ...]], ...],
    fund_terms: dict[str, FundTradingTerms],
) -> AccountProblem | AccountSkip:
    if account.model_id is None:
        return AccountSkip(account.pk, "no model assigned")
    reason = _books_gate(account=account, lots=lots, where=where)
    if reason is not None:
        return AccountSkip(account.pk, reason)
    if not isinstance(target, EffectiveTarget) or target_weights is None:
        return AccountSkip(account.pk, f"no effective target: {target}")
    held = {lots.names[code] for code in np.unique(lots.codes[where]).tolist()}
    reason = prices.gate(held | target_weights.symbols)
    if reason is not None:
        return AccountSkip(account.pk, reason)
    index = run_universe.index
    weights = target_weights.weights
    assert weights is not None  # noqa: S101 - the gate found every target name priced  # nosec B101
    cash_weight = 1.0 - float(weights.sum())
    registration = _REGISTRATIONS[Registration(account.registration)]
    taxable = registration is core.Registration.TAXABLE
    locks = _holding_locks(lots, where, fund_terms, as_of)
    problem = core.RebalanceProblem(
        as_of=as_of,
        universe=run_universe.universe,
        target_weights=weights,
        cash_target_weight=max(cash_weight, 0.0),
        # Exact integers over powers of ten: the correctly rounded floats of the Decimals.
        lots=core.LotTable(
            lot_ids=tuple(lots.lot_keys[where]),  # LotTable keeps a tuple
            symbol_index=lot_symbol[where],
            shares=lots.shares_micro[where] / 1e6,
            basis_amount=lots.basis_cents[where] / 100.0,
            holding_period_start_days=lots.start_days[where],
            account_id=str(account.pk),
        ),
        cash_amount=to_float(account.cash_amount - reserved_cash),
        tax_profile=core.TaxProfile(
            short_term_rate=to_float(account.combined_short_term_rate) if taxable else 0.0,
            long_term_rate=to_float(account.combined_long_term_rate) if taxable else 0.0,
            registration=registration,
            harvest_threshold_rate=to_float(account.harvest_threshold_rate)
            if account.is_harvesting_enabled
            else None,
            filing_status=account.filing_status,
            **_budgets_left(account, summary),
            **_year_so_far(summary if taxable else None),
        ),
        risk_model=run_universe.risk_model,
        constraints=core.Constraints(
            never_buy_symbols=frozenset(target.blocked) & set(index),
            never_sell_symbols=frozenset(target.never_sell) & held,
            must_sell_symbols=(frozenset(target.blocked) & held) - frozenset(target.never_sell),
            min_trade_amount=to_float(account.min_trade_amount),
            is_fractional_shares=account.is_fractional_shares,
            share_places=quantity_places(account.custodian),
            # Mutual and money-market funds trade in dollars at NAV, fractional in any account.
            fractional_symbols=frozenset(
                s for s, terms in fund_terms.items() if terms.is_dollar_traded
            ),
            never_sell_lot_ids=frozenset(lock.lot_key for lock in locks),
            # Lots in the ledger's order (LotArrays): the custodian's FIFO is their order.
            lot_order=None if account.uses_specified_lots else account.lot_method,
            **_model_bands(account),
        ),
        wash_sale_locks=wash_sale_locks_from_history(as_of, recent, groups=identical),
        cash_reserve_amount=to_float(account.cash_reserve_amount),
        withdrawals_due_amount=to_float(
            withdrawals_due(
                account=account, as_of=as_of, horizon_days=settings.OPTIMIZER_CASH_HORIZON_DAYS
            )
        ),
        mode=core.RebalanceMode(mode),
        account_id=str(account.pk),
        substantially_identical=identical,
        tracking_error_target=_optional_float(account.tracking_error_target),
        substitutes=substitutes,
        harvest_pairs=harvest_pairs_from_history(
            recent, sectors=run_universe.sectors_by_symbol, held=held
        ),
    )
    notes = tuple(adjustment.text for adjustment in target.adjustments)
    return AccountProblem(
        account_id=account.pk,
        household_id=account.household_id,
        problem=problem,
        target_notes=notes,
        holding_locks=locks,
    )


def _holding_locks(
    lots: LotArrays, where: slice, fund_terms: dict[str, FundTradingTerms], as_of: date
) -> tuple[HoldingLock, ...]:
    """The account's fund lots that their fund's minimum holding period locks on ``as_of``."""
    held_days = {s: t.min_holding_days for s, t in fund_terms.items() if t.min_holding_days}
    if not held_days:
        return ()
    codes = lots.codes[where]
    # Only the lots of such funds, picked vectorised (a 500-name account holds ~1,600 lots).
    funds = [j for j, name in enumerate(lots.names) if name in held_days]
    pick = np.flatnonzero(np.isin(codes, funds))
    found: dict[str, HoldingLock] = {}  # by lot key (a lot split by a wash sale: one lock)
    for key, code, acquired in zip(
        lots.lot_keys[where][pick].tolist(),
        codes[pick].tolist(),
        lots.acquired_days[where][pick].tolist(),
        strict=True,
    ):
        symbol = lots.names[code]
        lock = holding_lock(
            lot_key=key,
            symbol=symbol,
            acquired_on=date.fromordinal(acquired),
            min_holding_days=held_days.get(symbol),
            on=as_of,
        )
        if lock is not None:
            found.setdefault(key, lock)
    return tuple(found.values())


# The parts of an account's input that a proposal depends on, as the advisor would name them;
# the run-wide universe and risk model, the wash-sale locks (household trades, checked by
# the pre-trade checks at order creation) and the firm-wide substantially identical groups
# (like the universe; the pre-trade checks apply the groups in force at order creation) are
# not part of it.
_DIGEST_PARTS = {
    "holdings": ("lots",),
    "cash": ("cash_amount",),
    "target (model, screens, outside holdings)": ("target_weights", "cash_target_weight"),
    # tracking_error_target: hashed only when set (as risk_aversion_scale below).
    "restrictions and trading settings": ("constraints", "tracking_error_target"),
    # risk_aversion_scale: a transition's last year (hashed only when raised, so the digests of
    # proposals stored before it existed stay valid).
    "tax settings and budget": ("tax_profile", "risk_aversion_scale"),
    "cash needs": ("cash_reserve_amount", "withdrawals_due_amount"),
}

# Problem fields hashed only when they differ from their default (given here), so the digests of
# proposals stored before them stay valid.
_HASHED_WHEN_SET: dict[str, float | None] = {
    "risk_aversion_scale": 1.0,
    "tracking_error_target": None,
}


# Constraints fields hashed only when set (JSON form of their default), for the same reason.
_CONSTRAINTS_HASHED_WHEN_SET: dict[str, Any] = {"fractional_symbols": []}


def input_digest(problem: core.RebalanceProblem) -> dict[str, str]:
    """A short digest of each part of an account's optimizer input (``_DIGEST_PARTS``).

    Two builds of the same account with the same run give equal digests unless its holdings,
    cash, target, restrictions, settings or cash needs changed in between; the parts that differ
    say what changed.
    """
    digests = {}
    for part, names in _DIGEST_PARTS.items():
        h = hashlib.blake2b(digest_size=8)
        for name in names:
            value = getattr(problem, name)
            if name in _HASHED_WHEN_SET:
                if value != _HASHED_WHEN_SET[name]:
                    h.update(repr(float(value)).encode())
            elif name == "lots":
                table = core.lot_table(value)
                h.update("\0".join(table.lot_ids).encode())
                for array in (
                    table.symbol_index,
                    table.shares,
                    table.basis_amount,
                    table.holding_period_start_days,
                ):
                    h.update(np.ascontiguousarray(array).tobytes())
            elif isinstance(value, np.ndarray):
                h.update(np.ascontiguousarray(value).tobytes())
            elif name == "constraints":
                data = to_jsonable(value)
                for key, default in _CONSTRAINTS_HASHED_WHEN_SET.items():
                    if data.get(key) == default:
                        del data[key]
                h.update(json.dumps(data, sort_keys=True).encode())
            else:
                h.update(json.dumps(to_jsonable(value), sort_keys=True).encode())
        digests[part] = h.hexdigest()
    return digests


def input_changes(*, stored: dict[str, str], now: dict[str, str]) -> list[str]:
    """The parts of the input that differ (all of them when nothing was stored)."""
    if not stored:
        return ["the proposal predates input digests"]
    return [part for part in now if stored.get(part) != now[part]]
