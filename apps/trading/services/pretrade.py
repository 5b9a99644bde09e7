"""Before trades go out: is a proposal still current, and is it safe to send?

Two gates, both run when proposals are approved and again when orders are created:

- **Current**: the account's optimizer input is rebuilt now with the proposal's run (same
  prices and risk model, open orders reserved) and its digest compared part by part with the
  one stored at the solve (``adapters.input_digest``). Any difference in holdings, cash,
  target, restrictions, settings or cash needs makes the proposal stale, with the parts named.
- **Safe** (at order creation only, over everything already ordered and not yet filled or
  cancelled, and the proposals ordered before it in the same batch): no lot sold beyond what
  is held; cash after the buys, priced with ``buy_price_buffer_rate``, not below the reserve (nor
  below the cash before, when that is already under the reserve); no
  never-buy or screened name bought; no wash sale created across the household (a loss sale and
  a purchase of the same or a substantially identical security: IRC §1091(a)); whole shares in
  whole-share accounts (a fractional lot in whole shares or entirely: docs/tax-rules.md), except
  mutual and money-market funds (traded in dollars at NAV, fractional in every account); no lot
  of a fund sold before its minimum holding period is over on the trade date (the fund's
  short-term redemption rule, ``apps.optimizer.funds``).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Min, Sum

from apps.accounts.custodians import quantity_places
from apps.accounts.models import Account, Registration, TaxLot
from apps.common.money import ZERO, round_money
from apps.common.tenancy import firm_today
from apps.optimizer import adapters
from apps.optimizer.core import types as core
from apps.optimizer.core.locks import identical_symbols, identical_to
from apps.optimizer.funds import holding_lock
from apps.securities.selectors import fund_trading_terms_get
from apps.trading.models import Proposal, ProposedTrade, RebalanceRun, TradeSide
from apps.trading.orders.selectors import buy_price_buffer_rate, reservations_for
from apps.trading.services.universes import run_universe_get


@dataclass(frozen=True)
class Currency:
    """Whether a proposal's account is as it was computed; the problem rebuilt now if it is."""

    problem: core.RebalanceProblem | None
    stale_reason: str  # empty when current


def proposals_currency(proposals: Sequence[Proposal]) -> dict[int, Currency]:
    """Rebuild each proposal's account input with its run and compare digests (by proposal id).

    A few queries per run among the proposals (the lot read and targets of its accounts).
    """
    by_run: dict[int, list[Proposal]] = defaultdict(list)
    for proposal in proposals:
        by_run[proposal.run_id].append(proposal)
    runs = RebalanceRun.objects.in_bulk(list(by_run))
    out: dict[int, Currency] = {}
    for run_id, members in by_run.items():
        run = runs[run_id]
        account_ids = [p.account_id for p in members]
        if not run.universe_snapshot:
            for p in members:
                out[p.pk] = Currency(None, f"run #{run_id} kept no universe to check against")
            continue
        problems, skips = adapters.account_problems_build(
            account_ids=account_ids,
            as_of=run.as_of,
            mode=run.mode,
            run_universe=run_universe_get(run),
            reserved=reservations_for(account_ids=account_ids, as_of=run.as_of),
        )
        built = {b.account_id: b.problem for b in problems}
        skipped = {s.account_id: s.reason for s in skips}
        for p in members:
            problem = built.get(p.account_id)
            if problem is None:
                reason = skipped.get(p.account_id, "the account could not be rebuilt")
                out[p.pk] = Currency(None, f"the account would be skipped now: {reason}")
                continue
            changed = adapters.input_changes(
                stored=p.input_digest, now=adapters.input_digest(problem)
            )
            reason = (
                f"the account changed since run #{run_id} computed this proposal "
                f"({', '.join(changed)}): re-run it"
                if changed
                else ""
            )
            out[p.pk] = Currency(problem if not changed else None, reason)
    return out


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass
class _Household:
    """Trades in flight in a household, and those accepted earlier in this batch."""

    loss_sells: dict[str, str] = field(default_factory=dict)  # symbol -> where
    buys: dict[str, str] = field(default_factory=dict)  # symbol -> where

    def add(self, *, symbol: str, side: str, is_loss: bool, where: str) -> None:
        if side == TradeSide.BUY:
            self.buys.setdefault(symbol, where)
        elif is_loss:
            self.loss_sells.setdefault(symbol, where)


