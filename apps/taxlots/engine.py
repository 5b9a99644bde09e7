"""Tax-lot engine: lot relief, holding periods and wash sales over one household's trade history.

Plain data in, plain data out: :func:`replay` takes the household's accounts, its trades in the
order they happened and :class:`ReplayParams`, and returns every realized (sell, lot) row, the lots
still open, the wash-sale matches and the totals, with ``Decimal`` money (USD, cents) and
``Decimal`` quantities (shares, up to 6 places). Standard library only; no clock, no I/O.

How one pass finds wash sales in both directions (IRC §1091(a), Treas. Reg. 1.1091-1):

* Trades are applied in order. A sell relieves lots (FIFO, LIFO, HIFO or specific lots); each
  relieved piece sold below its adjusted basis in a taxable account is a *loss piece*.
* Substantially identical means the same symbol, or two symbols of one group of
  ``ReplayParams.substantially_identical`` (GOOG and GOOGL): every index below is keyed by the
  symbol's group, and a replacement keeps its own symbol, basis and holding period plus the
  adjustment (IRC §1091(a), (d); Pub 550 "Substantially identical stock or securities").
* Look back: the loss piece is matched at once against replacement shares bought in
  ``[sale - 30 days, sale]`` that are still held when the loss is realized, in acquisition
  order. Shares bought in that period but already sold are not replacements: §1091(d) adds the
  disallowed loss to the basis of the shares "so acquired", which "postpones the loss deduction
  until the disposition of the new stock" (Pub 550 "Wash Sales"); shares already disposed of
  can postpone nothing, and counting them would reopen their earlier sale and, when that sale
  is itself a loss replaced by the shares now sold, chain the loss back and forth without end
  (docs/tax-rules.md §2, "Replacements bought before the loss sale").
* Look forward: loss shares not yet replaced stay *pending* for 30 days; every later buy of the
  symbol's group, in any account, is first matched against pending losses in the order the
  losses were realized (Reg. 1.1091-1(b)) before it can be sold, so its adjusted basis is right
  when it is.
* A replacement share absorbs at most one loss share (Reg. 1.1091-1(e)); the sold lot's own
  shares and shares of the same ``buy_group`` never replace it. A taxable replacement gets the
  disallowed loss added to its basis and its holding period tacked from the sold shares' own
  holding-period start (imported or tacked, not their acquisition date) (IRC §1091(d),
  §1223(3)); an IRA replacement makes the disallowance permanent with no basis change (Rev.
  Rul. 2008-5).

Every money figure is computed exactly and rounded once, half-even, to cents when it is booked;
complementary parts are obtained by subtraction or cumulative rounding, so parts always sum
exactly to their whole (proceeds across lots, basis across pieces, disallowed loss across
replacements). Indexes: open lots per (account, symbol) in acquisition order, recent buys and
pending losses per symbol group in deques trimmed to the window, so a replay is linear in the
trades.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from enum import StrEnum

from apps.taxlots.errors import Problem, ReplayError, shortened
from apps.taxlots.rules import (
    LONG_TERM_MONTHS,
    MAX_AMOUNT,
    WASH_SALE_WINDOW_DAYS,
    Term,
    long_term_start,
    tacked_holding_period_start,
    wash_sale_window,
)

__all__ = [
    "AccountSpec",
    "AccountType",
    "LotMethod",
    "LotPick",
    "OpenLotRow",
    "RealizedRow",
    "ReplayError",
    "ReplayParams",
    "ReplayResult",
    "Side",
    "Totals",
    "Trade",
    "WashKind",
    "WashMatch",
    "apportion",
    "replay",
    "replay_checked",
    "validate_trades",
]

ZERO = Decimal(0)
CENT = Decimal("0.01")
#: Money carries at most cents; shares at most 6 places (the ledger's (20, 2) and (20, 6)).
MONEY_PLACES = 2
QUANTITY_PLACES = 6
#: Quantities are shares below this (exclusive), as in the ledger's numeric(20, 6) columns;
#: amounts are below ``rules.MAX_AMOUNT`` USD.
MAX_QUANTITY = Decimal(10**14)
# Wide enough that amount x shares / shares is exact before the single rounding to cents for
# amounts below MAX_AMOUNT and quantities below MAX_QUANTITY (40 digits).
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
#: Largest ``ReplayParams`` accepted (a century each): anything larger is a typo, not a what-if.
MAX_WASH_SALE_WINDOW_DAYS = 36525
MAX_LONG_TERM_MONTHS = 1200


class AccountType(StrEnum):
    """Account registration; IRAs are tax-deferred (their sales are not tax events)."""

    TAXABLE = "taxable"
    TRADITIONAL_IRA = "traditional_ira"
    ROTH_IRA = "roth_ira"

    @property
    def is_taxable(self) -> bool:
        """Whether gains and losses in this account are reported (Form 8949)."""
        return self is AccountType.TAXABLE


class Side(StrEnum):
    """Direction of a trade."""

    BUY = "buy"
    SELL = "sell"


class LotMethod(StrEnum):
    """Lot relief for sells that name no lots (specific identification is ``Trade.lots``)."""

    FIFO = "FIFO"
    LIFO = "LIFO"
    HIFO = "HIFO"


class WashKind(StrEnum):
    """What happened to a disallowed loss."""

    DEFERRED = "deferred"  # added to a taxable replacement's basis (IRC §1091(d))
    PERMANENT = "permanent"  # replacement bought in an IRA (Rev. Rul. 2008-5)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """One account of the household.

    Attributes:
        id: the account's id, referenced by ``Trade.account``.
        type: its registration.
    """

    id: str
    type: AccountType


@dataclass(frozen=True, slots=True)
class LotPick:
    """Shares of one lot named by a specific-identification sell.

    Attributes:
        lot_id: the buy trade's id.
        quantity: shares taken from that lot.
    """

    lot_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """One buy or sell, as it happened.

    Attributes:
        id: unique in the history; a buy's id is its lot id.
        date: trade date.
        account: ``AccountSpec.id``.
        symbol: the security. Equal symbols are substantially identical, and so are the
            symbols of one group of ``ReplayParams.substantially_identical``.
        side: buy or sell.
        quantity: shares, > 0, at most 6 decimal places.
        amount: USD, >= 0, cents: a buy's total cost (its basis), a sell's net proceeds.
        lots: sells only: specific identification of the lots sold (quantities sum to
            ``quantity``); ``None`` follows ``lot_method``.
        lot_method: sells only: overrides ``ReplayParams.lot_method``.
        buy_group: buys only: shares bought in one order share a group and never replace
            each other.
        holding_period_start: buys only, for opening positions imported without history: the
            lot's (possibly tacked) holding-period start, on or before ``date``.
        wash_adjustment: buys only, imported lots: basis already added by an earlier wash sale,
            USD >= 0. Such a lot has absorbed a loss and cannot absorb another.
    """

    id: str
    date: dt.date
    account: str
    symbol: str
    side: Side
    quantity: Decimal
    amount: Decimal
    lots: tuple[LotPick, ...] | None = None
    lot_method: LotMethod | None = None
    buy_group: str | None = None
    holding_period_start: dt.date | None = None
    wash_adjustment: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReplayParams:
    """Replay settings.

    Attributes:
        lot_method: relief for sells without ``lots`` or ``lot_method``.
        wash_sale_window_days: calendar days on each side of a loss sale (30 by statute).
        long_term_months: calendar months after which shares are long-term (12 by statute).
        substantially_identical: groups of symbols (at least two each, no symbol in two
            groups) that are substantially identical to each other (IRC §1091(a)): a purchase
            of any symbol of a group replaces a loss sale of any symbol of it. A symbol in no
            group is substantially identical only to itself.
    """

    lot_method: LotMethod = LotMethod.FIFO
    wash_sale_window_days: int = WASH_SALE_WINDOW_DAYS
    long_term_months: int = LONG_TERM_MONTHS
    substantially_identical: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True, slots=True)
class RealizedRow:
    """Shares of one lot sold by one sell (one row per distinct holding-period start).

    Money in USD cents; ``wash_sale_disallowed`` and ``disallowed_quantity`` are positive;
    ``reportable_gain_loss == gain_loss + wash_sale_disallowed``.
    """

    sell_id: str
    lot_id: str
    account: str
    symbol: str
    quantity: Decimal
    acquired_date: dt.date
    holding_period_start: dt.date
    proceeds: Decimal
    cost_basis: Decimal
    gain_loss: Decimal
    wash_sale_disallowed: Decimal
    disallowed_quantity: Decimal
    reportable_gain_loss: Decimal
    term: Term
    form8949_code: str


@dataclass(frozen=True, slots=True)
class OpenLotRow:
    """Shares still held: one row per lot and distinct (holding-period start, basis per share)."""

    lot_id: str
    account: str
    symbol: str
    quantity: Decimal
    acquired_date: dt.date
    holding_period_start: dt.date
    cost_basis_unadjusted: Decimal
    adjusted_basis: Decimal
    wash_adjustment: Decimal


@dataclass(frozen=True, slots=True)
class WashMatch:
    """Loss shares of one (sell, lot) replaced by shares of one replacement lot."""

    loss_sell_id: str
    loss_lot_id: str
    replacement_lot_id: str
    quantity: Decimal
    disallowed_loss: Decimal
    kind: WashKind
    replacement_holding_period_start: dt.date


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums of ``reportable_gain_loss`` by term, and of disallowed losses (USD)."""

    short_term: Decimal
    long_term: Decimal
    wash_disallowed_total: Decimal


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Everything a replay produces, in the order of the tax-replay output format."""

    realized: tuple[RealizedRow, ...]
    lots_open: tuple[OpenLotRow, ...]
    wash_matches: tuple[WashMatch, ...]
    totals: Totals


def apportion(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """Return ``total * part / whole`` rounded half-even to cents.

    Used cumulatively (``apportion(t, a + b, w) - apportion(t, a, w)``) or with the remainder
    taken by subtraction, so that apportioned parts always sum exactly to ``total``.

    Args:
        total: USD amount being split.
        part: the share of the split (shares).
        whole: what ``total`` corresponds to (shares), > 0.
    """
    if part == whole:
        return total
    exact = _CONTEXT.divide(_CONTEXT.multiply(total, part), whole)
    return exact.quantize(CENT, rounding=ROUND_HALF_EVEN, context=_CONTEXT)


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _where(index: int, trade_id: str) -> str:
    return f"trade {trade_id} (trades[{index}])" if trade_id else f"trades[{index}]"


# ------------------------------------------------------------------------------- validation


def _check_amount(value: Decimal, where: str, field: str, problems: list[Problem]) -> None:
    if not value.is_finite():
        problems.append(Problem(where, field, "must be a finite number"))
    elif value < ZERO:
        problems.append(Problem(where, field, f"must be >= 0 USD, got {shortened(str(value))}"))
    elif value >= MAX_AMOUNT:
        problems.append(
            Problem(where, field, f"must be below 10**18 USD, got {shortened(str(value))}")
        )
    elif _places(value) > MONEY_PLACES:
        problems.append(
            Problem(
                where, field, f"has more than 2 decimal places (cents): {shortened(str(value))}"
            )
        )


def _check_quantity(value: Decimal, where: str, field: str, problems: list[Problem]) -> None:
    if not value.is_finite():
        problems.append(Problem(where, field, "must be a finite number"))
    elif value <= ZERO:
        problems.append(Problem(where, field, f"must be > 0 shares, got {shortened(str(value))}"))
    elif value >= MAX_QUANTITY:
        problems.append(
            Problem(where, field, f"must be below 10**14 shares, got {shortened(str(value))}")
        )
    elif _places(value) > QUANTITY_PLACES:
        problems.append(
            Problem(where, field, f"has more than 6 decimal places: {shortened(str(value))}")
        )


def _validate_params(params: ReplayParams) -> list[Problem]:
    problems: list[Problem] = []
    for field, value, lowest, highest in (
        ("wash_sale_window_days", params.wash_sale_window_days, 0, MAX_WASH_SALE_WINDOW_DAYS),
        ("long_term_months", params.long_term_months, 1, MAX_LONG_TERM_MONTHS),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            problems.append(Problem("params", field, f"must be an integer >= {lowest}"))
        elif value > highest:
            problems.append(Problem("params", field, f"must be at most {highest}"))
    problems.extend(_validate_groups(params.substantially_identical))
    return problems


def _validate_groups(groups: Sequence[frozenset[str]]) -> list[Problem]:
    """Check ``ReplayParams.substantially_identical``: groups of 2+ non-empty, disjoint symbols."""
    problems: list[Problem] = []
    first_group: dict[str, int] = {}
    for index, group in enumerate(groups):
        field = f"substantially_identical[{index}]"
        symbols = sorted(s for s in group if isinstance(s, str) and s)
        if len(symbols) != len(group):
            problems.append(Problem("params", field, "symbols must be non-empty strings"))
        if len(group) < 2:
            problems.append(
                Problem(
                    "params", field, f"a group needs at least 2 different symbols, got {len(group)}"
                )
            )
        for symbol in symbols:
            if symbol in first_group:
                problems.append(
                    Problem(
                        "params",
                        field,
                        f"{shortened(symbol)!r} is already in "
                        f"substantially_identical[{first_group[symbol]}]: a symbol belongs to "
                        "one group",
                    )
                )
            else:
                first_group[symbol] = index
    return problems


def _validate(
    accounts: Sequence[AccountSpec],
    trades: Sequence[Trade],
    params: ReplayParams,
    unparsable: frozenset[int] = frozenset(),
) -> tuple[list[Problem], set[int]]:
    """Static checks; returns the problems and the indexes of trades too broken to apply.

    ``unparsable`` trades (already reported by the file parser) are placeholders: they are
    skipped, but their ids still count as taken and as known lots.
    """
    problems = _validate_params(params)
    account_ids: set[str] = set()
    for index, account in enumerate(accounts):
        where = f"account {account.id} (accounts[{index}])" if account.id else f"accounts[{index}]"
        if not account.id:
            problems.append(Problem(where, "id", "must be a non-empty string"))
        elif account.id in account_ids:
            problems.append(Problem(where, "id", "duplicate account id"))
        account_ids.add(account.id)

    broken: set[int] = set()
    seen: dict[str, int] = {}
    buys: dict[str, Trade] = {}
    previous_date: dt.date | None = None
    for index, trade in enumerate(trades):
        where = _where(index, trade.id)
        if index in unparsable:
            broken.add(index)
            seen.setdefault(trade.id, index)
            if trade.side is Side.BUY:
                buys.setdefault(trade.id, trade)
            continue
        found: list[Problem] = []
        if not trade.id:
            found.append(Problem(where, "id", "must be a non-empty string"))
        elif trade.id in seen:
            found.append(Problem(where, "id", f"duplicate of trades[{seen[trade.id]}]"))
        else:
            seen[trade.id] = index
        if trade.account not in account_ids:
            found.append(Problem(where, "account", f"unknown account {trade.account!r}"))
        if not trade.symbol:
            found.append(Problem(where, "symbol", "must be a non-empty string"))
        if previous_date is not None and trade.date < previous_date:
            found.append(
                Problem(
                    where,
                    "date",
                    f"{trade.date.isoformat()} is before the previous trade's "
                    f"{previous_date.isoformat()}: trades must be in the order they happened",
                )
            )
        else:
            previous_date = trade.date
        _check_quantity(trade.quantity, where, "quantity", found)
        _check_amount(trade.amount, where, "amount", found)
        if trade.side is Side.BUY:
            found.extend(_validate_buy(trade, where))
            if trade.id and trade.id not in buys:
                buys[trade.id] = trade
        else:
            found.extend(_validate_sell(trade, where, buys))
        if found:
            broken.add(index)
            problems.extend(found)
    return problems, broken


def _validate_buy(trade: Trade, where: str) -> list[Problem]:
    found: list[Problem] = []
    if trade.lots is not None:
        found.append(Problem(where, "lots", "only a sell names lots"))
    if trade.lot_method is not None:
        found.append(Problem(where, "lot_method", "only a sell has a lot method"))
    if trade.holding_period_start is not None and trade.holding_period_start > trade.date:
        found.append(Problem(where, "holding_period_start", "must be on or before the trade date"))
    if trade.wash_adjustment is not None:
        _check_amount(trade.wash_adjustment, where, "wash_adjustment", found)
    return found


def _validate_sell(trade: Trade, where: str, buys: dict[str, Trade]) -> list[Problem]:
    found: list[Problem] = []
    found.extend(
        Problem(where, field, "applies to buys only")
        for field in ("buy_group", "holding_period_start", "wash_adjustment")
        if getattr(trade, field) is not None
    )
    if trade.lots is None:
        return found
    if not trade.lots:
        found.append(Problem(where, "lots", "is empty; omit it to use the lot method"))
        return found
    total = ZERO
    named: set[str] = set()
    for pick_index, pick in enumerate(trade.lots):
        field = f"lots[{pick_index}]"
        _check_quantity(pick.quantity, where, f"{field}.quantity", found)
        if pick.quantity.is_finite() and pick.quantity.copy_abs() < MAX_QUANTITY:
            total += pick.quantity
        if pick.lot_id in named:
            found.append(Problem(where, f"{field}.lot_id", f"lot {pick.lot_id!r} named twice"))
        named.add(pick.lot_id)
        buy = buys.get(pick.lot_id)
        if buy is None:
            found.append(
                Problem(where, f"{field}.lot_id", f"unknown lot {pick.lot_id!r}: no earlier buy")
            )
        elif (buy.account, buy.symbol) != (trade.account, trade.symbol):
            found.append(
                Problem(
                    where,
                    f"{field}.lot_id",
                    f"lot {pick.lot_id!r} holds {buy.symbol} in account {buy.account}, "
                    f"not {trade.symbol} in {trade.account}",
                )
            )
    if trade.quantity.is_finite() and total != trade.quantity:
        found.append(
            Problem(where, "lots", f"quantities sum to {total}, not the sell's {trade.quantity}")
        )
    return found


def validate_trades(
    accounts: Sequence[AccountSpec], trades: Sequence[Trade], params: ReplayParams
) -> list[Problem]:
    """Return every problem that can be found without replaying (empty when the input is sound).

    Checks ids (non-empty, unique), accounts, dates in order, quantities (> 0, 6 places),
    amounts (>= 0, cents), fields that belong to the other side, and specific-lot picks (an
    earlier buy of the same account and symbol, quantities summing to the sell). Holdings
    (no oversells, picks still open) are checked by :func:`replay`.
    """
    return _validate(accounts, trades, params)[0]


# ---------------------------------------------------------------------------- replay state


class _Piece:
    """Shares of a lot sharing one basis per share and one holding-period start."""

    __slots__ = ("absorbed", "adjustment", "basis", "hps", "quantity")

    def __init__(
        self,
        quantity: Decimal,
        basis: Decimal,
        adjustment: Decimal,
        hps: dt.date,
        *,
        absorbed: bool,
    ) -> None:
        self.quantity = quantity
        self.basis = basis  # USD, unadjusted cost of these shares
        self.adjustment = adjustment  # USD, wash-sale basis adjustment
        self.hps = hps
        self.absorbed = absorbed  # replaced a loss share already (one loss per share)

    def split(self, quantity: Decimal) -> _Piece:
        """Detach ``quantity`` shares (< ``self.quantity``) as a new piece; the rest stays."""
        basis = apportion(self.basis, quantity, self.quantity)
        adjustment = ZERO
        if self.adjustment:
            adjustment = apportion(self.adjustment, quantity, self.quantity)
        self.quantity -= quantity
        self.basis -= basis
        self.adjustment -= adjustment
        return _Piece(quantity, basis, adjustment, self.hps, absorbed=self.absorbed)


class _Lot:
    """One buy's shares; pieces are [absorbed..., unabsorbed remainder] in that order."""

    __slots__ = (
        "account",
        "acquired",
        "buy_group",
        "id",
        "is_taxable",
        "open_quantity",
        "pieces",
        "seq",
        "symbol",
    )

    def __init__(self, trade: Trade, seq: int, *, is_taxable: bool) -> None:
        self.id = trade.id
        self.account = trade.account
        self.symbol = trade.symbol
        self.acquired = trade.date
        self.seq = seq
        self.buy_group = trade.buy_group
        self.is_taxable = is_taxable
        self.open_quantity = trade.quantity
        adjustment = trade.wash_adjustment or ZERO
        self.pieces = [
            _Piece(
                trade.quantity,
                trade.amount.quantize(CENT),
                adjustment.quantize(CENT),
                trade.holding_period_start or trade.date,
                absorbed=adjustment > ZERO,
            )
        ]

    @property
    def capacity(self) -> Decimal:
        """Shares still held that have not absorbed a loss (all in the last piece)."""
        if not self.pieces:
            return ZERO
        last = self.pieces[-1]
        return ZERO if last.absorbed else last.quantity


