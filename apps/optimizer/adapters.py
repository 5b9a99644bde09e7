"""The only bridge between the books of record (Django rows, Decimal) and the optimizer core.

Reads go through other apps' selectors in a few set-based queries per chunk of accounts;
``Decimal`` becomes ``float`` only here (``money.to_float``) and comes back as ``Decimal``
(``money.to_decimal``), shares rounded toward zero, money to cents.
"""

import hashlib
import itertools
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple, TypedDict

import numpy as np
import numpy.typing as npt
import zstandard
from django.conf import settings
from django.db.models import Exists, OuterRef, Sum
from django.db.models.functions import Abs

from apps.accounts.cash import withdrawals_due
from apps.accounts.custodians import quantity_places
from apps.accounts.models import (
    Account,
    BudgetKind,
    RealizedGain,
    Registration,
    TaxLot,
    Transaction,
    TransactionKind,
)
from apps.accounts.selectors import (
    RealizedSummary,
    realized_summaries,
    substantially_identical_symbol_sets,
)
from apps.common.arrays import array_row
from apps.common.bulk import sql_table
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO, round_money, to_decimal, to_float
from apps.optimizer.core import types as core
from apps.optimizer.core.locks import (
    RecentTrade,
    harvest_pairs_from_history,
    wash_sale_locks_from_history,
)
from apps.optimizer.core.lookthrough import FUND_SECTOR, build_look_through_risk_model
from apps.optimizer.core.problem import CompiledUniverse, compile_universe
from apps.optimizer.core.serialization import from_jsonable, to_jsonable
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.transition import TransitionPlan, plan_transition
from apps.optimizer.funds import HoldingLock, holding_lock, holding_lock_notes
from apps.restrictions.selectors import LotShares, effective_targets_get, substitutes_map
from apps.securities.models import FUND_KINDS
from apps.securities.selectors import (
    FundTradingTerms,
    fund_holdings_get,
    fund_trading_terms_get,
    price_history_get,
    price_map_get,
    security_map_get,
)
from apps.targets import EffectiveTarget
from apps.taxlots.rules import WASH_SALE_WINDOW_DAYS

_REGISTRATIONS = {
    Registration.TAXABLE: core.Registration.TAXABLE,
    Registration.TRADITIONAL_IRA: core.Registration.TAX_DEFERRED,
    Registration.ROTH_IRA: core.Registration.TAX_EXEMPT,
}


def solver_config() -> core.SolverConfig:
    """The core's configuration from settings (``OPTIMIZER_*`` environment variables)."""
    return core.SolverConfig(**settings.OPTIMIZER_SOLVER_CONFIG)


