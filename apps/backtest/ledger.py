"""One simulated account's books: its trade history, cash, and the tax-lot engine's view of it.

Every trade is appended as an ``apps.taxlots.engine.Trade`` (``Decimal`` shares and cents) and
the lots, realized gains and wash sales are whatever ``engine.replay`` makes of the history: the
simulation never computes a basis, a term or a wash sale itself.

Speed: the engine's state is per symbol (lots per (account, symbol), wash-sale matching per
symbol), and each simulated account is its own household, so replaying one symbol's trades gives
exactly that symbol's rows of a full replay. The ledger therefore caches one replay per symbol
and replays a symbol again only when a trade in it was added. ``full_replay`` replays the whole
history at once; the tests check that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from apps.taxlots.engine import (
    AccountSpec,
    AccountType,
    LotMethod,
    LotPick,
    OpenLotRow,
    RealizedRow,
    ReplayParams,
    ReplayResult,
    Side,
    Trade,
    replay,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)


def cents(amount: float) -> Decimal:
    """A float amount of USD as ``Decimal`` cents (half-even)."""
    return Decimal(repr(float(amount))).quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(slots=True)
class AccountLedger:
    """Trade history, cash and per-symbol engine replays of one account (a household of one)."""

    account_id: str
    params: ReplayParams = field(default_factory=ReplayParams)
    cash: Decimal = ZERO
    trades: list[Trade] = field(default_factory=list)
    by_symbol: dict[str, list[Trade]] = field(default_factory=dict)
    held: dict[str, Decimal] = field(default_factory=dict)
    trade_dates: dict[str, date] = field(default_factory=dict)
    _cache: dict[str, ReplayResult] = field(default_factory=dict)
    _count: int = 0
    replays: int = 0

    @property
    def accounts(self) -> tuple[AccountSpec, ...]:
        """The household's accounts for the engine."""
        return (AccountSpec(self.account_id, AccountType.TAXABLE),)

    def _add(self, trade: Trade) -> Trade:
        self.trades.append(trade)
        self.by_symbol.setdefault(trade.symbol, []).append(trade)
        self.trade_dates[trade.id] = trade.date
        self._cache.pop(trade.symbol, None)
        return trade

    def _next_id(self, prefix: str) -> str:
        self._count += 1
        return f"{self.account_id}-{prefix}{self._count:06d}"

    def buy(
        self, day: date, symbol: str, shares: int, amount: Decimal, *, acquired: date | None = None
    ) -> Trade:
        """Buy ``shares`` for ``amount`` (cost including transaction cost), paid from cash.

        ``acquired`` books a legacy lot (the account arrives holding it): the buy is dated
        ``acquired``, its real acquisition day, so the engine sees its true holding period and
        wash-sale window (legacy lots are booked first, oldest first, so the history stays in
        order); its cost is not taken from cash.
        """
        trade = self._add(
            Trade(
                id=self._next_id("L" if acquired is not None else "B"),
                date=acquired or day,
                account=self.account_id,
                symbol=symbol,
                side=Side.BUY,
                quantity=Decimal(shares),
                amount=amount,
            )
        )
        if acquired is None:
            self.cash -= amount
        self.held[symbol] = self.held.get(symbol, ZERO) + Decimal(shares)
        return trade

    def sell(
        self,
        day: date,
        symbol: str,
        shares: int,
        amount: Decimal,
        *,
        lots: tuple[LotPick, ...] | None = None,
        method: LotMethod | None = None,
    ) -> Trade:
        """Sell ``shares`` for net proceeds ``amount`` (specific lots, or ``method``)."""
        trade = self._add(
            Trade(
                id=self._next_id("S"),
                date=day,
                account=self.account_id,
                symbol=symbol,
                side=Side.SELL,
                quantity=Decimal(shares),
                amount=amount,
                lots=lots,
                lot_method=method if lots is None else None,
            )
        )
        self.cash += amount
        self.held[symbol] = self.held.get(symbol, ZERO) - Decimal(shares)
        return trade

    @staticmethod
    def is_legacy(trade: Trade) -> bool:
        """Whether ``trade`` is a legacy lot booked at funding (not a trade of the policy)."""
        return trade.id.rsplit("-", 1)[-1].startswith("L")

    def flow(self, amount: Decimal) -> None:
        """Deposit (+) or withdraw (-) cash."""
        self.cash += amount

    def replay_symbol(self, symbol: str) -> ReplayResult:
        """The engine's replay of ``symbol``'s trades (cached until the next trade in it)."""
        cached = self._cache.get(symbol)
        if cached is None:
            cached = replay(self.accounts, self.by_symbol.get(symbol, []), self.params)
            self._cache[symbol] = cached
            self.replays += 1
        return cached

    def open_lots(self) -> list[OpenLotRow]:
        """Every open lot row of the account (adjusted basis, tacked holding periods)."""
        return [row for s in self.by_symbol for row in self.replay_symbol(s).lots_open]

    def realized(self) -> list[RealizedRow]:
        """Every realized row so far."""
        return [row for s in self.by_symbol for row in self.replay_symbol(s).realized]

    def realized_for(self, symbol: str) -> tuple[RealizedRow, ...]:
        """Realized rows of one symbol."""
        return self.replay_symbol(symbol).realized if symbol in self.by_symbol else ()

    def full_replay(self) -> ReplayResult:
        """One replay of the whole history (what the ledger would book)."""
        return replay(self.accounts, self.trades, self.params)