class _Row:
    """Accumulates one realized row: (sell, lot, holding-period start)."""

    __slots__ = (
        "basis",
        "disallowed",
        "disallowed_quantity",
        "hps",
        "lot",
        "proceeds",
        "quantity",
        "sell",
        "term",
    )

    def __init__(self, sell: Trade, lot: _Lot, hps: dt.date, term: Term) -> None:
        self.sell = sell
        self.lot = lot
        self.hps = hps
        self.term = term
        self.quantity = ZERO
        self.proceeds = ZERO
        self.basis = ZERO
        self.disallowed = ZERO
        self.disallowed_quantity = ZERO

    def freeze(self) -> RealizedRow:
        gain = self.proceeds - self.basis
        return RealizedRow(
            sell_id=self.sell.id,
            lot_id=self.lot.id,
            account=self.lot.account,
            symbol=self.lot.symbol,
            quantity=self.quantity,
            acquired_date=self.lot.acquired,
            holding_period_start=self.hps,
            proceeds=self.proceeds,
            cost_basis=self.basis,
            gain_loss=gain,
            wash_sale_disallowed=self.disallowed,
            disallowed_quantity=self.disallowed_quantity,
            reportable_gain_loss=gain + self.disallowed,
            term=self.term,
            form8949_code="W" if self.disallowed_quantity > ZERO else "",
        )


