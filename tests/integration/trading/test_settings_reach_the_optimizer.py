"""Every account field the registry lists as read by the optimizer changes the optimizer's input
when it changes on a real account (a model, lots, a ledger); the harvesting, budget and
transition settings change the trades too (apps.accounts.profile_fields; issue 17, item 4)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import Account, Household
from apps.accounts.profile_fields import optimizer_fields
from apps.accounts.services.ledger import ledger_rebuild
from apps.optimizer import adapters
from apps.optimizer.core.solve import solve_rebalance
from apps.trading.models import RunMode
from apps.trading.selectors import run_universe_symbols
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF, SECTORS, realize_aaa_gain


def _new_household_with_a_restriction(account: Account, book: dict[str, Any]) -> None:
    """Move the account to a household whose restriction (never buy BBB) changes the target."""
    from apps.restrictions.services import restriction_add

    household = Household.objects.create(external_id="H-OTHER", name="Other household")
    restriction_add(
        kind="never_buy",
        value="BBB",
        starts_on=date(2024, 1, 1),
        household=household,
        acting_user=None,
    )
    Account.objects.filter(pk=account.pk).update(household=household)


def _other_model(account: Account, book: dict[str, Any]) -> None:
    """Assign a model with other weights on the same names."""
    from apps.models.services import model_create, model_version_create

    model = model_create(code="TILT8", name="Tilted 8", acting_user=None)
    weights = {s: Decimal("0.18") if s in ("AAA", "EEE") else Decimal("0.10") for s in SECTORS}
    model_version_create(
        model=model,
        effective_on=date(2024, 1, 1),
        cash_weight=Decimal("0.04"),
        security_weights=weights,
        acting_user=None,
    )
    Account.objects.filter(pk=account.pk).update(model=model)


@dataclass(frozen=True)
class Case:
    """Account values before (``setup``), then the change; ``trades``: the trades change too."""

    change: dict[str, Any] | Callable[[Account, dict[str, Any]], None]
    setup: dict[str, Any] = field(default_factory=dict)
    trades: bool = False


_BUDGET_LEFT = {"annual_budget_amount": Decimal("5000")}  # 1,000 of gain realized this year
_TRANSITION = {"transition_years": 3, "transition_start_year": AS_OF.year}  # three years left
CASES: dict[str, Case] = {
    "household": Case(_new_household_with_a_restriction),
    "custodian": Case({"custodian": "fidelity"}, {"is_fractional_shares": True}),
    "registration": Case({"registration": "traditional_ira"}),
    "short_term_rate": Case({"short_term_rate": Decimal("0.30")}),
    "long_term_rate": Case({"long_term_rate": Decimal("0.15")}),
    "state_rate": Case({"state_rate": Decimal("0.05")}),
    # The loss limit of the year's netting (IRC §1211(b)) in the shadow prices.
    "filing_status": Case({"filing_status": "married_filing_separately"}),
    "budget_kind": Case(
        {"budget_kind": "tax"}, {"annual_budget_amount": Decimal("1500")}, trades=True
    ),
    "annual_budget_amount": Case({"annual_budget_amount": Decimal("1000")}, trades=True),
    "short_term_gains_budget_amount": Case(
        {"short_term_gains_budget_amount": Decimal("0")}, trades=True
    ),
    "long_term_gains_budget_amount": Case(
        {"long_term_gains_budget_amount": Decimal("1000")}, trades=True
    ),
    "carryforward_short_amount": Case({"carryforward_short_amount": Decimal("500")}, _BUDGET_LEFT),
    "carryforward_long_amount": Case({"carryforward_long_amount": Decimal("500")}, _BUDGET_LEFT),
    "carryforward_year": Case(
        {"carryforward_year": AS_OF.year - 1},
        {**_BUDGET_LEFT, "carryforward_long_amount": Decimal("500")},
    ),
    # Set directly (not through the service, which stamps the firm's business year, not AS_OF's).
    "transition_years": Case(_TRANSITION, trades=True),
    "transition_start_year": Case(
        {"transition_start_year": AS_OF.year - 1},
        _TRANSITION,  # two years left, not three
        trades=True,
    ),
    "transition_tolerance_rate": Case(
        # Two years left: a tighter tolerance raises the last year's risk aversion, which
        # changes the plan's costs and this year's share of the gains.
        {"transition_tolerance_rate": Decimal("0.0001")},
        {"transition_years": 3, "transition_start_year": AS_OF.year - 1},
    ),
    # Below the 0.16% the firm's risk aversion leaves: raised until it holds.
    "tracking_error_target_rate": Case(
        {"tracking_error_target_rate": Decimal("0.001")}, trades=True
    ),
    # 1% of value a year, most of it used by this year's AAA sale: the run may trade far less.
    "turnover_budget_rate": Case({"turnover_budget_rate": Decimal("0.01")}, trades=True),
    "is_harvesting_enabled": Case({"is_harvesting_enabled": False}, trades=True),
    "harvest_threshold_rate": Case({"harvest_threshold_rate": Decimal("0.60")}, trades=True),
    "cash_reserve_amount": Case({"cash_reserve_amount": Decimal("1000")}),
    "withdrawal_amount": Case({"withdrawal_amount": Decimal("800")}),
    "withdrawal_frequency": Case({"withdrawal_frequency": "none"}),
    "next_withdrawal_on": Case({"next_withdrawal_on": date(2024, 9, 10)}),
    "min_trade_amount": Case({"min_trade_amount": Decimal("500")}),
    "is_fractional_shares": Case({"is_fractional_shares": True}),
    # Schwab takes specified lots: the lot method is the optimizer's lot order only without them.
    # The book holds one lot per name, so the trades stay (test_lot_method_orders.py: they move).
    "lot_method": Case({"lot_method": "HIFO"}, {"lot_selection": "method"}),
    "lot_selection": Case({"lot_selection": "method"}),
    "model": Case(_other_model),
    "cash_amount": Case({"cash_amount": Decimal("5000")}),  # the ledger says 4,000
}
_BASE = {  # a monthly withdrawal due within the cash horizon, so its fields are read
    "withdrawal_amount": Decimal("500"),
    "withdrawal_frequency": "monthly",
    "next_withdrawal_on": date(2024, 7, 10),
}


@pytest.fixture
def settings_book(run_book):
    """The run book's legacy account with a short-term gain too (an overweight BBB bought this
    year at 5) and 1,000 of long-term gain realized this year."""
    legacy = run_book["legacy"]
    entry(legacy, "b-bbb", "buy", date(2024, 3, 1), "BBB", "400", "2000")
    realize_aaa_gain(legacy)  # rebuilds the household's ledger
    Account.objects.filter(pk=legacy.pk).update(**_BASE)
    symbols = run_universe_symbols(account_ids=[legacy.pk], as_of=AS_OF)
    return {**run_book, "universe": adapters.run_universe_build(symbols=symbols, as_of=AS_OF)}


def _build(account_id: int, universe: adapters.RunUniverse) -> adapters.AccountProblem:
    problems, skips = adapters.account_problems_build(
        account_ids=[account_id], as_of=AS_OF, mode=RunMode.FULL_REBALANCE, run_universe=universe
    )
    assert not skips, skips
    return problems[0]


def _trades(built: adapters.AccountProblem, universe: adapters.RunUniverse) -> list[tuple]:
    result = solve_rebalance(built.problem, adapters.solver_config(), universe.compiled)
    return sorted(
        (t.side.value, t.symbol, t.lot_id or "", round(t.shares, 3)) for t in result.trades
    )


def test_every_optimizer_field_has_a_case():
    assert set(optimizer_fields()) == set(CASES)


@pytest.mark.parametrize("name", optimizer_fields())
def test_changing_the_setting_changes_the_optimizer_input(settings_book, name):
    case = CASES[name]
    account = settings_book["legacy"]
    universe = settings_book["universe"]
    if case.setup:
        Account.objects.filter(pk=account.pk).update(**case.setup)
    before = _build(account.pk, universe)
    if callable(case.change):
        case.change(account, settings_book)
    else:
        Account.objects.filter(pk=account.pk).update(**case.change)
    ledger_rebuild(household=Account.objects.get(pk=account.pk).household)
    if name == "cash_amount":  # derived by the ledger: set it again after the rebuild
        Account.objects.filter(pk=account.pk).update(**case.change)
    after = _build(account.pk, universe)
    changed = adapters.input_changes(
        stored=adapters.input_digest(before.problem), now=adapters.input_digest(after.problem)
    )
    assert changed, f"changing {name} left the optimizer input as it was"
    if case.trades:
        assert _trades(before, universe) != _trades(after, universe), (
            f"changing {name} left the trades as they were"
        )
