"""Asset location derived from the risk model and each account's taxes (``asset_location``).

Which of a household's accounts should hold a name? With total-return prices and no dividends
the tax difference between a taxable account and a tax-deferred one (an IRA) is:

* **The tax-timing option** (Constantinides 1983, "Capital market equilibrium with personal
  tax", Econometrica 51; Dammon, Spatt and Zhang 2004, "Optimal asset location and allocation
  with taxable and tax-deferred investing", Journal of Finance 59(3): equities, and the more
  volatile first, in the taxable account): only in a taxable account can a fall in a name's
  price be sold for its tax saving. A dollar of name i bought in account a is expected to be
  under water by E[max(−R, 0)] after H years, R ~ N(g·H, σ_i²·H) its return (σ_i the risk
  model's volatility, g ``SolverConfig.expected_gain_rate`` the drift that takes lots out of
  the money), and each dollar of that loss is worth the account's loss shadow rate ℓ_a
  (``prepare.objective_tax_rates``: the statutory long-term rate, or the shadow rate net of
  the deferral credit; 0 where the account is not taxable or does not harvest). Closed form,
  with s = σ√H, m = g·H: E[max(−R, 0)] = s·φ(m/s) − m·Φ(−m/s) (the mean of a normal's negative
  part). A lower bound: a weekly scan can sell near the path's low, not only at H.
* **Realised gains**: a rebalancing sale that realises a gain costs tax in the taxable account
  and nothing in the IRA. That cost is not in the preference: the program already prices it on
  the lot that is sold (its tax term), so the joint solve trims in the IRA when it can; a
  preference for it would count it twice.
* **Taxable yield** (``HouseholdProblem.taxable_yield_rates``, a fraction of value a year, 0
  when unknown: the door for a security master's yields): taxed each year at the ordinary
  (short-term) rate in a taxable account (interest and non-qualified dividends, IRC §61(a)(4),
  (7) and §1(h)(11)(B)), deferred in an IRA (IRC §408(e)(1)) and tax-free in a Roth: y_i·τ_a·H.

The value of holding a unit of name i in account a over the horizon is therefore
``v_ai = ℓ_a·E[max(−R_i, 0)] − τ_a·y_i·H`` (a fraction of the value held). The program's
location term is a cost per unit of household weight moved into an account (``AccountInput.
location_cost_rates``: buys pay it, sells earn it back), so only the differences between
accounts may count: the cost is ``−(v_ai − Σ_b ω_b·v_bi)`` with ω_b account b's share of the
household's value. A purchase spread over the accounts by value then costs nothing, one account
alone gets nothing, and a swap that moves a volatile name into the taxable account and a calm
(or yielding) one into the IRA earns the difference.

Horizon H (``SolverConfig.location_horizon_years``, 1 year): the cost is paid once, on the
trade that moves the weight, so it counts what the move is worth until its effect fades. A lot
bought today is short-term for a year (IRC §1222), when its loss saves the most; after a year
of drift g it is more likely in gain than loss, and the account's loss shadow rate is this
year's price. Longer horizons would count options that later rebalances re-create anyway.
Units: rates are fractions of value; σ and g a year; H years.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from apps.optimizer.core.types import FloatArray, HouseholdProblem, RiskModel, SolverConfig

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def name_volatilities(model: RiskModel) -> FloatArray:
    """Each name's total annualised volatility in the risk model, √(diag(B F Bᵀ) + d) (fraction)."""
    # Row sums of (B F) ∘ B: a matrix product (an einsum over the three arrays took 1.6 ms at
    # 500 names × 51 factors, on every account's solve; this takes 0.1 ms).
    variance = ((model.loadings @ model.factor_covariance) * model.loadings).sum(axis=1)
    variance = variance + np.asarray(model.specific_variance)
    out: FloatArray = np.sqrt(np.maximum(variance, 0.0))
    return out


def expected_loss_rates(
    volatility: FloatArray, horizon_years: float, drift_rate: float
) -> FloatArray:
    """E[max(−R, 0)] for R ~ N(drift·H, σ²·H): the mean loss per unit held after H years.

    Args:
        volatility: σ per name, a year (fraction).
        horizon_years: H, years (>= 0).
        drift_rate: Expected return a year (fraction).

    Returns:
        Per name, the expected loss as a fraction of the value held (0 where σ√H is 0).
    """
    spread = np.asarray(volatility, dtype=np.float64) * np.sqrt(max(horizon_years, 0.0))
    mean = drift_rate * max(horizon_years, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0.0, mean / spread, 0.0)
    density = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    out: FloatArray = np.where(
        spread > 0.0, spread * density - mean * ndtr(-z), np.maximum(-mean, 0.0)
    )
    return out


def derived_location_cost_rates(
    problem: HouseholdProblem,
    config: SolverConfig,
    loss_rates: FloatArray,
    account_values: FloatArray,
) -> FloatArray:
    """Per account (rows) and name: the derived location cost per unit of household weight.

    Args:
        problem: The household (risk model, accounts' profiles, ``taxable_yield_rates``).
        config: ``location_horizon_years`` and ``expected_gain_rate``.
        loss_rates: Per account, what a dollar of harvested loss saves (0 where the account does
            not harvest or is not taxable), fraction.
        account_values: Per account, value in USD (the weights ω of the module docstring).

    Returns:
        accounts × names, fractions; negative where the account is the better home.
    """
    horizon = config.location_horizon_years
    option = expected_loss_rates(
        name_volatilities(problem.risk_model), horizon, config.expected_gain_rate
    )
    yields = (
        np.zeros(problem.universe.size)
        if problem.taxable_yield_rates is None
        else problem.taxable_yield_rates
    )
    ordinary = np.array(
        [a.tax_profile.short_term_rate * a.tax_profile.is_taxable for a in problem.accounts]
    )
    value = np.outer(loss_rates, option) - np.outer(ordinary, yields) * horizon
    total = float(np.sum(account_values))
    shares = account_values / total if total > 0.0 else np.zeros(len(account_values))
    out: FloatArray = -(value - shares @ value)
    return out