class _Loss:
    """Loss shares of one relieved piece, waiting for replacement shares."""

    __slots__ = (
        "disallowed",
        "hps",
        "loss",
        "lot",
        "matched",
        "order",
        "quantity",
        "row",
        "sold_on",
    )

    def __init__(
        self, row: _Row, quantity: Decimal, loss: Decimal, hps: dt.date, order: int
    ) -> None:
        self.row = row
        self.lot = row.lot
        self.sold_on = row.sell.date
        self.hps = hps
        self.quantity = quantity
        self.loss = loss  # USD, positive
        self.matched = ZERO
        self.disallowed = ZERO
        self.order = order

    @property
    def unmatched(self) -> Decimal:
        return self.quantity - self.matched


class _Replayer:
    def __init__(self, accounts: Sequence[AccountSpec], params: ReplayParams) -> None:
        self.params = params
        self.taxable = {a.id: a.type.is_taxable for a in accounts}
        self.window_days = params.wash_sale_window_days
        # Each symbol's wash-sale identity: a member of its group (the same for the whole
        # group), or itself. Groups are disjoint, so no two groups share an identity.
        self.identity = {
            symbol: min(group) for group in params.substantially_identical for symbol in group
        }
        self.positions: dict[tuple[str, str], dict[str, _Lot]] = {}
        self.held: dict[tuple[str, str], Decimal] = {}
        self.lots: dict[str, _Lot] = {}  # every lot ever bought, by id, in acquisition order
        self.recent_buys: dict[str, deque[_Lot]] = {}  # by identity
        self.pending: dict[str, deque[_Loss]] = {}  # by identity
        self.rows: list[_Row] = []
        self.matches: list[tuple[int, int, WashMatch]] = []
        self.losses = 0
        self.problems: list[tuple[int, Problem]] = []  # (trade index, problem)
        self.seq, self.trade_id = -1, ""  # the trade being applied: index and id
        # None: the long-term start falls after 9999-12-31 (never long-term on a real date).
        self._long_term_start: dict[dt.date, dt.date | None] = {}

    # ---------------------------------------------------------------------------- buys
    def buy(self, seq: int, trade: Trade) -> None:
        self.seq, self.trade_id = seq, trade.id
        lot = _Lot(trade, seq, is_taxable=self.taxable[trade.account])
        key = (trade.account, trade.symbol)
        self.positions.setdefault(key, {})[lot.id] = lot
        self.held[key] = self.held.get(key, ZERO) + trade.quantity
        self.lots[lot.id] = lot
        if lot.capacity:
            identity = self.identity.get(lot.symbol, lot.symbol)
            self._match_forward(lot, identity)
            self.recent_buys.setdefault(identity, deque()).append(lot)

    def _match_forward(self, lot: _Lot, identity: str) -> None:
        pending = self.pending.get(identity)
        if not pending:
            return
        earliest = wash_sale_window(lot.acquired, self.window_days)[0]
        while pending and (pending[0].sold_on < earliest or not pending[0].unmatched):
            pending.popleft()
        for loss in pending:
            capacity = lot.capacity
            if not capacity:
                return
            unmatched = loss.unmatched
            if unmatched and not self._excluded(loss, lot):
                self._match(loss, lot, min(unmatched, capacity))

    # --------------------------------------------------------------------------- sells
    def sell(self, seq: int, trade: Trade, method: LotMethod) -> None:
        self.seq, self.trade_id = seq, trade.id
        key = (trade.account, trade.symbol)
        position = self.positions.get(key, {})
        plan = self._plan(seq, trade, position, method)
        if plan is None:
            return
        taken_pieces: list[tuple[_Lot, _Piece]] = []
        for lot, piece, quantity in plan:
            if quantity == piece.quantity:
                lot.pieces.remove(piece)
                taken_pieces.append((lot, piece))
            else:
                taken_pieces.append((lot, piece.split(quantity)))
            lot.open_quantity -= quantity
            if not lot.open_quantity:
                del position[lot.id]
        self.held[key] -= trade.quantity
        if not self.taxable[trade.account]:
            return
        # Every share this sell relieves is gone before any of its losses looks for
        # replacements: shares sold together never replace each other.
        proceeds_before = ZERO
        relieved = ZERO
        rows: dict[tuple[str, dt.date], _Row] = {}
        for lot, taken in taken_pieces:
            quantity = taken.quantity
            relieved += quantity
            proceeds_to_date = apportion(trade.amount, relieved, trade.quantity)
            proceeds = proceeds_to_date - proceeds_before
            proceeds_before = proceeds_to_date
            cost = taken.basis + taken.adjustment
            row = rows.get((lot.id, taken.hps))
            if row is None:
                row = _Row(trade, lot, taken.hps, self._term(taken.hps, trade.date))
                rows[(lot.id, taken.hps)] = row
                self.rows.append(row)
            row.quantity += quantity
            row.proceeds += proceeds
            row.basis += cost
            if proceeds < cost:
                self._loss(row, quantity, cost - proceeds, taken.hps)

    def _plan(
        self, seq: int, trade: Trade, position: dict[str, _Lot], method: LotMethod
    ) -> list[tuple[_Lot, _Piece, Decimal]] | None:
        """Choose the pieces to relieve, or record a problem and return ``None``."""
        plan: list[tuple[_Lot, _Piece, Decimal]] = []
        if trade.lots is not None:
            ok = True
            for index, pick in enumerate(trade.lots):
                lot = position.get(pick.lot_id)
                open_quantity = lot.open_quantity if lot else ZERO
                if lot is None or open_quantity < pick.quantity:
                    self.problems.append(
                        (
                            seq,
                            Problem(
                                _where(seq, trade.id),
                                f"lots[{index}].quantity",
                                f"sells {pick.quantity} shares of lot {pick.lot_id} but only "
                                f"{open_quantity} are still held",
                            ),
                        )
                    )
                    ok = False
                    continue
                plan.extend(_take_in_order(((lot, p) for p in lot.pieces), pick.quantity))
            return plan if ok else None

        held = self.held.get((trade.account, trade.symbol), ZERO)
        if held < trade.quantity:
            self.problems.append(
                (
                    seq,
                    Problem(
                        _where(seq, trade.id),
                        "quantity",
                        f"sells {trade.quantity} shares of {trade.symbol} in account "
                        f"{trade.account} but only {held} are held",
                    ),
                )
            )
            return None
        if method is LotMethod.FIFO:
            ordered: Iterable[tuple[_Lot, _Piece]] = (
                (lot, p) for lot in position.values() for p in lot.pieces
            )
        elif method is LotMethod.LIFO:
            ordered = ((lot, p) for lot in reversed(position.values()) for p in lot.pieces)
        else:
            ordered = sorted(
                ((lot, p) for lot in position.values() for p in lot.pieces),
                key=lambda item: (
                    -_CONTEXT.divide(item[1].basis + item[1].adjustment, item[1].quantity),
                    item[0].seq,
                ),
            )
        return _take_in_order(ordered, trade.quantity)

    # ----------------------------------------------------------------------- wash sales
    def _loss(self, row: _Row, quantity: Decimal, loss: Decimal, hps: dt.date) -> None:
        self.losses += 1
        pending_loss = _Loss(row, quantity, loss, hps, self.losses)
        identity = self.identity.get(row.lot.symbol, row.lot.symbol)
        recent = self.recent_buys.get(identity)
        if recent:
            earliest = wash_sale_window(pending_loss.sold_on, self.window_days)[0]
            while recent and (recent[0].acquired < earliest or not recent[0].capacity):
                recent.popleft()
            for lot in recent:
                unmatched = pending_loss.unmatched
                if not unmatched:
                    return
                capacity = lot.capacity
                if capacity and not self._excluded(pending_loss, lot):
                    self._match(pending_loss, lot, min(unmatched, capacity))
        if pending_loss.unmatched:
            self.pending.setdefault(identity, deque()).append(pending_loss)

    @staticmethod
    def _excluded(loss: _Loss, lot: _Lot) -> bool:
        # The sold lot's own shares, and shares bought in the same order, are not replacements.
        sold = loss.lot
        return lot is sold or (sold.buy_group is not None and sold.buy_group == lot.buy_group)

    def _match(self, loss: _Loss, lot: _Lot, quantity: Decimal) -> None:
        loss.matched += quantity
        disallowed_to_date = apportion(loss.loss, loss.matched, loss.quantity)
        disallowed = disallowed_to_date - loss.disallowed
        loss.disallowed = disallowed_to_date
        loss.row.disallowed += disallowed
        loss.row.disallowed_quantity += quantity

        remainder = lot.pieces[-1]
        piece = remainder if quantity == remainder.quantity else remainder.split(quantity)
        if piece is not remainder:
            lot.pieces.insert(len(lot.pieces) - 1, piece)
        piece.absorbed = True
        if lot.is_taxable:
            kind = WashKind.DEFERRED
            piece.adjustment += disallowed
            try:
                piece.hps = tacked_holding_period_start(lot.acquired, loss.hps, loss.sold_on)
            except OverflowError:
                self._before_calendar(lot, loss)
        else:
            kind = WashKind.PERMANENT
        match = WashMatch(
            loss_sell_id=loss.row.sell.id,
            loss_lot_id=loss.lot.id,
            replacement_lot_id=lot.id,
            quantity=quantity,
            disallowed_loss=disallowed,
            kind=kind,
            replacement_holding_period_start=piece.hps,
        )
        self.matches.append((loss.order, len(self.matches), match))

    def _before_calendar(self, lot: _Lot, loss: _Loss) -> None:
        # The tacked start (IRC §1223(3)) would be before 0001-01-01: no date can state it.
        self.problems.append(
            (
                self.seq,
                Problem(
                    _where(self.seq, self.trade_id),
                    "date",
                    f"lot {lot.id} replaces the loss of sell {loss.row.sell.id} and its holding "
                    f"period would start before 0001-01-01",
                ),
            )
        )

    def _term(self, hps: dt.date, sold_on: dt.date) -> Term:
        if hps not in self._long_term_start:
            try:
                start: dt.date | None = long_term_start(hps, self.params.long_term_months)
            except (OverflowError, ValueError):  # the date module ends at 9999-12-31
                start = None
            self._long_term_start[hps] = start
        start = self._long_term_start[hps]
        return Term.LONG if start is not None and sold_on >= start else Term.SHORT

    # --------------------------------------------------------------------------- result
    def result(self) -> ReplayResult:
        realized = tuple(row.freeze() for row in self.rows)
        short = sum((r.reportable_gain_loss for r in realized if r.term is Term.SHORT), ZERO)
        long = sum((r.reportable_gain_loss for r in realized if r.term is Term.LONG), ZERO)
        disallowed = sum((r.wash_sale_disallowed for r in realized), ZERO)
        lots_open = tuple(
            row for lot in self.lots.values() if lot.open_quantity for row in _open_rows(lot)
        )
        self.matches.sort(key=lambda item: (item[0], item[1]))
        return ReplayResult(
            realized=realized,
            lots_open=lots_open,
            wash_matches=_merge_matches(m for _, _, m in self.matches),
            totals=Totals(short_term=short, long_term=long, wash_disallowed_total=disallowed),
        )


