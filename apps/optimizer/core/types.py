"""Inputs and outputs of the optimizer core: frozen dataclasses over numpy arrays.

Conventions: every float array shares the order of ``Universe.symbols``; names carry units
(``*_amount`` money in account currency, ``*_price`` per share, ``*_shares``, ``*_weight`` a
fraction of account value, ``*_rate`` a fraction: 0.238, not 23.8); dates are ``date`` values
and the core never reads the clock. ``__post_init__`` checks shapes, signs and ranges and
raises ``ProblemShapeError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from apps.optimizer.core.errors import ProblemShapeError
from apps.taxlots.rules import FilingStatus

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _as_float_array(value: object, name: str, shape: tuple[int, ...]) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ProblemShapeError(f"{name} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise ProblemShapeError(f"{name} contains NaN or infinite values")
    return array


def _as_int_array(value: object, name: str, size: int) -> IntArray:
    array = np.asarray(value)
    if array.shape != (size,):
        raise ProblemShapeError(f"{name} has shape {array.shape}, expected ({size},)")
    if not np.issubdtype(array.dtype, np.integer):
        floats = np.asarray(array, dtype=np.float64)  # e.g. decoded from JSON numbers
        if not (np.all(np.isfinite(floats)) and np.all(floats == np.round(floats))):
            raise ProblemShapeError(f"{name} must hold integers")
    out: IntArray = array.astype(np.int64, copy=False)
    return out


def _check_rate(value: float, name: str, *, upper: float = 1.0) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= upper):
        raise ProblemShapeError(f"{name} must be a fraction in [0, {upper}], got {value!r}")


def _check_scale(value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ProblemShapeError(f"risk_aversion_scale must be > 0, got {value!r}")


def _check_optional_non_negative(value: float | None, name: str) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0.0):
        raise ProblemShapeError(f"{name} must be None or a finite value >= 0, got {value!r}")


def _check_tracking_error_target(value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0.0):
        raise ProblemShapeError("tracking_error_target must be > 0 or None")


def _check_identical_groups(groups: object) -> tuple[frozenset[str], ...]:
    """The groups of substantially identical symbols as a tuple of frozensets, checked.

    Every group names at least two distinct symbols and no symbol is in two groups (groups
    that overlap are one group: the caller merges them).
    """
    if not isinstance(groups, tuple | list) or any(isinstance(g, str) for g in groups):
        raise ProblemShapeError("substantially_identical must be a tuple of symbol sets")
    out = tuple(frozenset(group) for group in groups)
    seen: set[str] = set()
    for group in out:
        if len(group) < 2 or not all(isinstance(s, str) and s for s in group):
            raise ProblemShapeError(
                f"a substantially identical group needs two or more symbols: {sorted(group)}"
            )
        if seen & group:
            raise ProblemShapeError(
                f"symbols in two substantially identical groups: {sorted(seen & group)}"
            )
        seen |= group
    return out


class RebalanceMode(StrEnum):
    """What the run is allowed to do."""

    FULL_REBALANCE = "full_rebalance"
    HARVEST_ONLY = "harvest_only"
    RAISE_CASH = "raise_cash"
    INVEST_CASH = "invest_cash"
    TRANSITION = "transition"


class Registration(StrEnum):
    """Tax registration of an account: only taxable accounts realise gains that are taxed now."""

    TAXABLE = "taxable"
    TAX_DEFERRED = "tax_deferred"
    TAX_EXEMPT = "tax_exempt"


class TradeSide(StrEnum):
    """Direction of a trade."""

    SELL = "sell"
    BUY = "buy"


class TradeReason(StrEnum):
    """Why a trade is proposed (shown to advisers and stored on each proposed trade)."""

    HARVEST = "harvest"
    REDUCE_RISK = "reduce_risk"
    RESTRICTION = "restriction"
    RAISE_CASH = "raise_cash"
    FILL_UNDERWEIGHT = "fill_underweight"
    SUBSTITUTE = "substitute"
    TRANSITION = "transition"


@dataclass(frozen=True, slots=True)
class Universe:
    """The securities a problem may hold; fixes the order of every per-name array."""

    symbols: tuple[str, ...]
    prices: FloatArray  # per share, account currency, > 0
    sectors: tuple[str, ...]
    industries: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.symbols)
        if n == 0:
            raise ProblemShapeError("universe has no symbols")
        if len(set(self.symbols)) != n:
            raise ProblemShapeError("universe symbols must be unique")
        prices = _as_float_array(self.prices, "prices", (n,))
        if np.any(prices <= 0.0):
            raise ProblemShapeError("prices must be > 0 (drop unpriced securities before solving)")
        object.__setattr__(self, "prices", prices)
        if len(self.sectors) != n or len(self.industries) != n:
            raise ProblemShapeError("sectors and industries must align with symbols")

    @property
    def size(self) -> int:
        """Number of names."""
        return len(self.symbols)


@dataclass(frozen=True, slots=True)
class TaxLot:
    """One open tax lot; ``basis_amount`` is the total adjusted basis (wash-sale adjustments in)."""

    lot_id: str
    symbol_index: int
    shares: float
    basis_amount: float
    holding_period_start: date
    account_id: str = ""

    def __post_init__(self) -> None:
        if self.symbol_index < 0:
            raise ProblemShapeError(f"lot {self.lot_id}: symbol_index must be >= 0")
        if not (math.isfinite(self.shares) and self.shares > 0.0):
            raise ProblemShapeError(f"lot {self.lot_id}: shares must be > 0")
        if not (math.isfinite(self.basis_amount) and self.basis_amount >= 0.0):
            raise ProblemShapeError(f"lot {self.lot_id}: basis_amount must be >= 0")


@dataclass(frozen=True, slots=True)
class LotTable:
    """The open lots of one account column-wise: the fast input form of ``lots``.

    Equivalent to a tuple of ``TaxLot`` with the same values in the same order (iterating yields
    them), without one Python object per lot: a 500-name account holds ~1,600 lots and a book
    run builds hundreds of thousands. ``holding_period_start_days`` are proleptic Gregorian
    ordinals (``date.toordinal()``). ``__post_init__`` checks the columns vectorised with the
    rules of ``TaxLot``.
    """

    lot_ids: tuple[str, ...]
    symbol_index: IntArray
    shares: FloatArray
    basis_amount: FloatArray  # total adjusted basis per lot, >= 0
    holding_period_start_days: IntArray
    account_id: str = ""

    def __post_init__(self) -> None:
        n = len(self.lot_ids)
        symbol_index = np.asarray(self.symbol_index)
        starts = np.asarray(self.holding_period_start_days)
        symbol_index = _as_int_array(self.symbol_index, "symbol_index", n)
        starts = _as_int_array(self.holding_period_start_days, "holding_period_start_days", n)
        shares = np.asarray(self.shares, dtype=np.float64)
        basis = np.asarray(self.basis_amount, dtype=np.float64)
        for name, column in (("shares", shares), ("basis_amount", basis)):
            if column.shape != (n,):
                raise ProblemShapeError(f"lot table {name} has shape {column.shape}, expected {n}")
        if n:
            bad = np.flatnonzero(symbol_index < 0)
            if len(bad):
                raise ProblemShapeError(f"lot {self.lot_ids[bad[0]]}: symbol_index must be >= 0")
            bad = np.flatnonzero(~(np.isfinite(shares) & (shares > 0.0)))
            if len(bad):
                raise ProblemShapeError(f"lot {self.lot_ids[bad[0]]}: shares must be > 0")
            bad = np.flatnonzero(~(np.isfinite(basis) & (basis >= 0.0)))
            if len(bad):
                raise ProblemShapeError(f"lot {self.lot_ids[bad[0]]}: basis_amount must be >= 0")
            if np.any(starts < 1) or np.any(starts > date.max.toordinal()):
                raise ProblemShapeError("lot table holding_period_start_days are not date ordinals")
        object.__setattr__(self, "lot_ids", tuple(self.lot_ids))
        object.__setattr__(self, "symbol_index", symbol_index)
        object.__setattr__(self, "holding_period_start_days", starts)
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "basis_amount", basis)

    def __len__(self) -> int:
        return len(self.lot_ids)

    def __iter__(self) -> Iterator[TaxLot]:
        """The lots as ``TaxLot`` objects (for code written against tuples of lots)."""
        for lot_id, i, q, b, d in zip(
            self.lot_ids,
            self.symbol_index.tolist(),
            self.shares.tolist(),
            self.basis_amount.tolist(),
            self.holding_period_start_days.tolist(),
            strict=True,
        ):
            yield TaxLot(lot_id, i, q, b, date.fromordinal(d), self.account_id)

    @classmethod
    def from_lots(cls, lots: Iterable[TaxLot], account_id: str = "") -> LotTable:
        """The table of a sequence of ``TaxLot`` (their own ``account_id`` is not kept)."""
        items = tuple(lots)
        return cls(
            lot_ids=tuple(lot.lot_id for lot in items),
            symbol_index=np.array([lot.symbol_index for lot in items], dtype=np.int64),
            shares=np.array([lot.shares for lot in items], dtype=np.float64),
            basis_amount=np.array([lot.basis_amount for lot in items], dtype=np.float64),
            holding_period_start_days=np.array(
                [lot.holding_period_start.toordinal() for lot in items], dtype=np.int64
            ),
            account_id=account_id,
        )


Lots = tuple[TaxLot, ...] | LotTable


def lot_table(lots: Lots) -> LotTable:
    """``lots`` as a ``LotTable`` (a table is returned as is)."""
    return lots if isinstance(lots, LotTable) else LotTable.from_lots(lots)


def lot_tables_concat(tables: Iterable[LotTable]) -> LotTable:
    """The lots of several tables, in order, as one table (``account_id`` dropped)."""
    items = list(tables)
    if len(items) == 1:
        return items[0]
    return LotTable(
        lot_ids=tuple(lot_id for t in items for lot_id in t.lot_ids),
        symbol_index=np.concatenate([np.zeros(0, np.int64), *(t.symbol_index for t in items)]),
        shares=np.concatenate([np.zeros(0), *(t.shares for t in items)]),
        basis_amount=np.concatenate([np.zeros(0), *(t.basis_amount for t in items)]),
        holding_period_start_days=np.concatenate(
            [np.zeros(0, np.int64), *(t.holding_period_start_days for t in items)]
        ),
    )


@dataclass(frozen=True, slots=True)
class TaxProfile:
    """Rates, harvesting setting and the remaining budgets of one account (USD).

    Budgets are what is still allowed this year after year-to-date realised gains and
    carryforward losses; ``None`` means no such budget. ``gains_budget_amount`` caps net realised
    gain; ``short_term_gains_budget_amount`` and ``long_term_gains_budget_amount`` cap the net
    gain of each character (short-term lots, long-term lots); ``tax_budget_amount`` caps the
    estimated tax, Σ (each lot's own short- or long-term rate × its realised gain). Every budget
    is a linear row of the program over the free sells (``prepare.BUDGET_KINDS``).

    ``harvest_threshold_rate``: a lot under water by at least this fraction of its basis is
    *harvestable*: it makes its name harvest-side today, and only a harvestable loss counts as a
    benefit (tax saved in the objective, room in a budget) and is sold "to harvest the loss".
    ``None`` means harvesting is off for the account: none of its lots is harvestable, and a
    harvest-only run sells nothing in it. Any loss lot may still be sold when risk, cash or a
    restriction call for it, and its reason then says so. Non-taxable registrations behave as
    zero rates and no budget.
    """

    short_term_rate: float
    long_term_rate: float
    gains_budget_amount: float | None = None
    registration: Registration = Registration.TAXABLE
    harvest_threshold_rate: float | None = 0.05
    short_term_gains_budget_amount: float | None = None
    long_term_gains_budget_amount: float | None = None
    tax_budget_amount: float | None = None
    # The year so far and the bank, for the shadow prices of ``SolverConfig.tax_valuation``
    # "shadow" (``apps.taxlots.shadow``): net realised gains this year (losses negative) and the
    # losses carried in (>= 0), USD; the filing status sets the ordinary-income deduction.
    realized_short_term_gain_amount: float = 0.0
    realized_long_term_gain_amount: float = 0.0
    loss_carryforward_short_term_amount: float = 0.0
    loss_carryforward_long_term_amount: float = 0.0
    filing_status: str = "married_filing_jointly"

    def __post_init__(self) -> None:
        for name in (
            "realized_short_term_gain_amount",
            "realized_long_term_gain_amount",
            "loss_carryforward_short_term_amount",
            "loss_carryforward_long_term_amount",
        ):
            if not math.isfinite(getattr(self, name)):
                raise ProblemShapeError(f"{name} must be finite")
        if (
            min(self.loss_carryforward_short_term_amount, self.loss_carryforward_long_term_amount)
            < 0.0
        ):
            raise ProblemShapeError("loss carryforwards are positive amounts (>= 0)")
        if self.filing_status not in {status.value for status in FilingStatus}:
            raise ProblemShapeError(f"unknown filing_status {self.filing_status!r}")
        _check_rate(self.short_term_rate, "short_term_rate")
        _check_rate(self.long_term_rate, "long_term_rate")
        for name in (
            "gains_budget_amount",
            "short_term_gains_budget_amount",
            "long_term_gains_budget_amount",
            "tax_budget_amount",
        ):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ProblemShapeError(f"{name} must be finite or None")
        if self.harvest_threshold_rate is not None:
            _check_rate(self.harvest_threshold_rate, "harvest_threshold_rate")

    @property
    def is_taxable(self) -> bool:
        """Whether sales in this account realise taxable gains today."""
        return self.registration is Registration.TAXABLE

    @property
    def is_harvesting(self) -> bool:
        """Whether the account sells losses for their tax benefit (harvesting on)."""
        return self.harvest_threshold_rate is not None


@dataclass(frozen=True, slots=True)
class RiskModel:
    """Annualised factor model: Σ = B F Bᵀ + diag(d), rows in ``symbols`` order."""

    symbols: tuple[str, ...]
    factor_names: tuple[str, ...]
    loadings: FloatArray  # B, n × k
    factor_covariance: FloatArray  # F, k × k, symmetric PSD
    specific_variance: FloatArray  # d, n, > 0

    def __post_init__(self) -> None:
        n, k = len(self.symbols), len(self.factor_names)
        loadings = _as_float_array(self.loadings, "loadings", (n, k))
        cov = _as_float_array(self.factor_covariance, "factor_covariance", (k, k))
        spec = _as_float_array(self.specific_variance, "specific_variance", (n,))
        if not np.allclose(cov, cov.T, atol=1e-12, rtol=1e-9):
            raise ProblemShapeError("factor_covariance must be symmetric")
        if np.any(spec <= 0.0):
            raise ProblemShapeError("specific_variance must be > 0 (floor it in the risk builder)")
        object.__setattr__(self, "loadings", loadings)
        object.__setattr__(self, "factor_covariance", cov)
        object.__setattr__(self, "specific_variance", spec)

    def active_variance(self, active_weights: FloatArray) -> float:
        """Annualised variance of an active-weight vector (fractions of value)."""
        exposures = self.loadings.T @ active_weights
        return float(exposures @ self.factor_covariance @ exposures) + float(
            self.specific_variance @ (active_weights * active_weights)
        )


@dataclass(frozen=True, slots=True)
class WashSaleLocks:
    """Household-wide locks from trades in the last 30 days (see ``wash_sale_locks_from_history``).

    ``no_buy_symbols``: sold at a loss within the window, so a purchase today would be a wash sale.
    ``no_loss_sale_symbols``: bought within the window, so selling a loss lot today would be one.
    """

    no_buy_symbols: frozenset[str] = frozenset()
    no_loss_sale_symbols: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HarvestPair:
    """A replacement bought the day a name was sold at a loss, still held (a harvest pair).

    When the harvested name's 30-day window is over (IRC §1091(a)), the optimizer may swap back
    (sell the replacement, buy the harvested name) if that pays; the trades then say so.
    """

    harvested: str
    replacement: str
    harvested_on: date


@dataclass(frozen=True, slots=True)
class Constraints:
    """Account or household constraints already resolved by the adapter.

    Bands are absolute active-weight bands (|Σ_sector e| ≤ band). ``min_trade_amount`` is applied
    relative to position size (see ``SolverConfig.min_trade_position_rate``).
    """

    never_buy_symbols: frozenset[str] = frozenset()
    never_sell_symbols: frozenset[str] = frozenset()
    never_sell_lot_ids: frozenset[str] = frozenset()
    must_sell_symbols: frozenset[str] = frozenset()
    sector_band_weight: float | None = None
    industry_band_weight: float | None = None
    # |e_i| ≤ this fraction of the name's target weight (a drift band every account shares;
    # elastic like the sector band). None: no band per name.
    name_band_rate: float | None = None
    turnover_cap_weight: float | None = None
    min_trade_amount: float = 0.0
    is_fractional_shares: bool = False
    # Decimal places of a share count the custodian takes: a fractional account trades in
    # steps of 10^-places, and any account sells a lot entirely (fraction included) only when
    # its share count has no more places than that; otherwise the fraction stays in the lot.
    share_places: int = 6
    # Names that trade in dollar amounts at the day's NAV (mutual and money-market funds): they
    # round at the custodian's step 10^-share_places in every account, whole-share accounts too
    # (``is_fractional_shares`` keeps applying to the other names).
    fractional_symbols: frozenset[str] = frozenset()
    # None: sells name their lots (specified lots, the optimizer chooses). "FIFO", "LIFO" or
    # "HIFO": the custodian relieves each sale in that order and the trades follow it
    # (``relief.py``; FIFO is the order of the lots in the input, their acquisition order).
    lot_order: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.share_places <= 6:
            raise ProblemShapeError("share_places must be between 0 and 6")
        if self.lot_order not in (None, "FIFO", "LIFO", "HIFO"):
            raise ProblemShapeError(
                f"lot_order must be None, FIFO, LIFO or HIFO: {self.lot_order!r}"
            )
        _check_optional_non_negative(self.sector_band_weight, "sector_band_weight")
        _check_optional_non_negative(self.industry_band_weight, "industry_band_weight")
        _check_optional_non_negative(self.name_band_rate, "name_band_rate")
        _check_optional_non_negative(self.turnover_cap_weight, "turnover_cap_weight")
        _check_optional_non_negative(self.min_trade_amount, "min_trade_amount")
        if self.must_sell_symbols & self.never_sell_symbols:
            both = sorted(self.must_sell_symbols & self.never_sell_symbols)
            raise ProblemShapeError(f"symbols both must-sell and never-sell: {both}")


@dataclass(frozen=True, slots=True)
class AccountInput:
    """One account of a household problem.

    ``location_cost_rates`` (optional, per name) is an asset-location preference: a cost per unit
    of household weight held in this account after the trade (negative = preferred here).
    """

    account_id: str
    lots: tuple[TaxLot, ...] | LotTable
    cash_amount: float
    tax_profile: TaxProfile
    cash_reserve_amount: float = 0.0
    withdrawals_due_amount: float = 0.0
    location_cost_rates: FloatArray | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cash_amount) and self.cash_amount >= 0.0):
            raise ProblemShapeError(f"account {self.account_id}: cash_amount must be >= 0")
        _check_optional_non_negative(self.cash_reserve_amount, "cash_reserve_amount")
        _check_optional_non_negative(self.withdrawals_due_amount, "withdrawals_due_amount")
        ids = (
            self.lots.lot_ids
            if isinstance(self.lots, LotTable)
            else [lot.lot_id for lot in self.lots]
        )
        if len(set(ids)) != len(ids):
            raise ProblemShapeError(f"account {self.account_id}: lot ids must be unique")
        if self.location_cost_rates is not None:
            rates = np.asarray(self.location_cost_rates, dtype=np.float64)
            if rates.ndim != 1 or not np.all(np.isfinite(rates)):
                raise ProblemShapeError("location_cost_rates must be a finite 1-d array")
            object.__setattr__(self, "location_cost_rates", rates)


def _check_targets(target_weights: FloatArray, cash_target_weight: float, n: int) -> FloatArray:
    targets = _as_float_array(target_weights, "target_weights", (n,))
    if np.any(targets < 0.0):
        raise ProblemShapeError("target_weights must be >= 0 (no shorting)")
    _check_rate(cash_target_weight, "cash_target_weight")
    total = float(targets.sum()) + cash_target_weight
    if abs(total - 1.0) > 1e-6:
        raise ProblemShapeError(f"target weights plus cash target sum to {total:.8f}, expected 1")
    return targets


@dataclass(frozen=True, slots=True)
class HouseholdProblem:
    """Several accounts solved jointly against one household target (one account is a household).

    Wash-sale locks and the buy/sell side of each name are shared by all accounts; risk is
    measured on the household's combined weights.
    """

    as_of: date
    universe: Universe
    target_weights: FloatArray  # fractions of household value, universe order
    cash_target_weight: float
    accounts: tuple[AccountInput, ...]
    risk_model: RiskModel
    constraints: Constraints = field(default_factory=Constraints)
    wash_sale_locks: WashSaleLocks = field(default_factory=WashSaleLocks)
    mode: RebalanceMode = RebalanceMode.FULL_REBALANCE
    # Multiplies the config's risk aversion for this problem (a transition's last year raises
    # it until the plan's tracking error tolerance is met; see ``core.transition``).
    risk_aversion_scale: float = 1.0
    # Groups of symbols the wash-sale rule treats as one security (share classes of one issuer,
    # funds on one index): a loss sale of one member and a purchase of another is a wash sale.
    substantially_identical: tuple[frozenset[str], ...] = ()
    # Annualised ex-ante tracking error the household may carry after trading (fraction): when
    # the solution's is higher, the risk aversion is raised until it is met (``solve_household``).
    tracking_error_target: float | None = None
    # The firm's substitute list (symbol, alternatives in rank order): a harvested name's listed
    # alternatives are its replacements first (``prepare.substitute_preferences``).
    substitutes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Open harvest pairs of the household (from its recent trades; ``locks.harvest_pairs``).
    harvest_pairs: tuple[HarvestPair, ...] = ()
    # Per name, the yield taxed as ordinary income each year in a taxable account (fraction of
    # value a year, >= 0; None: none known). Read by the derived asset location (``location``).
    taxable_yield_rates: FloatArray | None = None

    def __post_init__(self) -> None:
        _check_scale(self.risk_aversion_scale)
        _check_tracking_error_target(self.tracking_error_target)
        n = self.universe.size
        if self.taxable_yield_rates is not None:
            yields = _as_float_array(self.taxable_yield_rates, "taxable_yield_rates", (n,))
            if np.any(yields < 0.0):
                raise ProblemShapeError("taxable_yield_rates must be >= 0")
            object.__setattr__(self, "taxable_yield_rates", yields)
        object.__setattr__(
            self,
            "substantially_identical",
            _check_identical_groups(self.substantially_identical),
        )
        object.__setattr__(
            self, "target_weights", _check_targets(self.target_weights, self.cash_target_weight, n)
        )
        if not self.accounts:
            raise ProblemShapeError("a household needs at least one account")
        if len({a.account_id for a in self.accounts}) != len(self.accounts):
            raise ProblemShapeError("account ids must be unique")
        if self.risk_model.symbols != self.universe.symbols:
            raise ProblemShapeError("risk model symbols must equal universe symbols, same order")
        for account in self.accounts:
            if isinstance(account.lots, LotTable):
                outside = [
                    account.lots.lot_ids[j] for j in np.flatnonzero(account.lots.symbol_index >= n)
                ]
            else:
                outside = [lot.lot_id for lot in account.lots if lot.symbol_index >= n]
            if outside:
                raise ProblemShapeError(f"lot {outside[0]}: symbol_index outside the universe")
            rates = account.location_cost_rates
            if rates is not None and rates.shape != (n,):
                raise ProblemShapeError("location_cost_rates must align with universe symbols")


@dataclass(frozen=True, slots=True)
class RebalanceProblem:
    """A single-account rebalance, the usual entry point (``as_household`` is the general form)."""

    as_of: date
    universe: Universe
    target_weights: FloatArray  # fractions of account value, universe order
    cash_target_weight: float
    lots: tuple[TaxLot, ...] | LotTable  # a LotTable is the fast form (no object per lot)
    cash_amount: float
    tax_profile: TaxProfile
    risk_model: RiskModel
    constraints: Constraints = field(default_factory=Constraints)
    wash_sale_locks: WashSaleLocks = field(default_factory=WashSaleLocks)
    cash_reserve_amount: float = 0.0
    withdrawals_due_amount: float = 0.0
    mode: RebalanceMode = RebalanceMode.FULL_REBALANCE
    account_id: str = "account"
    risk_aversion_scale: float = 1.0  # see ``HouseholdProblem.risk_aversion_scale``
    substantially_identical: tuple[frozenset[str], ...] = ()  # see HouseholdProblem
    tracking_error_target: float | None = None  # see HouseholdProblem
    substitutes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # see HouseholdProblem
    harvest_pairs: tuple[HarvestPair, ...] = ()  # see HouseholdProblem

    def __post_init__(self) -> None:
        _check_scale(self.risk_aversion_scale)
        _check_tracking_error_target(self.tracking_error_target)
        object.__setattr__(
            self,
            "substantially_identical",
            _check_identical_groups(self.substantially_identical),
        )
        object.__setattr__(
            self,
            "target_weights",
            _check_targets(self.target_weights, self.cash_target_weight, self.universe.size),
        )

    def as_household(self) -> HouseholdProblem:
        """The same problem as a household of one account."""
        account = AccountInput(
            account_id=self.account_id,
            lots=self.lots,
            cash_amount=self.cash_amount,
            tax_profile=self.tax_profile,
            cash_reserve_amount=self.cash_reserve_amount,
            withdrawals_due_amount=self.withdrawals_due_amount,
        )
        return HouseholdProblem(
            as_of=self.as_of,
            universe=self.universe,
            target_weights=self.target_weights,
            cash_target_weight=self.cash_target_weight,
            accounts=(account,),
            risk_model=self.risk_model,
            constraints=self.constraints,
            wash_sale_locks=self.wash_sale_locks,
            mode=self.mode,
            risk_aversion_scale=self.risk_aversion_scale,
            substantially_identical=self.substantially_identical,
            tracking_error_target=self.tracking_error_target,
            substitutes=self.substitutes,
            harvest_pairs=self.harvest_pairs,
        )


@dataclass(frozen=True, slots=True)
class SolverConfig:
    """Every tunable of the core (values arrive from settings through the adapter only).

    Attributes:
        solver: "PIQP" (sparse QP built directly, fastest) or "CLARABEL" (via cvxpy).
        fallback_solver: Tried when the first solver fails numerically; None disables it.
        eps_abs: Absolute feasibility/optimality tolerance.
        eps_rel: Relative tolerance.
        max_iter: Iteration limit of the interior-point solver.
        risk_aversion: Weight of annualised active variance against one-off costs, both in
            fractions of value: at 100, carrying 1% tracking error (variance 1e-4) for a year
            is worth paying 1% of value in tax or costs.
        transaction_cost_bps: Cost per unit traded, basis points of the amount, both sides.
        long_term_wait_days: Short-term gain lots that turn long-term within this many days are
            penalised for selling now.
        long_term_wait_weight: Multiplier of the rate difference (short − long) used as that
            penalty per unit of gain.
        holding_period_months: Passed to ``apps.taxlots.rules`` (12 under US rules).
        transition_sell_reward_rate: In transition mode, benefit per unit of value sold of a
            screened name's deferred (gain) lots; the gains budget then limits how much is sold.
        min_trade_position_rate: A trade is dropped when below min(min_trade_amount, this fraction
            of the larger of the current and target position value).
        band_penalty_rate: Elastic re-solve: cost per unit of weight outside a sector/industry band.
        budget_penalty_rate: Elastic re-solve: cost per unit of value of gains over the budget
            (far above the band rate, so bands give way first and the budget only when nothing
            else restores feasibility).
        turnover_penalty_rate: Elastic re-solve: cost per unit of turnover over the cap.
        tax_valuation: "statutory" prices each lot's gain at its account's rate; "shadow" at
            the account's shadow rates (``apps.taxlots.shadow``: the netting of the year so far,
            the carryforward and when it will be used, net of the deferral credit below).
        deferral_discount_rate: Yearly rate discounting later taxes (shadow valuation).
        realization_horizon_years: Years until positions are assumed sold anyway, at the
            long-term rate (shadow valuation); None: never (a step-up at death, IRC §1014).
        shadow_step_rate: The shadow rates' chord step, as a fraction of the account's value.
        expected_gain_rate: Gains a portfolio is expected to produce a year, a fraction of its
            value (shadow valuation): with the embedded gains released over the horizon, what a
            carried loss will offset each year, hence how soon the bank is used.
        wash_lock_cost_weight: Each buy of a name freezes its loss lots for 30 days (IRC
            §1091(a)): a buy costs, per unit bought, this weight × the account's loss shadow
            rate × the name's expected loss over 30 days (σ·√(30/365)/√(2π), the mean of the
            negative part of its return), the harvest it may forgo. 0 disables it.
        substitute_preference_rate: What following the firm's substitute list is worth, per
            unit bought of a harvested name's first listed alternative (half for the second...):
            a fraction of the amount, taken off the buy's cost.
        tracking_error_step_limit: Re-solves allowed to bring a household to its tracking
            error target (``HouseholdProblem.tracking_error_target``).
        asset_location: "given": each account's ``location_cost_rates`` only; "derived": plus
            the preferences ``apps.optimizer.core.location`` derives from the risk model's
            volatilities, each account's loss rate and the names' taxable yields (volatile names
            in the taxable account, calm and yielding ones in the tax-deferred one).
        location_horizon_years: Years over which a derived location preference is counted
            (``location``'s docstring: a lot's short-term year, IRC §1222), > 0.
    """

    solver: str = "PIQP"
    fallback_solver: str | None = "CLARABEL"
    eps_abs: float = 1e-8
    eps_rel: float = 1e-9
    max_iter: int = 250
    risk_aversion: float = 100.0
    transaction_cost_bps: float = 5.0
    long_term_wait_days: int = 31
    long_term_wait_weight: float = 1.0
    holding_period_months: int = 12
    transition_sell_reward_rate: float = 0.02
    min_trade_position_rate: float = 0.1
    band_penalty_rate: float = 10.0
    budget_penalty_rate: float = 1000.0
    turnover_penalty_rate: float = 1.0
    tax_valuation: str = "statutory"
    deferral_discount_rate: float = 0.05
    realization_horizon_years: float | None = None
    shadow_step_rate: float = 0.01
    expected_gain_rate: float = 0.0
    wash_lock_cost_weight: float = 0.0
    substitute_preference_rate: float = 0.002
    tracking_error_step_limit: int = 4
    asset_location: str = "given"
    location_horizon_years: float = 1.0

    def __post_init__(self) -> None:
        if self.asset_location not in {"given", "derived"}:
            raise ProblemShapeError("asset_location must be 'given' or 'derived'")
        if not (math.isfinite(self.location_horizon_years) and self.location_horizon_years > 0):
            raise ProblemShapeError("location_horizon_years must be > 0")
        if self.tax_valuation not in {"statutory", "shadow"}:
            raise ProblemShapeError("tax_valuation must be 'statutory' or 'shadow'")
        if self.realization_horizon_years is not None and not (
            math.isfinite(self.realization_horizon_years) and self.realization_horizon_years >= 0
        ):
            raise ProblemShapeError("realization_horizon_years must be >= 0 or None")
        if not 0.0 < self.shadow_step_rate <= 1.0:
            raise ProblemShapeError("shadow_step_rate must be in (0, 1]")
        if self.tracking_error_step_limit < 0:
            raise ProblemShapeError("tracking_error_step_limit must be >= 0")
        if self.solver not in {"PIQP", "CLARABEL"}:
            raise ProblemShapeError(f"solver must be PIQP or CLARABEL, got {self.solver!r}")
        if self.fallback_solver not in {None, "PIQP", "CLARABEL"}:
            raise ProblemShapeError("fallback_solver must be None, PIQP or CLARABEL")
        for name in ("eps_abs", "eps_rel", "risk_aversion"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ProblemShapeError(f"{name} must be > 0")
        for name in (
            "transaction_cost_bps",
            "long_term_wait_weight",
            "transition_sell_reward_rate",
            "band_penalty_rate",
            "budget_penalty_rate",
            "turnover_penalty_rate",
            "deferral_discount_rate",
            "wash_lock_cost_weight",
            "expected_gain_rate",
            "substitute_preference_rate",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ProblemShapeError(f"{name} must be >= 0")
        _check_rate(self.min_trade_position_rate, "min_trade_position_rate")
        if self.max_iter <= 0 or self.long_term_wait_days < 0 or self.holding_period_months <= 0:
            raise ProblemShapeError("max_iter and holding_period_months > 0, wait days >= 0")

    @property
    def transaction_cost_rate(self) -> float:
        """Transaction cost as a fraction of the traded amount."""
        return self.transaction_cost_bps * 1e-4


@dataclass(frozen=True, slots=True)
class Trade:
    """One proposed trade: a sell of one lot or a buy of one name, in one account."""

    account_id: str
    side: TradeSide
    symbol: str
    lot_id: str | None  # None for buys
    shares: float  # > 0; whole shares unless the account trades fractions; rounded toward zero
    amount: float  # shares × price, account currency
    realized_gain_amount: float  # sells: proceeds − basis of the shares sold; buys: 0
    is_long_term: bool | None  # sells: holding period; buys: None
    reason: TradeReason
    explanation: str  # one human sentence
    why: str = ""  # the purpose clause of ``explanation`` ("to harvest the loss")


@dataclass(frozen=True, slots=True)
class DroppedTrade:
    """A trade of the continuous solution that the post-solve stage left out, and why.

    ``amount`` is the solver's wanted amount (account currency) after same-name netting, or
    before it for a trade netting cancelled; ``lot_id`` is None for buys.
    """

    account_id: str
    side: TradeSide
    symbol: str
    lot_id: str | None
    amount: float
    why: str


@dataclass(frozen=True, slots=True)
class PortfolioMetrics:
    """Household-level portfolio statistics before or after the trades."""

    active_risk_rate: float  # tracking error, annualised, fraction
    max_drift_weight: float  # max |w_i − target_i|
    cash_weight: float
    value_amount: float


@dataclass(frozen=True, slots=True)
class TaxSummary:
    """Realised gains and the core's linear tax estimate (rate × gain, losses negative).

    The estimate ignores cross-year netting: that belongs to ``apps.taxlots``.
    """

    short_term_gain_amount: float
    long_term_gain_amount: float
    estimated_tax_amount: float
    losses_harvested_amount: float  # >= 0, sum of realised losses
    forced_gain_amount: float  # net gain of sales forced by restrictions
    # Gains over budget caused by forced sales: per account the largest overrun of its gains
    # budgets (net, short-term, long-term), summed; a tax budget's overrun is in ``forced``.
    forced_over_budget_amount: float


@dataclass(frozen=True, slots=True)
class ObjectiveTerms:
    """Objective terms at the rounded trades, fractions of household value."""

    risk: float  # risk_aversion × active variance
    tax: float
    transaction_cost: float
    penalties: float  # waiting, location, transition and elastic terms
    total: float


@dataclass(frozen=True, slots=True)
class NaiveRebalance:
    """Tax-naive counterfactual: same targets, FIFO relief, no harvesting or deferral."""

    short_term_gain_amount: float
    long_term_gain_amount: float
    estimated_tax_amount: float
    turnover_weight: float


@dataclass(frozen=True, slots=True)
class RebalanceResult:
    """Trades and everything needed to explain and audit them."""

    trades: tuple[Trade, ...]
    before: PortfolioMetrics
    after: PortfolioMetrics
    taxes: TaxSummary
    turnover_weight: float
    objective: ObjectiveTerms
    solver_name: str
    solve_time_ms: float  # solver only
    total_time_ms: float  # build + solve + rounding + re-check
    status: str  # "optimal" | "optimal_inaccurate"
    relaxed: tuple[str, ...]  # constraints softened by the elastic re-solve, with amounts
    forced: tuple[str, ...]  # sales forced by restrictions that exceeded a limit
    repairs: tuple[str, ...]  # post-solve adjustments (netting, minimum trade, cash, budget)
    violations: tuple[str, ...]  # constraints still violated after repair (expected empty)
    naive: NaiveRebalance
    dropped: tuple[DroppedTrade, ...] = ()  # solver trades left out after the solve, with why
    # Accounts whose cash floor (reserve + withdrawals due) cannot be met today, and why; the
    # trades then raise what may be sold (the floor is lowered to that).
    cash_short: tuple[str, ...] = ()
    # The risk aversion the trades were solved with (the config's × the problem's scale, raised
    # to meet a tracking error target), and why it was raised ("" when it was not).
    risk_aversion_used: float = 0.0
    tracking_error_note: str = ""
    # Names kept well over their target after the trades, with the tax selling would cost and
    # the tracking error they add (``holds.kept_overweight_notes``).
    kept_notes: tuple[str, ...] = ()