@dataclass(frozen=True)
class RunUniverse:
    """Everything shared by the accounts of one run: names, prices, risk model, compiled blocks."""

    universe: core.Universe
    risk_model: core.RiskModel
    compiled: CompiledUniverse
    priced_on: dict[str, date]
    index: dict[str, int] = field(default_factory=dict)

    @cached_property
    def sectors_by_symbol(self) -> dict[str, str]:
        """Each universe name's sector (harvest pairs are within a sector)."""
        return dict(zip(self.universe.symbols, self.universe.sectors, strict=True))

    def snapshot(self) -> dict[str, Any]:
        """The shared part of every proposal's input (stored once per run), as JSON data."""
        return {
            "universe": to_jsonable(self.universe),
            "risk_model": to_jsonable(self.risk_model),
            "priced_on": {s: d.isoformat() for s, d in self.priced_on.items()},
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> "RunUniverse":
        """Rebuild (and compile) a run's universe from its stored snapshot.

        Every chunk of a run, in any worker process, solves against the same prices and risk model.
        """
        universe = from_jsonable(core.Universe, data["universe"])
        risk_model = from_jsonable(core.RiskModel, data["risk_model"])
        return cls(
            universe=universe,
            risk_model=risk_model,
            compiled=compile_universe(universe, risk_model, solver_config()),
            priced_on={s: date.fromisoformat(d) for s, d in data["priced_on"].items()},
            index={s: i for i, s in enumerate(universe.symbols)},
        )


_SHARED_KEYS = ("universe", "risk_model")


def problem_snapshot(problem: core.RebalanceProblem) -> dict[str, Any]:
    """An account's own input (the run keeps the universe); lots column-wise.

    Numeric columns and the target weights stay numpy arrays: ``snapshot_pack`` stores them as
    raw little-endian bytes (exact, and far quicker than JSON text for ~1,600 lots), and
    ``snapshot_unpack`` gives them back as JSON lists.
    """
    own: dict[str, Any] = {
        f.name: to_jsonable(getattr(problem, f.name))
        for f in fields(problem)
        if f.name not in (*_SHARED_KEYS, "lots", "target_weights")
    }
    own["target_weights"] = problem.target_weights
    lots = core.lot_table(problem.lots)
    own["lot_columns"] = {
        "lot_id": tuple(lots.lot_ids),  # a tuple of text: packed as one blob
        "symbol_index": lots.symbol_index,
        "shares": lots.shares,
        "basis_amount": lots.basis_amount,
        "holding_period_start_days": lots.holding_period_start_days,
    }
    own["lot_account_id"] = lots.account_id
    return own


_PACKED = b"RBS2"  # packed snapshot: magic, header length, JSON header, raw arrays
# Zstandard level 1: as small as zlib level 1 on these snapshots (~30 KB for a 500-name
# account) in a sixth of the time (0.13 against 0.8 ms). Snapshots stored before it are zlib.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 §3.1.1: a Zstandard frame's magic number
_ARRAY_KEY = "$array"
_TEXTS_KEY = "$texts"  # a tuple of strings: UTF-8, NUL-separated (database text has no NUL)


def _compact(array: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], int]:
    """A smaller exact form of a 1-d array: (integers, decimal scale) or the array itself.

    Shares (6 decimals) and money (2) read from the books are floats that are exactly
    ``integer / 10^scale``; as small integers they compress several times better than raw
    float64 bytes. Integers are stored in the smallest type that holds them.
    """
    if array.dtype.kind == "f" and array.ndim == 1 and len(array):
        for scale in (0, 2, 6):
            factor = 10.0**scale
            scaled = np.round(array * factor)
            if (
                bool(np.all(np.abs(scaled) < 2.0**53))
                and bool(np.all(scaled / factor == array))
                and not np.any(np.signbit(array) & (array == 0.0))
            ):
                return _smallest_int(scaled.astype(np.int64)), scale
        return array, -1
    if array.dtype.kind in "iu" and array.ndim == 1 and len(array):
        return _smallest_int(array.astype(np.int64)), 0
    return array, -1


