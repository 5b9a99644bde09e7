"""Read-side assembly of an account's holdings at market (lots x latest prices), for pages."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from apps.accounts.models import Account, TaxLot
from apps.accounts.selectors import tax_lot_list_open
from apps.common.money import ZERO, round_money
from apps.securities.selectors import price_map_get
from apps.taxlots.rules import is_long_term, long_term_start


@dataclass(frozen=True)
class LotView:
    """A lot valued at the latest close (USD); ``unrealized`` is None without price or basis."""

    lot: TaxLot
    price: Decimal | None
    value: Decimal | None
    unrealized: Decimal | None
    is_long_term: bool
    days_to_long_term: int


@dataclass(frozen=True)
class PositionView:
    """All lots of one symbol."""

    symbol: str
    shares: Decimal
    value: Decimal | None
    weight: Decimal | None
    unrealized: Decimal | None
    price_on: date | None


@dataclass(frozen=True)
class Holdings:
    """An account at market: positions, lots, cash and total value (USD)."""

    positions: list[PositionView]
    lots: list[LotView]
    cash: Decimal
    total_value: Decimal
    unpriced: list[str]
    synthetic: frozenset[str]  # symbols valued at a synthetic price (not market data)


def holdings_get(*, account: Account, as_of: date) -> Holdings:
    """Value the account's lots at the latest close on or before ``as_of`` (two queries)."""
    lots = list(tax_lot_list_open(account=account))
    quotes = price_map_get(symbols={lot.symbol for lot in lots}, as_of=as_of)
    views: list[LotView] = []
    for lot in lots:
        quote = quotes.get(lot.symbol)
        price = quote.close_price if quote else None
        value = round_money(lot.shares * price) if price is not None else None
        basis = lot.adjusted_basis_amount if lot.has_basis else None
        views.append(
            LotView(
                lot=lot,
                price=price,
                value=value,
                unrealized=value - basis if value is not None and basis is not None else None,
                is_long_term=is_long_term(lot.holding_period_start_on, as_of),
                days_to_long_term=max(
                    (long_term_start(lot.holding_period_start_on) - as_of).days, 0
                ),
            )
        )
    total = account.cash_amount + sum((v.value or ZERO for v in views), ZERO)
    positions = []
    for symbol in sorted({v.lot.symbol for v in views}):
        mine = [v for v in views if v.lot.symbol == symbol]
        priced = all(v.value is not None for v in mine)
        value = sum((v.value or ZERO for v in mine), ZERO) if priced else None
        gains = [v.unrealized for v in mine]
        known = [g for g in gains if g is not None]
        quote = quotes.get(symbol)
        positions.append(
            PositionView(
                symbol=symbol,
                shares=sum((v.lot.shares for v in mine), ZERO),
                value=value,
                weight=value / total if value is not None and total else None,
                unrealized=sum(known, ZERO) if len(known) == len(gains) else None,
                price_on=quote.priced_on if quote else None,
            )
        )
    return Holdings(
        positions=positions,
        lots=views,
        cash=account.cash_amount,
        total_value=total,
        unpriced=sorted({v.lot.symbol for v in views if v.price is None}),
        synthetic=frozenset(symbol for symbol, quote in quotes.items() if quote.is_synthetic),
    )