def _take_in_order(
    pieces: Iterable[tuple[_Lot, _Piece]], quantity: Decimal
) -> list[tuple[_Lot, _Piece, Decimal]]:
    plan: list[tuple[_Lot, _Piece, Decimal]] = []
    left = quantity
    for lot, piece in pieces:
        take = min(left, piece.quantity)
        plan.append((lot, piece, take))
        left -= take
        if not left:
            break
    return plan


def _open_rows(lot: _Lot) -> list[OpenLotRow]:
    groups: list[list[_Piece]] = []
    for piece in lot.pieces:
        for group in groups:
            first = group[0]
            if first.hps == piece.hps and _same_per_share(first, piece):
                group.append(piece)
                break
        else:
            groups.append([piece])
    rows = []
    for group in groups:
        basis = sum((p.basis for p in group), ZERO)
        adjustment = sum((p.adjustment for p in group), ZERO)
        rows.append(
            OpenLotRow(
                lot_id=lot.id,
                account=lot.account,
                symbol=lot.symbol,
                quantity=sum((p.quantity for p in group), ZERO),
                acquired_date=lot.acquired,
                holding_period_start=group[0].hps,
                cost_basis_unadjusted=basis,
                adjusted_basis=basis + adjustment,
                wash_adjustment=adjustment,
            )
        )
    return rows