@dataclass(frozen=True)
class PretradeBook:
    """What the checks read, once per batch: lots held, open orders, accounts."""

    lots: dict[tuple[int, str], Decimal]  # shares held, by (account id, lot key)
    reserved_shares: dict[tuple[int, str], Decimal]  # open sells, by (account id, lot key)
    reserved_cash: dict[int, Decimal]  # open buys at the buffered price, by account
    households: dict[int, _Household]
    accounts: dict[int, Account]
    # Fund lots with a minimum holding period: (symbol, purchase date, days), by (account, key).
    fund_lots: dict[tuple[int, str], tuple[str, date, int]] = field(default_factory=dict)
    trade_on: date = date.min  # the day the orders go out (the firm's today)

    @classmethod
    def read(cls, account_ids: Iterable[int]) -> "PretradeBook":
        """Lots, accounts and every open allocation of the accounts' households."""
        accounts = Account.objects.in_bulk(list(account_ids))
        rows = list(
            TaxLot.objects.filter(account_id__in=list(accounts))
            .values("account_id", "lot_key", "symbol")
            .annotate(shares=Sum("shares"), acquired_on=Min("acquired_on"))
        )
        lots = {(row["account_id"], row["lot_key"]): row["shares"] for row in rows}
        terms = fund_trading_terms_get(symbols={row["symbol"] for row in rows})
        fund_lots = {
            (row["account_id"], row["lot_key"]): (
                row["symbol"],
                row["acquired_on"],
                terms[row["symbol"]].min_holding_days,
            )
            for row in rows
            if row["symbol"] in terms and terms[row["symbol"]].min_holding_days
        }
        today = firm_today()
        reserved = reservations_for(account_ids=list(accounts), as_of=today)
        households: dict[int, _Household] = defaultdict(_Household)
        for household_id, trades in reserved.household_trades.items():
            for trade in trades:
                households[household_id].add(
                    symbol=trade.symbol,
                    side=trade.side,
                    is_loss=trade.is_loss,
                    where=f"an open order of account {trade.account_id}",
                )
        return cls(
            lots,
            reserved.lot_shares,
            reserved.cash_amount,
            households,
            accounts,
            fund_lots,  # type: ignore[arg-type]  # the filter keeps only days set
            today,
        )

    def check(
        self, *, proposal: Proposal, trades: Sequence[ProposedTrade], problem: core.RebalanceProblem
    ) -> list[str]:
        """Every reason this proposal may not be sent now (empty: send it).

        ``problem`` is the account's input rebuilt now (restrictions, wash-sale history).
        """
        account = self.accounts[proposal.account_id]
        household = self.households[account.household_id]
        taxable = account.registration == Registration.TAXABLE
        buffer = buy_price_buffer_rate()
        reasons: list[str] = []
        never_buy = problem.constraints.never_buy_symbols | problem.constraints.must_sell_symbols
        locks = problem.wash_sale_locks
        selling: dict[str, Decimal] = defaultdict(lambda: ZERO)
        cash = account.cash_amount - self.reserved_cash.get(account.pk, ZERO)
        # Trades may not take cash below the reserve, nor below where it already is (a
        # proposal raising cash for an account under its reserve goes out).
        floor = min(account.cash_reserve_amount, round_money(cash))
        # Mutual and money-market funds trade in dollars at NAV: fractions in every account.
        fractional = problem.constraints.fractional_symbols
        loss_sold = {t.symbol for t in trades if t.side == TradeSide.SELL and _is_loss(t, taxable)}
        bought = {t.symbol for t in trades if t.side == TradeSide.BUY}
        whole_lots = set()
        for trade in trades:
            if trade.side == TradeSide.SELL:
                selling[trade.lot_key] += trade.shares
                if trade.symbol not in fractional:
                    whole_lots.add(trade.lot_key)
                cash += trade.shares * trade.price * (1 - buffer)
            else:
                cash -= trade.shares * trade.price * (1 + buffer)
        for lot_key, shares in sorted(selling.items()):
            key = (account.pk, lot_key)
            held = self.lots.get(key, ZERO)
            reserved = self.reserved_shares.get(key, ZERO)
            if shares > held - reserved:
                reasons.append(
                    f"sells {_text(shares)} shares of lot {lot_key}, which holds {_text(held)}"
                    + (f" ({_text(reserved)} already in open orders)" if reserved else "")
                )
            fund = self.fund_lots.get(key)
            lock = fund and holding_lock(
                lot_key=lot_key,
                symbol=fund[0],
                acquired_on=fund[1],
                min_holding_days=fund[2],
                on=self.trade_on,
            )
            if lock:
                reasons.append(f"sells lot {lot_key}: {lock.reason}")
            whole = not account.is_fractional_shares and lot_key in whole_lots
            if whole and _fraction(shares) and shares != held:
                reasons.append(
                    f"sells {_text(shares)} shares of lot {lot_key} in a whole-share account "
                    "(a fractional lot is sold in whole shares or entirely)"
                )
        cash = round_money(cash)  # cents: what the custodian's books can show
        if cash < floor:
            reserve = account.cash_reserve_amount
            reasons.append(
                f"cash after the trades would be {cash:,.2f} (open orders and a "
                f"{(buffer * 10_000).normalize():f} bp price buffer included), below "
                + (
                    f"the reserve of {reserve:,.2f}"
                    if floor == reserve
                    else f"the cash before them, {floor:,.2f} (the reserve is {reserve:,.2f})"
                )
            )
        # A security substantially identical to the one traded counts as the same (IRC §1091(a)).
        index = identical_symbols(problem.substantially_identical)
        for symbol in sorted(bought):
            same = sorted(identical_to(symbol, index))
            sold_elsewhere = [s for s in same if s in household.loss_sells]
            sold_here = [s for s in same if s in loss_sold]
            if symbol in never_buy:
                reasons.append(f"buys {symbol}, which the account may not buy (restriction)")
            if sold_elsewhere:
                other = sold_elsewhere[0]
                reasons.append(
                    f"buys {symbol} while {household.loss_sells[other]} sells "
                    f"{_it(other, symbol)} at a loss (wash sale, IRC §1091)"
                )
            elif sold_here:
                reasons.append(
                    f"buys {symbol} and sells {_it(sold_here[0], symbol)} at a loss "
                    "(wash sale, IRC §1091)"
                )
            elif symbol in locks.no_buy_symbols:
                reasons.append(
                    f"buys {symbol}: it or a substantially identical security was sold at a "
                    "loss in the household within 30 days"
                    if len(same) > 1
                    else f"buys {symbol}, sold at a loss in the household within 30 days"
                )
        for symbol in sorted(loss_sold):
            same = sorted(identical_to(symbol, index))
            bought_elsewhere = [s for s in same if s in household.buys]
            if bought_elsewhere:
                other = bought_elsewhere[0]
                reasons.append(
                    f"sells {symbol} at a loss while {household.buys[other]} buys "
                    f"{_it(other, symbol)} (wash sale, IRC §1091)"
                )
            elif symbol in locks.no_loss_sale_symbols:
                reasons.append(
                    f"sells {symbol} at a loss: it or a substantially identical security was "
                    "bought in the household within 30 days"
                    if len(same) > 1
                    else f"sells {symbol} at a loss, bought in the household within 30 days"
                )
        places = quantity_places(account.custodian)
        reasons += [
            f"{t.side}s {_text(t.shares)} shares of {t.symbol}: {account.custodian} takes "
            f"{places} decimal places"
            for t in trades
            if _places(t.shares) > places
        ]
        whole_only = not account.is_fractional_shares
        reasons += [
            f"buys {_text(t.shares)} shares of {t.symbol} in a whole-share account"
            for t in trades
            if t.side == TradeSide.BUY
            and whole_only
            and t.symbol not in fractional
            and _fraction(t.shares)
        ]
        return reasons

    def accept(self, *, proposal: Proposal, trades: Sequence[ProposedTrade]) -> None:
        """Count an ordered proposal's trades as in flight for the rest of the batch."""
        account = self.accounts[proposal.account_id]
        taxable = account.registration == Registration.TAXABLE
        household = self.households[account.household_id]
        where = f"proposal #{proposal.pk} (account {account.pk}) ordered in this batch"
        for trade in trades:
            household.add(
                symbol=trade.symbol,
                side=trade.side,
                is_loss=trade.side == TradeSide.SELL and _is_loss(trade, taxable),
                where=where,
            )


def _it(traded: str, symbol: str) -> str:
    """``it`` for the symbol itself, else the substantially identical symbol traded."""
    return "it" if traded == symbol else traded


def _is_loss(trade: ProposedTrade, taxable: bool) -> bool:
    """A sale below basis in a taxable account: a loss the wash-sale rule can disallow."""
    return taxable and trade.realized_gain_amount is not None and trade.realized_gain_amount < 0


def _fraction(shares: Decimal) -> bool:
    return shares != shares.to_integral_value()


def _places(shares: Decimal) -> int:
    exponent = shares.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0
