"""The tax-aware rebalancing program, its compilation and its solvers.

The optimisation problem (one household of accounts a; one account is a household of one)
-----------------------------------------------------------------------------------------
Units: every variable is a fraction of household value V (amount / V).

Variables
    s_l ≥ 0   value sold from free lot l (forced lots are constants, frozen lots are 0)
    b_ai ≥ 0  value of name i bought in account a (only where the name may be bought today)
    e_i       active weight after trading, e = w − w_target           ("w-form")
    f_j       factor exposure, f = Bᵀ e

Objective (minimise)
    risk_aversion · ( fᵀ F f + Σ_i d_i e_i² )        annualised active variance (tracking error²)
  + Σ_l (rate_l · g_l) s_l                           tax: g_l = gain per unit sold (< 0 = loss, a
                                                     benefit), rate_l = short- or long-term rate
                                                     of the lot's account (0 if not taxable)
  + tc · (Σ s + Σ b)                                 transaction cost (``transaction_cost_bps``)
  + Σ_l p_l s_l + Σ q_ai b_ai                        penalties: short-term gain lots that turn
                                                     long-term within ``long_term_wait_days``
                                                     pay (st − lt)·g more; transition mode
                                                     rewards selling screened gain lots; asset
                                                     location preference per account and name

Constraints
    e_i + Σ_{l∈i} s_l − Σ_a b_ai = w0_i − forced_i − w_target_i     (holdings identity)
    Bᵀ e − f = 0
    per account: cash_a + (1 − tc)(Σ s + forced) − (1 + tc) Σ b ≥ reserve_a + withdrawals_a
    per taxable account and budget it has (``prepare.BUDGET_KINDS``):
        Σ_{free l} c_l s_l ≤ budget_a − what forced sells use of it, with c_l = g_l (net gains),
        g_l of short-term or of long-term lots only (a budget per character), or rate_l · g_l
        (a budget in tax dollars); a loss counts 0 where harvesting is off
        (forced sales may exceed a budget; reported as forced)
    Σ_{free} s + Σ b ≤ turnover cap                         (forced sales excluded)
    |Σ_{i∈sector} e_i| ≤ sector band,  |Σ_{i∈industry} e_i| ≤ industry band,
    |e_i| ≤ name band × w_target_i for model names                (``prepare.drift_bands``)
    0 ≤ s_l ≤ lot weight (native variable bounds; never-sell, wash-locked and buy-side loss lots
    are removed), b ≥ 0 (no shorting follows from s ≤ lot weight).

Side rule, restrictions and modes are applied when preparing the data (``prepare.py``).

If the program is infeasible it is re-solved *elastically*: bands, budget and turnover get
non-negative slacks with large linear costs (``band_penalty_rate``, ``budget_penalty_rate``,
``turnover_penalty_rate``) and the result lists what was relaxed and by how much.

Solver path (measured in ``bench/optimizer.py``): the universe part — the e/f columns of the
equality rows, the Hessian blocks λ·diag(d), λ·F and the band rows — is compiled once per
(universe, risk model, risk aversion) into sparse blocks; per account only the lot and buy columns
are added and the QP is handed to PIQP's sparse solver directly, with native variable bounds and
double-sided inequality rows. Clarabel through cvxpy (an independent formulation of the same
program) is the fallback and the benchmark's baseline.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import piqp
import scipy.sparse as sp
from cvxpy.atoms.affine.binary_operators import multiply as cp_multiply
from cvxpy.atoms.affine.sum import sum as cp_sum
from cvxpy.atoms.sum_squares import sum_squares as cp_sum_squares

from apps.optimizer.core.errors import ProblemShapeError, SolverFailed
from apps.optimizer.core.prepare import (
    BUDGET_KINDS,
    LOT_FORCED,
    IntArray,
    PreparedProblem,
    budget_row_name,
)
from apps.optimizer.core.solution import (
    STATUS_FAILED,
    STATUS_INACCURATE,
    STATUS_INFEASIBLE,
    STATUS_OPTIMAL,
    ContinuousSolution,
    RowLabel,
)
from apps.optimizer.core.types import (
    FloatArray,
    RiskModel,
    SolverConfig,
    Universe,
)

INFINITY = np.inf


@dataclass(frozen=True, slots=True)
class CompiledUniverse:
    """Per-(universe, risk model, risk aversion) blocks, built once and reused for every account."""

    symbols: tuple[str, ...]
    risk_aversion: float
    risk_model_digest: str  # content hash: a compiled universe is only reused for its own model
    loadings: FloatArray  # B, n × k
    factor_covariance: FloatArray
    specific_variance: FloatArray
    factor_sqrt: FloatArray  # L with F = L Lᵀ (k × k), for the cvxpy path
    ef_equality: tuple[IntArray, IntArray, FloatArray]  # COO (rows, cols, vals) of e/f columns
    ef_hessian: tuple[IntArray, IntArray, FloatArray]  # COO, upper triangle, e/f columns
    compile_time_ms: float
    # Each name's total variance under the model (diag of B F Bᵀ + diag(d)), annualised, for
    # correlations (harvest partners, kept-position notes) without a k × k product per call.
    name_variance: FloatArray

    @property
    def size(self) -> int:
        """Number of names."""
        return len(self.symbols)

    @property
    def factor_count(self) -> int:
        """Number of factors."""
        return int(self.loadings.shape[1])

    def active_risk(self, active: FloatArray) -> float:
        """Annualised tracking error of an active-weight vector (fractions of value)."""
        exposures = self.loadings.T @ active
        variance = float(exposures @ self.factor_covariance @ exposures) + float(
            self.specific_variance @ (active * active)
        )
        return float(np.sqrt(max(variance, 0.0)))

    def correlations(self, i: int) -> FloatArray:
        """Correlation of name ``i`` with every name of the universe under the risk model."""
        covariance = self.loadings @ (self.loadings[i] @ self.factor_covariance)
        covariance[i] += self.specific_variance[i]
        out: FloatArray = covariance / np.sqrt(self.name_variance * self.name_variance[i])
        return out


def risk_model_digest(risk_model: RiskModel) -> str:
    """Content hash of a risk model (symbols, factor names and every array)."""
    digest = hashlib.sha256(repr((risk_model.symbols, risk_model.factor_names)).encode())
    for array in (
        risk_model.loadings,
        risk_model.factor_covariance,
        risk_model.specific_variance,
    ):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def compile_universe(
    universe: Universe, risk_model: RiskModel, config: SolverConfig
) -> CompiledUniverse:
    """Precompute everything that does not depend on the account.

    Args:
        universe: Names, prices and classifications.
        risk_model: Annualised factor model in the universe's order.
        config: Supplies the risk aversion.

    Returns:
        The compiled universe, reusable for every account with the same inputs.

    Raises:
        ProblemShapeError: When the risk model does not match the universe.
    """
    start = time.perf_counter()
    if risk_model.symbols != universe.symbols:
        raise ProblemShapeError("risk model symbols must equal universe symbols, same order")
    n, k = risk_model.loadings.shape
    lam = config.risk_aversion
    loadings = risk_model.loadings
    # Equality rows 0..n-1 (holdings identity) and n..n+k-1 (Bᵀe − f = 0); columns e then f.
    b_rows, b_cols = np.nonzero(loadings)  # name i, factor j → row n + j, column i
    rows = np.concatenate([np.arange(n), n + b_cols, n + np.arange(k)])
    cols = np.concatenate([np.arange(n), b_rows, n + np.arange(k)])
    vals = np.concatenate([np.ones(n), loadings[b_rows, b_cols], -np.ones(k)])
    # ½ xᵀ P x with P = 2λ·blockdiag(diag(d), F), upper triangle only.
    f_rows, f_cols = np.triu_indices(k)
    cov = risk_model.factor_covariance
    keep = cov[f_rows, f_cols] != 0.0
    h_rows = np.concatenate([np.arange(n), n + f_rows[keep]])
    h_cols = np.concatenate([np.arange(n), n + f_cols[keep]])
    h_vals = 2.0 * lam * np.concatenate([risk_model.specific_variance, cov[f_rows, f_cols][keep]])
    eigenvalues, vectors = np.linalg.eigh(cov)
    factor_sqrt = vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    return CompiledUniverse(
        symbols=universe.symbols,
        risk_aversion=lam,
        risk_model_digest=risk_model_digest(risk_model),
        loadings=loadings,
        factor_covariance=cov,
        specific_variance=risk_model.specific_variance,
        factor_sqrt=factor_sqrt,
        ef_equality=(rows.astype(np.int64), cols.astype(np.int64), vals),
        ef_hessian=(h_rows.astype(np.int64), h_cols.astype(np.int64), h_vals),
        compile_time_ms=(time.perf_counter() - start) * 1e3,
        name_variance=np.einsum("ij,ij->i", loadings @ cov, loadings)
        + risk_model.specific_variance,
    )


@dataclass(frozen=True, slots=True)
class SparseQP:
    """min ½xᵀPx + cᵀx s.t. Ax = b, h_l ≤ Gx ≤ h_u, x_l ≤ x ≤ x_u (PIQP's form)."""

    P: sp.csc_matrix
    c: FloatArray
    A: sp.csc_matrix
    b: FloatArray
    G: sp.csc_matrix
    h_l: FloatArray
    h_u: FloatArray
    x_l: FloatArray
    x_u: FloatArray
    sell_count: int
    buy_count: int
    slack_labels: tuple[RowLabel, ...] = field(default=())


def _csc(rows: IntArray, cols: IntArray, vals: FloatArray, shape: tuple[int, int]) -> sp.csc_matrix:
    """The canonical CSC matrix of (row, col, value) entries (as ``csc_matrix((v, (r, c)))``).

    Sorting the entries by column and row directly is several times quicker than scipy's COO
    conversion for these small matrices; duplicate entries (summed by scipy) take scipy's path.
    """
    order = np.lexsort((rows, cols))
    r, c = rows[order], cols[order]
    if len(c) > 1 and bool(np.any((c[1:] == c[:-1]) & (r[1:] == r[:-1]))):
        return sp.csc_matrix((vals, (rows, cols)), shape=shape)
    index = np.int32 if max(shape[0], shape[1], len(c)) < 2**31 - 1 else np.int64
    indptr = np.zeros(shape[1] + 1, dtype=index)
    np.cumsum(np.bincount(c, minlength=shape[1]), out=indptr[1:])
    return sp.csc_matrix((vals[order], r.astype(index), indptr), shape=shape)


def _free_weights(prepared: PreparedProblem) -> FloatArray:
    residual = prepared.initial_weights - prepared.forced_sell_weights_by_name
    out: FloatArray = residual - prepared.target_weights
    return out


def _forced_proceeds(prepared: PreparedProblem) -> FloatArray:
    forced = prepared.lot_state == LOT_FORCED
    out = np.zeros(len(prepared.account_values))
    np.add.at(out, prepared.lot_account[forced], prepared.lot_weight[forced])
    return out


@dataclass(slots=True)
class _InequalityRows:
    """The rows h_l ≤ Gx ≤ h_u of the sparse QP as COO blocks, appended block by block.

    Each elastic slack is a column of its own: its (row, coefficient) entry and its cost.
    """

    g_rows: list[IntArray] = field(default_factory=list)
    g_cols: list[IntArray] = field(default_factory=list)
    g_vals: list[FloatArray] = field(default_factory=list)
    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    labels: list[RowLabel] = field(default_factory=list)
    slack_costs: list[float] = field(default_factory=list)
    slack_entries: list[tuple[int, float]] = field(default_factory=list)
    count: int = 0  # rows so far


def _cash_rows(rows: _InequalityRows, prepared: PreparedProblem) -> None:
    """One row per account: cash after trading at least its floor (fractions of V)."""
    tc = prepared.transaction_cost_rate
    ns, nb = len(prepared.free_lots), len(prepared.buy_symbol)
    accounts = len(prepared.account_values)
    lot_acct = prepared.lot_account[prepared.free_lots]
    rows.g_rows += [rows.count + lot_acct, rows.count + prepared.buy_account]
    rows.g_cols += [np.arange(ns), ns + np.arange(nb)]
    rows.g_vals += [np.full(ns, 1.0 - tc), np.full(nb, -(1.0 + tc))]
    forced = _forced_proceeds(prepared)
    rows.lower.append(
        prepared.cash_floor_weights - prepared.account_cash_weights - (1.0 - tc) * forced
    )
    rows.upper.append(np.full(accounts, INFINITY))
    rows.labels += [RowLabel("cash", str(a)) for a in range(accounts)]
    rows.count += accounts


def _budget_rows(
    rows: _InequalityRows, prepared: PreparedProblem, config: SolverConfig, is_elastic: bool
) -> None:
    """One row per (account, budget kind) with a budget: what free sells count against it."""
    limits = prepared.budget_limit_weights
    budget_accounts, budget_kinds = np.nonzero(np.isfinite(limits))
    if not len(budget_accounts):
        return
    free = prepared.free_lots
    lot_acct = prepared.lot_account[free]
    row_of = np.full(limits.shape, -1, dtype=np.int64)
    row_of[budget_accounts, budget_kinds] = rows.count + np.arange(len(budget_accounts))
    for budget_kind in range(len(BUDGET_KINDS)):
        rates = prepared.lot_budget_rates[budget_kind][free]
        kind_rows = row_of[lot_acct, budget_kind]
        counted = (kind_rows >= 0) & (rates != 0.0)
        rows.g_rows.append(kind_rows[counted])
        rows.g_cols.append(np.flatnonzero(counted))
        rows.g_vals.append(rates[counted])
    rows.lower.append(np.full(len(budget_accounts), -INFINITY))
    rows.upper.append(limits[budget_accounts, budget_kinds])
    for a, budget_kind in zip(budget_accounts.tolist(), budget_kinds.tolist(), strict=True):
        rows.labels.append(RowLabel("budget", budget_row_name(a, budget_kind)))
        if is_elastic:
            rows.slack_entries.append((int(row_of[a, budget_kind]), -1.0))
            rows.slack_costs.append(config.budget_penalty_rate)
    rows.count += len(budget_accounts)


def _turnover_row(
    rows: _InequalityRows, prepared: PreparedProblem, config: SolverConfig, is_elastic: bool
) -> None:
    """The turnover cap over the free trades (forced sales excluded), if there is one."""
    if prepared.turnover_cap_weight is None:
        return
    trades = len(prepared.free_lots) + len(prepared.buy_symbol)
    rows.g_rows.append(np.full(trades, rows.count, dtype=np.int64))
    rows.g_cols.append(np.arange(trades))
    rows.g_vals.append(np.ones(trades))
    rows.lower.append(np.array([-INFINITY]))
    rows.upper.append(np.array([prepared.turnover_cap_weight]))
    rows.labels.append(RowLabel("turnover", ""))
    if is_elastic:
        rows.slack_entries.append((rows.count, -1.0))
        rows.slack_costs.append(config.turnover_penalty_rate)
    rows.count += 1


def _band_rows(
    rows: _InequalityRows,
    prepared: PreparedProblem,
    config: SolverConfig,
    is_elastic: bool,
    e0: int,
) -> None:
    """The drift bands (sector, industry, name) over e, whose columns start at ``e0``."""
    for band in prepared.bands:
        rows.g_rows.append(rows.count + band.group_of)
        rows.g_cols.append(e0 + band.members)
        rows.g_vals.append(np.ones(len(band.members)))
        rows.lower.append(-band.limits)
        rows.upper.append(band.limits)
        for j, name in enumerate(band.groups):
            rows.labels.append(RowLabel(band.kind, name))
            if is_elastic:
                rows.slack_entries += [(rows.count + j, 1.0), (rows.count + j, -1.0)]
                rows.slack_costs += [config.band_penalty_rate, config.band_penalty_rate]
        rows.count += len(band.groups)


def build_sparse_qp(
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    config: SolverConfig,
    *,
    is_elastic: bool = False,
) -> SparseQP:
    """Assemble the per-account QP from the compiled universe blocks.

    Args:
        prepared: Account data (lots, bounds, coefficients).
        compiled: Universe blocks.
        config: Penalty rates for the elastic form.
        is_elastic: Add slacks to bands, budget and turnover.

    Returns:
        The QP in PIQP's form.
    """
    n, k = compiled.size, compiled.factor_count
    free = prepared.free_lots
    ns, nb = len(free), len(prepared.buy_symbol)
    e0 = ns + nb  # columns: free sells, buys, e, f, slacks
    nx_core = e0 + n + k
    # Equalities: the holdings identity per name, then Bᵀe − f = 0.
    er, ec, ev = compiled.ef_equality
    a_rows = np.concatenate([prepared.lot_symbol[free], prepared.buy_symbol, er])
    a_cols = np.concatenate([np.arange(ns), ns + np.arange(nb), e0 + ec])
    a_vals = np.concatenate([np.ones(ns), -np.ones(nb), ev])
    b_vec = np.concatenate([_free_weights(prepared), np.zeros(k)])
    rows = _InequalityRows()
    _cash_rows(rows, prepared)
    _budget_rows(rows, prepared, config, is_elastic)
    _turnover_row(rows, prepared, config, is_elastic)
    _band_rows(rows, prepared, config, is_elastic, e0)
    n_slack = len(rows.slack_entries)
    nx = nx_core + n_slack
    if n_slack:
        rows.g_rows.append(np.array([r for r, _ in rows.slack_entries], dtype=np.int64))
        rows.g_cols.append(nx_core + np.arange(n_slack))
        rows.g_vals.append(np.array([v for _, v in rows.slack_entries]))
    g_matrix = _csc(
        np.concatenate(rows.g_rows).astype(np.int64, copy=False),
        np.concatenate(rows.g_cols).astype(np.int64, copy=False),
        np.concatenate(rows.g_vals).astype(np.float64, copy=False),
        (rows.count, nx),
    )
    hr, hc, hv = compiled.ef_hessian
    c = np.concatenate(
        [prepared.lot_cost[free], prepared.buy_cost, np.zeros(n + k), np.array(rows.slack_costs)]
    )
    x_u = np.concatenate(
        [prepared.lot_weight[free], np.full(nb, INFINITY), np.full(n + k + n_slack, INFINITY)]
    )
    return SparseQP(
        P=_csc(e0 + hr, e0 + hc, hv, (nx, nx)),
        c=c,
        A=_csc(a_rows, a_cols, a_vals.astype(np.float64, copy=False), (n + k, nx)),
        b=b_vec,
        G=g_matrix,
        h_l=np.concatenate(rows.lower),
        h_u=np.concatenate(rows.upper),
        x_l=np.concatenate([np.zeros(ns + nb), np.full(n + k, -INFINITY), np.zeros(n_slack)]),
        x_u=x_u,
        sell_count=ns,
        buy_count=nb,
        slack_labels=tuple(rows.labels[r] for r, _ in rows.slack_entries),
    )


def _to_solution(
    prepared: PreparedProblem,
    x: FloatArray,
    *,
    sell_count: int,
    buy_count: int,
    slack_labels: tuple[RowLabel, ...],
    slack_values: FloatArray,
    objective: float,
    status: str,
    solver_name: str,
    solve_time_ms: float,
) -> ContinuousSolution:
    sells = np.where(prepared.lot_state == LOT_FORCED, prepared.lot_weight, 0.0)
    free = prepared.free_lots
    sells[free] = np.clip(x[:sell_count], 0.0, prepared.lot_weight[free])
    buys = np.clip(x[sell_count : sell_count + buy_count], 0.0, None)
    relaxed: dict[RowLabel, float] = {}
    for label, value in zip(slack_labels, slack_values, strict=True):
        if value > 1e-7:
            relaxed[label] = relaxed.get(label, 0.0) + float(value)
    return ContinuousSolution(
        lot_sell_weights=sells,
        buy_weights=buys,
        objective=objective,
        status=status,
        solver_name=solver_name,
        solve_time_ms=solve_time_ms,
        relaxed=tuple(relaxed.items()),
    )


def solve_with_piqp(
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    config: SolverConfig,
    *,
    is_elastic: bool = False,
) -> ContinuousSolution:
    """Build the sparse QP and solve it with PIQP's sparse solver.

    Args:
        prepared: Account data.
        compiled: Universe blocks.
        config: Tolerances and penalties.
        is_elastic: Solve the elastic form.

    Returns:
        The continuous solution; ``status`` is "optimal", "infeasible" or "failed".
    """
    qp = build_sparse_qp(prepared, compiled, config, is_elastic=is_elastic)
    solver = piqp.SparseSolver()
    settings = solver.settings
    settings.verbose = False
    settings.eps_abs = config.eps_abs
    settings.eps_rel = config.eps_rel
    settings.max_iter = config.max_iter
    start = time.perf_counter()
    solver.setup(qp.P, qp.c, qp.A, qp.b, qp.G, qp.h_l, qp.h_u, qp.x_l, qp.x_u)
    piqp_status = solver.solve()
    elapsed = (time.perf_counter() - start) * 1e3
    if piqp_status == piqp.PIQP_SOLVED:
        status = STATUS_OPTIMAL
    elif piqp_status == piqp.PIQP_PRIMAL_INFEASIBLE:
        status = STATUS_INFEASIBLE
    else:
        status = STATUS_FAILED
    x = np.asarray(solver.result.x, dtype=np.float64)
    core = qp.sell_count + qp.buy_count + compiled.size + compiled.factor_count
    return (
        _to_solution(
            prepared,
            x,
            sell_count=qp.sell_count,
            buy_count=qp.buy_count,
            slack_labels=qp.slack_labels,
            slack_values=x[core:],
            objective=float(solver.result.info.primal_obj),
            status=status,
            solver_name="PIQP",
            solve_time_ms=elapsed,
        )
        if status != STATUS_FAILED
        else _failed(prepared, "PIQP", elapsed, str(piqp_status))
    )


def _failed(
    prepared: PreparedProblem, solver: str, elapsed: float, text: str
) -> ContinuousSolution:
    return ContinuousSolution(
        lot_sell_weights=np.zeros_like(prepared.lot_weight),
        buy_weights=np.zeros(len(prepared.buy_symbol)),
        objective=float("nan"),
        status=f"{STATUS_FAILED}:{text}",
        solver_name=solver,
        solve_time_ms=elapsed,
        relaxed=(),
    )


@dataclass(slots=True)
class _CvxpyModel:
    """The cvxpy form of the program, built up constraint by constraint.

    ``s`` and ``b`` are the free sells and buys; ``active`` is e as an expression of them.
    Each elastic slack has a label and its value's expression.
    """

    s: cp.Variable
    b: cp.Variable
    active: cp.Expression
    objective: cp.Expression
    constraints: list[cp.Constraint]
    slack_labels: list[RowLabel] = field(default_factory=list)
    slack_vars: list[cp.Expression] = field(default_factory=list)

    def bound_above(
        self,
        used: cp.Expression,
        limit: float,
        *,
        is_elastic: bool,
        penalty_rate: float,
        label: RowLabel,
    ) -> None:
        """``used ≤ limit``; elastic: ``used ≤ limit + slack`` with ``penalty_rate × slack``."""
        if is_elastic:
            slack = cp.Variable(nonneg=True)
            self.constraints.append(used <= limit + slack)
            self.objective = self.objective + penalty_rate * slack
            self.slack_labels.append(label)
            self.slack_vars.append(slack)
        else:
            self.constraints.append(used <= limit)


def _cvxpy_model(prepared: PreparedProblem, compiled: CompiledUniverse) -> _CvxpyModel:
    """Variables, the active weights, the objective and the lot bounds (no other rows yet)."""
    n = compiled.size
    free = prepared.free_lots
    ns, nb = len(free), len(prepared.buy_symbol)
    s = cp.Variable(ns, nonneg=True)
    b = cp.Variable(nb, nonneg=True)
    sell_map = sp.csc_matrix(
        (np.ones(ns), (prepared.lot_symbol[free], np.arange(ns))), shape=(n, max(ns, 0))
    )
    buy_map = sp.csc_matrix(
        (np.ones(nb), (prepared.buy_symbol, np.arange(nb))), shape=(n, max(nb, 0))
    )
    active = _free_weights(prepared) + buy_map @ b - sell_map @ s
    exposures = compiled.loadings.T @ active
    risk = cp_sum_squares(compiled.factor_sqrt.T @ exposures) + cp_sum_squares(
        cp_multiply(np.sqrt(compiled.specific_variance), active)
    )
    objective = compiled.risk_aversion * risk + prepared.lot_cost[free] @ s
    objective = objective + prepared.buy_cost @ b
    return _CvxpyModel(
        s=s,
        b=b,
        active=active,
        objective=objective,
        constraints=[s <= prepared.lot_weight[free]],
    )


def _cvxpy_account_rows(
    model: _CvxpyModel, prepared: PreparedProblem, config: SolverConfig, is_elastic: bool
) -> None:
    """Per account: its cash floor, then each budget it has."""
    tc = prepared.transaction_cost_rate
    free = prepared.free_lots
    forced = _forced_proceeds(prepared)
    lot_acct = prepared.lot_account[free]
    s, b = model.s, model.b
    for a in range(len(prepared.account_values)):
        in_a = (lot_acct == a).astype(np.float64)
        buys_a = (prepared.buy_account == a).astype(np.float64)
        cash_after = (
            prepared.account_cash_weights[a]
            + (1.0 - tc) * (in_a @ s + forced[a])
            - (1.0 + tc) * (buys_a @ b)
        )
        model.constraints.append(cash_after >= prepared.cash_floor_weights[a])
        for k in range(len(BUDGET_KINDS)):
            limit = prepared.budget_limit_weights[a, k]
            if not np.isfinite(limit):
                continue
            model.bound_above(
                (in_a * prepared.lot_budget_rates[k][free]) @ s,
                limit,
                is_elastic=is_elastic,
                penalty_rate=config.budget_penalty_rate,
                label=RowLabel("budget", budget_row_name(a, k)),
            )


def _cvxpy_band_rows(
    model: _CvxpyModel, prepared: PreparedProblem, config: SolverConfig, is_elastic: bool
) -> None:
    """The drift bands: ``|Σ_{i ∈ group} e_i| ≤ limit`` per group, two slacks when elastic."""
    n = len(prepared.initial_weights)
    for band in prepared.bands:
        names, limit = band.groups, band.limits
        members = sp.csr_matrix(
            (np.ones(len(band.members)), (band.group_of, band.members)), shape=(len(names), n)
        )
        group_active = members @ model.active
        if is_elastic:
            over = cp.Variable(len(names), nonneg=True)
            under = cp.Variable(len(names), nonneg=True)
            model.constraints += [group_active <= limit + over, group_active >= -limit - under]
            model.objective = model.objective + config.band_penalty_rate * (
                cp_sum(over) + cp_sum(under)
            )
            for j, name in enumerate(names):
                model.slack_labels += [RowLabel(band.kind, name)]
                model.slack_vars.append(over[j] + under[j])
        else:
            model.constraints += [group_active <= limit, group_active >= -limit]


def _cvxpy_solution(
    prepared: PreparedProblem,
    model: _CvxpyModel,
    problem: cp.Problem,
    solver: str,
    elapsed: float,
) -> ContinuousSolution:
    """The solved cvxpy problem's verdict and, when optimal, its sells, buys and slacks."""
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        status = STATUS_INFEASIBLE
    elif problem.status == cp.OPTIMAL:
        status = STATUS_OPTIMAL
    elif problem.status == cp.OPTIMAL_INACCURATE:
        status = STATUS_INACCURATE
    else:
        return _failed(prepared, solver, elapsed, str(problem.status))
    ns, nb = len(prepared.free_lots), len(prepared.buy_symbol)
    if status == STATUS_INFEASIBLE:
        return ContinuousSolution(
            lot_sell_weights=np.zeros_like(prepared.lot_weight),
            buy_weights=np.zeros(nb),
            objective=float("nan"),
            status=status,
            solver_name=solver,
            solve_time_ms=elapsed,
            relaxed=(),
        )
    x = np.concatenate(
        [
            np.asarray(model.s.value if ns else np.zeros(0), dtype=np.float64).ravel(),
            np.asarray(model.b.value if nb else np.zeros(0), dtype=np.float64).ravel(),
        ]
    )
    slack_values = np.array(
        [float(np.asarray(v.value)) for v in model.slack_vars], dtype=np.float64
    )
    return _to_solution(
        prepared,
        x,
        sell_count=ns,
        buy_count=nb,
        slack_labels=tuple(model.slack_labels),
        slack_values=slack_values,
        objective=float(problem.value),
        status=status,
        solver_name=solver,
        solve_time_ms=elapsed,
    )


def solve_with_cvxpy(
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    config: SolverConfig,
    *,
    solver: str = "CLARABEL",
    is_elastic: bool = False,
) -> ContinuousSolution:
    """Build a fresh cvxpy problem (same program, natural modelling) and solve it.

    This is the fallback path and the benchmark's naive baseline: nothing is reused between
    calls, so it pays cvxpy's canonicalisation every time.

    Args:
        prepared: Account data.
        compiled: Universe blocks (only the dense risk data is used).
        config: Tolerances and penalties.
        solver: A cvxpy solver name.
        is_elastic: Solve the elastic form.

    Returns:
        The continuous solution.
    """
    start = time.perf_counter()
    model = _cvxpy_model(prepared, compiled)
    _cvxpy_account_rows(model, prepared, config, is_elastic)
    if prepared.turnover_cap_weight is not None:
        model.bound_above(
            cp_sum(model.s) + cp_sum(model.b),
            prepared.turnover_cap_weight,
            is_elastic=is_elastic,
            penalty_rate=config.turnover_penalty_rate,
            label=RowLabel("turnover", ""),
        )
    _cvxpy_band_rows(model, prepared, config, is_elastic)
    problem = cp.Problem(cp.Minimize(model.objective), model.constraints)
    try:
        problem.solve(solver=solver)  # type: ignore[no-untyped-call]
    except cp.error.SolverError as exc:
        return _failed(prepared, solver, (time.perf_counter() - start) * 1e3, str(exc))
    elapsed = (time.perf_counter() - start) * 1e3
    return _cvxpy_solution(prepared, model, problem, solver, elapsed)


def solve_continuous(
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    config: SolverConfig,
    *,
    is_elastic: bool = False,
) -> ContinuousSolution:
    """Solve with the configured solver, then the fallback if the first one failed.

    Args:
        prepared: Account data.
        compiled: Universe blocks.
        config: Solver choice and tolerances.
        is_elastic: Solve the elastic form.

    Returns:
        The first solution that is optimal, inaccurate-optimal or infeasible (a verdict).

    Raises:
        SolverFailed: When every configured solver failed.
    """
    names = [config.solver]
    if config.fallback_solver and config.fallback_solver != config.solver:
        names.append(config.fallback_solver)
    last = ""
    for name in names:
        if name == "PIQP":
            solution = solve_with_piqp(prepared, compiled, config, is_elastic=is_elastic)
        else:
            solution = solve_with_cvxpy(
                prepared, compiled, config, solver=name, is_elastic=is_elastic
            )
        if not solution.status.startswith(STATUS_FAILED):
            return solution
        last = f"{name}: {solution.status}"
    raise SolverFailed(
        f"every solver failed ({last}); loosen eps_abs/eps_rel, raise max_iter, or check the "
        "risk model for extreme values (specific variances, factor covariance)",
        solver_status=last,
    )