def _same_per_share(a: _Piece, b: _Piece) -> bool:
    # Cross-multiplied so that no division (and no rounding) decides the grouping.
    return _CONTEXT.multiply(a.adjustment, b.quantity) == _CONTEXT.multiply(
        b.adjustment, a.quantity
    )


def _merge_matches(matches: Iterable[WashMatch]) -> tuple[WashMatch, ...]:
    merged: dict[tuple[str, str, str, WashKind, dt.date], WashMatch] = {}
    for match in matches:
        key = (
            match.loss_sell_id,
            match.loss_lot_id,
            match.replacement_lot_id,
            match.kind,
            match.replacement_holding_period_start,
        )
        seen = merged.get(key)
        if seen is None:
            merged[key] = match
        else:
            merged[key] = WashMatch(
                loss_sell_id=seen.loss_sell_id,
                loss_lot_id=seen.loss_lot_id,
                replacement_lot_id=seen.replacement_lot_id,
                quantity=seen.quantity + match.quantity,
                disallowed_loss=seen.disallowed_loss + match.disallowed_loss,
                kind=seen.kind,
                replacement_holding_period_start=seen.replacement_holding_period_start,
            )
    return tuple(merged.values())


def replay(
    accounts: Sequence[AccountSpec],
    trades: Sequence[Trade],
    params: ReplayParams | None = None,
) -> ReplayResult:
    """Replay a household's trade history and return what the ledger would book.

    Args:
        accounts: every account of the household (wash sales are detected across all of them).
        trades: in the order they happened (same-day trades in intraday order).
        params: lot method, wash-sale window, long-term months and groups of substantially
            identical symbols; defaults when ``None``.

    Returns:
        Realized rows (taxable accounts only: sales inside an IRA are not tax events), open lots,
        wash-sale matches and totals. Money is USD at cents, quantities are shares.

    Raises:
        ReplayError: listing every problem (bad fields, unknown accounts or lots, dates going
            backwards, sells of more than is held), each with its trade and field. Trades with a
            field problem are skipped so the rest can still be checked; holdings problems of the
            same account and symbol are then not reported, since they would only echo it.
    """
    return replay_checked(accounts, trades, params or ReplayParams())


def replay_checked(
    accounts: Sequence[AccountSpec],
    trades: Sequence[Trade],
    params: ReplayParams,
    *,
    unparsable: frozenset[int] = frozenset(),
) -> ReplayResult:
    """:func:`replay`, for parsers: ``unparsable`` trades were already reported and are skipped.

    Raises:
        ReplayError: as :func:`replay` (without the parser's own problems).
    """
    problems, broken = _validate(accounts, trades, params, unparsable)
    params_ok = not _validate_params(params)
    replayer = _Replayer(accounts, params if params_ok else ReplayParams())
    tainted = {(trades[i].account, trades[i].symbol) for i in broken}
    default_method = params.lot_method
    for seq, trade in enumerate(trades):
        if seq in broken:
            continue
        if trade.side is Side.BUY:
            replayer.buy(seq, trade)
        else:
            replayer.sell(seq, trade, trade.lot_method or default_method)
    problems.extend(
        problem
        for seq, problem in replayer.problems
        if (trades[seq].account, trades[seq].symbol) not in tainted
    )
    if problems:
        raise ReplayError(problems)
    return replayer.result()