def _smallest_int(array: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    low, high = int(array.min()), int(array.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return array.astype(dtype)
    return array


def snapshot_pack(own: dict[str, Any]) -> bytes:
    """Compress an account's snapshot for storage (Zstandard over JSON plus raw arrays)."""
    blobs: list[bytes] = []
    offset = 0

    def encode(value: Any) -> Any:
        nonlocal offset
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, np.ndarray):
            array, scale = _compact(value)
            array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
            blobs.append(array.tobytes())
            ref = {_ARRAY_KEY: [array.dtype.str, offset, len(array), scale, value.dtype.str]}
            offset += array.nbytes
            return ref
        if isinstance(value, tuple):
            try:
                joined = "\0".join(value)
            except TypeError:  # not all text
                return list(value)
            if joined.count("\0") == max(len(value) - 1, 0):  # no NUL inside a string
                blob = joined.encode()
                blobs.append(blob)
                offset += len(blob)
                return {_TEXTS_KEY: [offset - len(blob), len(blob), len(value)]}
            return list(value)
        return value

    header = json.dumps(encode(own), separators=(",", ":")).encode()
    payload = b"".join([_PACKED, len(header).to_bytes(4, "little"), header, *blobs])
    return zstandard.ZstdCompressor(level=1).compress(payload)  # one per call: thread-safe


def snapshot_unpack(data: bytes) -> dict[str, Any]:
    """The stored snapshot as JSON data (packed or the earlier plain JSON form)."""
    data = bytes(data)
    if data.startswith(_ZSTD_MAGIC):
        raw = zstandard.ZstdDecompressor().decompress(data)
    else:
        raw = zlib.decompress(data)  # stored before Zstandard
    if not raw.startswith(_PACKED):
        return dict(json.loads(raw))
    size = int.from_bytes(raw[4:8], "little")
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {_ARRAY_KEY}:
                dtype, offset, count, *compact = value[_ARRAY_KEY]  # 3 fields: raw array
                scale, original = compact if compact else (-1, dtype)
                array = np.frombuffer(raw, dtype=np.dtype(dtype), count=count, offset=base + offset)
                if scale >= 0 and np.dtype(original).kind == "f":  # integers / 10^scale
                    return (array.astype(np.float64) / 10.0**scale).tolist()
                return array.tolist()
            if set(value) == {_TEXTS_KEY}:
                offset, size, count = value[_TEXTS_KEY]
                text = raw[base + offset : base + offset + size].decode()
                return text.split("\0") if count else []
            return {k: decode(v) for k, v in value.items()}
        return value

    return dict(decode(header))


def problem_from_snapshot(*, run_snapshot: dict[str, Any], own: dict[str, Any]) -> Any:
    """Rebuild the exact core problem of a stored proposal, for replay and audit."""
    columns = own["lot_columns"]
    lots: Any
    if "holding_period_start_days" in columns:
        lots = {
            "lot_ids": columns["lot_id"],
            "symbol_index": columns["symbol_index"],
            "shares": columns["shares"],
            "basis_amount": columns["basis_amount"],
            "holding_period_start_days": columns["holding_period_start_days"],
            "account_id": own.get("lot_account_id", ""),
        }
    else:  # earlier snapshots: one value per lot and field, dates as ISO text
        lots = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    data = {k: v for k, v in own.items() if k not in ("lot_columns", "lot_account_id")}
    shared = {k: run_snapshot[k] for k in _SHARED_KEYS}
    return from_jsonable(core.RebalanceProblem, {**data, **shared, "lots": lots})


def run_universe_build(*, symbols: Iterable[str], as_of: date) -> RunUniverse:
    """Price, classify and risk-model the given names as of a date (a few queries).

    Names with no close on or before ``as_of`` are left out; accounts that hold or target them
    are skipped by the data-quality gate. A fund with holdings on file is seen through them
    (``core.lookthrough``): its risk is its holdings' (priced over the same history) plus its
    own residual; a fund without holdings is modelled from its own prices like a stock.
    """
    config = solver_config()
    quotes = price_map_get(symbols=symbols, as_of=as_of)
    names = tuple(sorted(quotes))
    holdings = {
        fund: {held: to_float(weight) for held, weight in weights.items()}
        for fund, weights in fund_holdings_get(funds=names, as_of=as_of).items()
    }
    held = sorted({s for weights in holdings.values() for s in weights} - set(names))
    securities = security_map_get(symbols=[*names, *held])
    history = price_history_get(
        symbols=[*names, *held],
        start=as_of - timedelta(days=settings.OPTIMIZER_RISK_HISTORY_DAYS),
        end=as_of,
    )
    held = [s for s in held if s in history.columns and not history[s].isna().all()]
    price_symbols = (*names, *held)
    frame = history.reindex(columns=list(price_symbols)).ffill().bfill()
    for symbol in names:  # a name without history: flat at its last close (floored variance)
        if frame[symbol].isna().all():
            frame[symbol] = to_float(quotes[symbol].close_price)
    holdings = {f: {s: w for s, w in ws.items() if s in frame} for f, ws in holdings.items()}

    def label(symbol: str, kind: str) -> str:
        security = securities[symbol]
        if security.kind in FUND_KINDS:
            return FUND_SECTOR
        return str(getattr(security, kind)) or "Unclassified"

    sectors = {s: label(s, "sector") for s in price_symbols}
    industries = {s: label(s, "industry") for s in price_symbols}
    risk_model = build_look_through_risk_model(
        symbols=names,
        holdings=holdings,
        price_symbols=price_symbols,
        sectors=sectors,
        industries=industries,
        price_history=frame.to_numpy(dtype=np.float64),
    )
    universe = core.Universe(
        symbols=names,
        prices=np.array([to_float(quotes[s].close_price) for s in names]),
        sectors=tuple(sectors[s] for s in names),
        industries=tuple(industries[s] for s in names),
    )
    return RunUniverse(
        universe=universe,
        risk_model=risk_model,
        compiled=compile_universe(universe, risk_model, config),
        priced_on={s: quotes[s].priced_on for s in names},
        index={s: i for i, s in enumerate(names)},
    )


@dataclass(frozen=True)
class ChunkLots:
    """The open lots of a chunk of accounts column-wise, grouped by account (one query).

    Shares and basis arrive as exact integers (millionths of a share, cents: the fields' decimal
    places), so the floats for the core are ``int / 10^k``: the correctly rounded value of the
    Decimal, the same as ``money.to_float``, without a Decimal per lot.
    """

    account_ids: npt.NDArray[np.int64]
    lot_keys: npt.NDArray[np.object_]  # str per lot (an object array reorders in C)
    shares_micro: npt.NDArray[np.int64]
    basis_cents: npt.NDArray[np.int64]  # 0 where the basis is missing
    start_days: npt.NDArray[np.int64]  # holding-period start, date ordinals
    acquired_days: npt.NDArray[np.int64]  # purchase date, date ordinals
    has_basis: npt.NDArray[np.bool_]
    names: tuple[str, ...]  # the distinct symbols, sorted
    codes: npt.NDArray[np.int64]  # position of each lot's symbol in ``names``
    slices: dict[int, slice]

    @classmethod
    def read(cls, account_ids: Sequence[int]) -> "ChunkLots":
        """Read the lots of the accounts, each account's in (symbol, acquired on, row id) order.

        That is the tax-lot engine's acquisition order (FIFO): ``ledger_rebuild`` writes the
        rows in the order the engine booked the buys, a lot's wash-sale pieces in its order.

        One SQL query returning one row (no Python tuple per lot), and no ORDER BY: sorting
        100,000 rows on text keys cost the database more than the rest of the read, so the lots
        are ordered here, on integers. Every aggregated element costs the database ~0.1 µs, so
        the two dates and the basis flag travel packed in one bigint and the text columns as
        one string each (half the database's time of one array per column); shares and basis
        come from the lot's generated integer columns (numeric arithmetic per lot cost more).
        """
        columns = _lot_columns(account_ids, texts=_TEXTS_JOINED)
        lot_ids, accounts, keys, symbols, shares, basis, packed = columns
        if len(keys) != len(lot_ids) or len(symbols) != len(lot_ids):  # a separator in a key
            lot_ids, accounts, keys, symbols, shares, basis, packed = _lot_columns(
                account_ids, texts=_TEXTS_ARRAYS
            )
        has_basis = (packed & 1).astype(bool)
        acquired = (packed >> 1) & _DAY_MASK
        starts = packed >> (_DAY_BITS + 1)
        count = len(keys)
        names = tuple(sorted(set(symbols)))
        code_of = {name: j for j, name in enumerate(names)}
        codes = np.fromiter(map(code_of.__getitem__, symbols), dtype=np.int64, count=count)
        order = np.lexsort((lot_ids, acquired, codes, accounts))
        account_array = accounts[order]
        slices: dict[int, slice] = {}
        if count:
            change = np.flatnonzero(account_array[1:] != account_array[:-1]) + 1
            bounds = [0, *change.tolist(), count]
            for begin, end in itertools.pairwise(bounds):
                slices[int(account_array[begin])] = slice(begin, end)
        return cls(
            account_ids=account_array,
            lot_keys=np.array(keys, dtype=object)[order],
            names=names,
            codes=codes[order],
            shares_micro=shares[order],
            basis_cents=basis[order],
            start_days=starts[order],
            acquired_days=acquired[order],
            has_basis=has_basis[order],
            slices=slices,
        )

    def without(self, reserved: dict[tuple[int, str], Decimal]) -> "ChunkLots":
        """These lots less the shares that open sell orders reserve, per (account, lot key).

        A lot's basis shrinks in proportion; a lot reserved whole leaves the table. A key held in
        several pieces (a lot split by a wash sale) is reserved from its first piece on.
        """
        wanted = {
            key: int(shares * 1_000_000)
            for key, shares in reserved.items()
            if key[0] in self.slices
        }
        if not wanted:
            return self
        shares, basis = self.shares_micro.copy(), self.basis_cents.copy()
        for (account_id, lot_key), micro in wanted.items():
            where = self.slices[account_id]
            for i in np.flatnonzero(self.lot_keys[where] == lot_key) + where.start:
                taken = min(micro, int(shares[i]))
                if taken:
                    basis[i] -= round(int(basis[i]) * taken / int(shares[i]))
                    shares[i] -= taken
                    micro -= taken
        keep = shares > 0
        account_array = self.account_ids[keep]
        slices: dict[int, slice] = {}
        if len(account_array):
            change = np.flatnonzero(account_array[1:] != account_array[:-1]) + 1
            for begin, end in itertools.pairwise([0, *change.tolist(), len(account_array)]):
                slices[int(account_array[begin])] = slice(begin, end)
        return replace(
            self,
            account_ids=account_array,
            lot_keys=self.lot_keys[keep],
            shares_micro=shares[keep],
            basis_cents=basis[keep],
            start_days=self.start_days[keep],
            acquired_days=self.acquired_days[keep],
            has_basis=self.has_basis[keep],
            codes=self.codes[keep],
            slices=slices,
        )


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


_DAY_BITS = 24  # a date ordinal (days since 0001-01-01, 1-based) is below 2^22 up to 9999-12-31
_DAY_MASK = (1 << _DAY_BITS) - 1
_SEPARATOR = "\x1f"  # ASCII unit separator, between the texts of ``string_agg``
_TEXTS_JOINED = "string_agg(lot_key, E'\\x1f'), string_agg(symbol, E'\\x1f')"
_TEXTS_ARRAYS = "array_agg(lot_key), array_agg(symbol)"  # a key holds the separator


def _lot_columns(account_ids: Sequence[int], *, texts: str) -> tuple[Any, ...]:
    """The chunk's lot columns, per lot in the database's order.

    Ids, account ids, lot keys, symbols (``texts`` aggregates these two), shares x 10^6, basis
    in cents (0 when missing) and (holding-period start ordinal << 25 | acquired-on ordinal
    << 1 | has basis).
    """
    sql = (
        f"SELECT array_agg(id), array_agg(account_id), {texts}, "  # noqa: S608 - constant expressions and the model's own table, quoted  # nosec B608
        "array_agg(shares_micro), array_agg(basis_cents), "
        "array_agg(((holding_period_start_on - DATE '0001-01-01' + 1)::bigint "
        f"* {1 << _DAY_BITS} + (acquired_on - DATE '0001-01-01' + 1)) * 2 + has_basis::int) "
        f"FROM {sql_table(TaxLot)} WHERE account_id = ANY(%s)"
    )
    row = array_row(sql, [list(account_ids)])
    if row is None or row[0] is None:  # no lots
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, [], [], empty, empty, empty
    ids, accounts, keys, symbols, shares, basis, packed = row
    if isinstance(keys, str):
        keys, symbols = keys.split(_SEPARATOR), symbols.split(_SEPARATOR)
    return ids, accounts, keys, symbols, shares, basis, packed


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
    lots = ChunkLots.read(account_ids).without(reserved.lot_shares)
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


def _books_gate(*, account: Account, lots: ChunkLots, where: slice) -> str | None:
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
    lots: ChunkLots,
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
            # Lots in the ledger's order (ChunkLots): the custodian's FIFO is their order.
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
    lots: ChunkLots, where: slice, fund_terms: dict[str, FundTradingTerms], as_of: date
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


class TradeData(NamedTuple):
    """A proposed trade in Decimal: shares rounded toward zero, money to cents.

    A named tuple: ~200 per 500-name account are built (a quarter of the cost of a frozen
    dataclass), and its fields are ``ProposedTrade``'s columns in order (``runs`` writes them
    as they are).
    """

    side: str
    symbol: str
    lot_key: str
    shares: Decimal
    price: Decimal
    amount: Decimal
    realized_gain_amount: Decimal | None
    term: str
    reason: str
    explanation: str


@dataclass(frozen=True)
class ProposalData:
    """Everything the trading app stores for one account's proposal."""

    trades: list[TradeData]
    metrics: dict[str, Any]
    estimated_tax_amount: Decimal
    naive_tax_amount: Decimal
    turnover_amount: Decimal
    notes: list[str]
    solver: str
    solver_ms: int
    solver_time_ms: float  # unrounded, so a run's total does not drift by rounding per account
    snapshot: dict[str, Any]  # ``problem_snapshot``: JSON values and numpy arrays (snapshot_pack)


_SIDES = {side: side.value for side in core.TradeSide}
_REASONS = {reason: reason.value for reason in core.TradeReason}
_PRICES: dict[int, tuple[core.Universe, dict[str, tuple[Decimal, Decimal]]]] = {}


def _decimal_prices(universe: core.Universe) -> dict[str, tuple[Decimal, Decimal]]:
    """Per symbol, the universe's price as Decimal and quantized for storage (once per run)."""
    cached = _PRICES.get(id(universe))
    if cached is not None and cached[0] is universe:
        return cached[1]
    prices = {}
    for symbol, value in zip(universe.symbols, universe.prices.tolist(), strict=True):
        price = to_decimal(value)
        prices[symbol] = (price, price.quantize(Decimal("0.000001")))
    _PRICES.clear()  # one run's universe at a time is enough
    _PRICES[id(universe)] = (universe, prices)
    return prices


def proposal_data_from_result(
    *, built: AccountProblem, result: core.RebalanceResult, is_fractional: bool
) -> ProposalData:
    """Convert a core result to Decimal rows, metrics and the replayable snapshot.

    Rows keep the core's share counts (``_stored_shares``; ``is_fractional`` only documents the
    account: the core rounded for it), and each row's sentence is written from its stored share
    count and gain. Every figure comes from the stored rows through ``proposal_figures``; a
    trade the post-solve stage dropped is listed in ``metrics["dropped"]`` with why, and a cash
    need left unfunded in ``metrics["cash_short"]`` and first in the notes.
    """
    from apps.optimizer.core import report as core_report
    from apps.optimizer.figures import proposal_figures, shares_text, stored_shares

    problem = built.problem
    prices = _decimal_prices(problem.universe)
    trades = []
    sell = core.TradeSide.SELL
    for trade in result.trades:
        price, stored_price = prices[trade.symbol]
        shares = stored_shares(trade.shares)
        amount = round_money(shares * price)
        if trade.side is sell:
            gain = round_money(to_decimal(trade.realized_gain_amount))
            gain = abs(gain) if gain == 0 else gain  # "0.00", never "-0.00"
            explanation = core_report.sell_explanation(
                shares=shares_text(shares),
                symbol=trade.symbol,
                lot_id=trade.lot_id or "",
                is_long_term=bool(trade.is_long_term),
                gain=f"{gain:,}",  # already to cents
                why=trade.why,
            )
        else:
            gain = None
            explanation = core_report.buy_explanation(
                shares=shares_text(shares),
                symbol=trade.symbol,
                amount=f"{amount:,}",
                why=trade.why,
            )
        trades.append(
            TradeData(  # positional, in field order
                _SIDES[trade.side],
                trade.symbol,
                trade.lot_id or "",
                shares,
                stored_price,
                amount,
                gain,
                ("long" if trade.is_long_term else "short") if gain is not None else "",
                _REASONS[trade.reason],
                explanation if trade.why else trade.explanation,
            )
        )
    figures = proposal_figures(problem=problem, trades=trades)
    cash_short = list(result.cash_short)
    if figures.cash_short_amount > 0 and not cash_short:
        cash_short.append(
            f"cash after the trades ({figures.cash_after_amount:,}) is below the reserve plus "
            f"withdrawals due ({figures.cash_required_amount:,}) by {figures.cash_short_amount:,}"
        )
    metrics = {
        **figures.metrics(),
        "forced_gain_amount": _money(result.taxes.forced_gain_amount),
        "objective": {
            "risk": result.objective.risk,
            "tax": result.objective.tax,
            "transaction_cost": result.objective.transaction_cost,
            "penalties": result.objective.penalties,
            "total": result.objective.total,
        },
        "relaxed": list(result.relaxed),
        "forced": list(result.forced),
        "repairs": list(result.repairs),
        "violations": list(result.violations),
        **_dropped_metrics(result.dropped),
        "cash_short": cash_short,
        "status": result.status,
        "total_time_ms": round(result.total_time_ms, 3),
        # The risk aversion the trades were solved with, and the target that may have raised it.
        "risk_aversion_used": result.risk_aversion_used,
        "tracking_error_target": problem.tracking_error_target,
    }
    risk_note, unexplained = _tracking_error_note(result)
    if unexplained and built.transition is not None:
        metrics["violations"].append(unexplained)
    plan_notes = []
    if built.transition is not None:
        metrics["transition_plan"] = transition_plan_json(built.transition)
        plan_notes.append(built.transition.summary())
    return ProposalData(
        trades=trades,
        metrics=metrics,
        estimated_tax_amount=figures.estimated_tax_amount,
        naive_tax_amount=round_money(to_decimal(result.naive.estimated_tax_amount)),
        turnover_amount=figures.turnover_amount,
        notes=[f"Cash short: {line}" for line in cash_short]
        + plan_notes
        + ([risk_note] if risk_note else [])
        + ([_sentence(result.tracking_error_note)] if result.tracking_error_note else [])
        + [_sentence(note) for note in result.kept_notes]
        + holding_lock_notes(problem=problem, result=result, locks=built.holding_locks)
        + list(built.target_notes),
        solver=result.solver_name,
        solver_ms=round(result.solve_time_ms),
        solver_time_ms=result.solve_time_ms,
        snapshot=problem_snapshot(problem),
    )


def _sentence(text: str) -> str:
    """The core's note as one sentence of the proposal's notes (capitalised, a full stop)."""
    return f"{text[:1].upper()}{text[1:]}."


# Why a run may raise an account's tracking error, by the reason of the trades that do it.
_RISK_RISE_REASONS = {
    core.TradeReason.RESTRICTION: "a restriction or screen forces sales",
    core.TradeReason.RAISE_CASH: "cash is raised for the reserve or a withdrawal",
    core.TradeReason.HARVEST: (
        "losses are harvested (a name sold at a loss is not bought back for 31 days)"
    ),
}
_RISK_RISE_TOLERANCE = 1e-5  # 0.1 bp: solver noise, not a rise


def _tracking_error_note(result: core.RebalanceResult) -> tuple[str, str]:
    """A note when the trades raise the tracking error, saying why; and the unexplained rise.

    Returns ``(note, unexplained)``: ``note`` is empty when tracking error does not rise;
    ``unexplained`` is non-empty when it rises with no forced sale, cash need, harvest or
    trade left out after the solve (whole shares, minimum trades: the continuous solution
    lowered it, and what was left out of it may not).
    """
    before, after = result.before.active_risk_rate, result.after.active_risk_rate
    if after <= before + _RISK_RISE_TOLERANCE:
        return "", ""
    change = f"Tracking error rises from {before:.2%} to {after:.2%}"
    reasons = [
        text
        for reason, text in _RISK_RISE_REASONS.items()
        if any(t.reason is reason for t in result.trades)
    ]
    if result.dropped:
        left_out = sum(d.amount for d in result.dropped)
        reasons.append(
            f"{len(result.dropped)} of the solver's trades ({left_out:,.2f}) were left out for "
            "whole shares or minimum trades"
        )
    if reasons:
        return f"{change}: {'; '.join(reasons)}.", ""
    text = f"{change} with no forced sale, cash need, harvest or trade left out to explain it"
    return f"{text}.", text


def transition_plan_json(plan: TransitionPlan) -> dict[str, Any]:
    """A transition plan as stored in a proposal's metrics: money as Decimal strings (USD)."""

    def money(amount: float | None) -> str | None:
        return None if amount is None else _money(amount)

    return {
        "shape": plan.shape,
        "years_left": len(plan.years),
        "tolerance_rate": round(plan.tolerance_rate, 6),
        "starting_tracking_error_rate": round(plan.starting_tracking_error_rate, 6),
        "reaches_model": plan.reaches_model,
        "full_move_gain_amount": money(plan.full_move_gain_amount),
        "realized_this_year_amount": money(plan.realized_this_year_amount),
        "this_year_budget_amount": money(plan.this_year_budget_amount),
        "total_tax_amount": money(sum(y.estimated_tax_amount for y in plan.years)),
        "years": [
            {
                "year": y.year,
                "rebalance_on": y.rebalance_on.isoformat(),
                "gains_budget_amount": money(y.gains_budget_amount),
                "short_term_gain_amount": money(y.short_term_gain_amount),
                "long_term_gain_amount": money(y.long_term_gain_amount),
                "losses_harvested_amount": money(y.losses_harvested_amount),
                "estimated_tax_amount": money(y.estimated_tax_amount),
                "tracking_error_rate": round(y.tracking_error_rate, 6),
                "risk_aversion_scale": y.risk_aversion_scale,
                "is_harvesting_paused": y.is_harvesting_paused,
            }
            for y in plan.years
        ],
        "alternatives": [
            {
                "shape": a.shape,
                "total_tax_amount": money(a.total_tax_amount),
                "discounted_tax_amount": money(a.discounted_tax_amount),
                "risk_cost_amount": money(a.risk_cost_amount),
                "total_cost_amount": money(a.total_cost_amount),
                "is_chosen": a.shape == plan.shape,
            }
            for a in plan.alternatives
        ],
    }


DROPPED_LISTED = 25  # the largest dropped trades listed one by one; all are counted by why


def _dropped_metrics(dropped: Sequence[core.DroppedTrade]) -> dict[str, Any]:
    """Trades the post-solve stage dropped: counted and summed by why, the largest listed.

    A 500-name account's solution drops a few hundred cents-to-dollars trades to whole shares
    and minimum sizes; every one is accounted for in the summary, and the ones that matter (the
    largest) are named.
    """
    by_why: dict[str, list[float]] = defaultdict(list)
    for trade in dropped:
        by_why[trade.why].append(trade.amount)
    largest = sorted(dropped, key=lambda d: -d.amount)[:DROPPED_LISTED]
    return {
        "dropped": [
            {
                "side": d.side.value,
                "symbol": d.symbol,
                "lot_key": d.lot_id or "",
                "amount": _money(d.amount),
                "why": d.why,
            }
            for d in largest
        ],
        "dropped_summary": [
            {"why": why, "count": len(amounts), "amount": _money(sum(amounts))}
            for why, amounts in sorted(by_why.items(), key=lambda item: -sum(item[1]))
        ],
    }


def _money(amount: float) -> str:
    value = round_money(to_decimal(amount))
    return str(abs(value) if value == 0 else value)  # never "-0.00"
