"""The tax-naive shadow of an account: the path-consistent counterfactual (docs/taxes-saved.md).

Pure: plain data in, plain data out; no Django, no clock, no I/O. Money is USD ``Decimal`` (cents),
quantities are shares (``Decimal``), weights are fractions of the account's value.

The shadow starts from the account's own opening trades (the lots it joined with), receives the
same cash flows (deposits, withdrawals, dividends, fees) and, on each date the account was
rebalanced (a proposal with filled quantities), trades as the documented tax-naive advisor: every
name back to its target weight at that day's prices, overweights sold with first-in-first-out lot
relief, no harvesting, no deferral, no gains budget. Its trades go through the real tax-lot engine
(``apps.taxlots.engine.replay``), its own wash sales included, so its realized gains per year and
its open lots are what the ledger would have booked had the firm been tax-naive.

:func:`path_years` reads one path (ours or the shadow's) year by year: realized gains by term,
losses realized, unrealized gain at each year end and the amount traded. Both paths go through
it, so the comparison is like for like.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from apps.reports.taxes_saved import PathFigures
from apps.taxlots import engine
from apps.taxlots.rules import Term

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CashFlow:
    """Cash into (+) or out of (-) the account on a date, USD."""

    on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RebalanceDay:
    """A date the account was rebalanced, with that day's targets and prices.

    Attributes:
        on: the rebalance's business date.
        targets: weight of the account's value per symbol (fractions, summing to at most 1; the
            rest is the cash target). Held names without a target are sold.
        prices: USD per share for every name held or targeted that day.
    """

    on: date
    targets: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]

    def __post_init__(self) -> None:
        if any(w < ZERO for w in self.targets.values()) or sum(self.targets.values()) > 1:
            raise ValueError(f"{self.on}: target weights are fractions summing to at most 1")


@dataclass(frozen=True, slots=True)
class Shadow:
    """The shadow's whole history: its trades in order (opening trades first) and the replay."""

    trades: tuple[engine.Trade, ...]
    replay: engine.ReplayResult
    cash: Decimal


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _shares(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def shadow_build(
    *,
    account: str,
    account_type: engine.AccountType,
    opening: Sequence[engine.Trade],
    opening_cash: Decimal,
    flows: Iterable[CashFlow],
    rebalances: Iterable[RebalanceDay],
    quantity_places: int,
    substantially_identical: tuple[frozenset[str], ...] = (),
) -> Shadow:
    """Build the tax-naive shadow of one account.

    Args:
        account: the engine account id the opening trades use.
        account_type: its registration (an IRA realizes nothing taxable).
        opening: the account's trades before its first rebalance, in order (the lots it joined
            with); the shadow starts from exactly these.
        opening_cash: the account's cash after them, USD.
        flows: cash flows after the opening, any order; a flow on a rebalance date is applied
            before that day's trades (a deposit funds them, a withdrawal is raised by them).
        rebalances: the account's rebalance dates with targets and prices, any order; two on one
            date keep the last given.
        quantity_places: decimal places of shares traded (0 for whole shares).
        substantially_identical: symbol groups for the engine's wash-sale rule.

    Returns:
        Opening plus shadow trades, their replay (FIFO relief) and the cash left, USD.

    Raises:
        ValueError: a rebalance lacks the price of a name held or targeted.
        engine.ReplayError: the opening trades cannot be replayed.
    """
    holdings: dict[str, Decimal] = {}
    for trade in opening:
        sign = 1 if trade.side is engine.Side.BUY else -1
        holdings[trade.symbol] = holdings.get(trade.symbol, ZERO) + sign * trade.quantity
    cash = opening_cash
    days = {r.on: r for r in rebalances}
    pending = sorted(flows, key=lambda f: f.on)
    trades = list(opening)
    k = 0
    for on in sorted(days):
        while k < len(pending) and pending[k].on <= on:
            cash += pending[k].amount
            k += 1
        day = days[on]
        held = {s: q for s, q in holdings.items() if q > ZERO}
        missing = sorted(s for s in set(held) | set(day.targets) if s not in day.prices)
        if missing:
            raise ValueError(f"{on}: no price for {', '.join(missing)}")
        value = cash + sum((q * day.prices[s] for s, q in held.items()), ZERO)
        wanted = {
            s: _shares(w * value / day.prices[s], quantity_places) if value > ZERO else ZERO
            for s, w in day.targets.items()
        }
        sells, buys = [], []
        for symbol in sorted(set(held) | set(wanted)):
            change = wanted.get(symbol, ZERO) - held.get(symbol, ZERO)
            if change < ZERO:
                sells.append((symbol, -change))
            elif change > ZERO:
                buys.append((symbol, change))
        # Sells first: their proceeds fund the buys, as in a real rebalance.
        for side, orders in ((engine.Side.SELL, sells), (engine.Side.BUY, buys)):
            for symbol, quantity in orders:
                amount = _money(quantity * day.prices[symbol])
                trades.append(
                    engine.Trade(
                        id=f"shadow:{on.isoformat()}:{symbol}:{side.value}",
                        date=on,
                        account=account,
                        symbol=symbol,
                        side=side,
                        quantity=quantity,
                        amount=amount,
                        lot_method=engine.LotMethod.FIFO if side is engine.Side.SELL else None,
                        buy_group=f"shadow:{on.isoformat()}" if side is engine.Side.BUY else None,
                    )
                )
                sign = -1 if side is engine.Side.SELL else 1
                holdings[symbol] = holdings.get(symbol, ZERO) + sign * quantity
                cash -= sign * amount
    cash += sum((f.amount for f in pending[k:]), ZERO)
    result = engine.replay(
        [engine.AccountSpec(id=account, type=account_type)],
        trades,
        engine.ReplayParams(
            lot_method=engine.LotMethod.FIFO, substantially_identical=substantially_identical
        ),
    )
    return Shadow(trades=tuple(trades), replay=result, cash=cash)


def path_years(
    *,
    account: str,
    account_type: engine.AccountType,
    trades: Sequence[engine.Trade],
    year_ends: Mapping[int, tuple[date, Mapping[str, Decimal]]],
    counted_from: date,
    params: engine.ReplayParams | None = None,
) -> list[PathFigures]:
    """One path's figures for each year of ``year_ends``.

    Args:
        account: the engine account id.
        account_type: its registration.
        trades: the path's trades in order.
        year_ends: per year, the valuation date (December 31, or the report date in the
            current year) and USD prices per share of the names held then (a name without
            a price is valued at its adjusted basis: no unrealized gain).
        counted_from: trades before this date (the opening) are not counted as traded.
        params: the replay's settings (lot method for sells that name none, identical groups).

    Returns:
        One :class:`PathFigures` per year, ascending. Realized figures are the engine's reportable
        gains (wash-sale disallowances included) of sells dated in the year.
    """
    spec = [engine.AccountSpec(id=account, type=account_type)]
    whole = engine.replay(spec, trades, params)
    sold_on = {t.id: t.date for t in trades if t.side is engine.Side.SELL}
    years = []
    for year in sorted(year_ends):
        end, prices = year_ends[year]
        rows = [r for r in whole.realized if sold_on[r.sell_id].year == year]
        upto = [t for t in trades if t.date <= end]
        lots = engine.replay(spec, upto, params).lots_open
        value = sum(
            (
                _money(lot.quantity * prices[lot.symbol])
                if lot.symbol in prices
                else lot.adjusted_basis
                for lot in lots
            ),
            ZERO,
        )
        basis = sum((lot.adjusted_basis for lot in lots), ZERO)
        traded = sum(
            (t.amount for t in trades if t.date.year == year and t.date >= counted_from), ZERO
        )
        years.append(
            PathFigures(
                year=year,
                short_gain=sum(
                    (r.reportable_gain_loss for r in rows if r.term is Term.SHORT), ZERO
                ),
                long_gain=sum((r.reportable_gain_loss for r in rows if r.term is Term.LONG), ZERO),
                losses_realized=-sum(
                    (r.reportable_gain_loss for r in rows if r.reportable_gain_loss < 0), ZERO
                ),
                market_value=value,
                unrealized_gain=value - basis if account_type.is_taxable else ZERO,
                traded_amount=traded,
            )
        )
    return years
