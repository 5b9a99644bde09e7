"""A model's tracking error target and drift bands, an account's override, and the year so far
reach the optimizer on real accounts and change what it proposes (issue 18); bad values are
refused by the API, the forms and the settings check."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings as django_settings

from apps.access.roles import Role
from apps.accounts.models import Account
from apps.accounts.services.accounts import account_update_profile
from apps.accounts.services.ledger import ledger_rebuild
from apps.models.services import model_update
from apps.optimizer import adapters
from apps.optimizer.checks import solver_config_check
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.types import lot_table as core_lot_table
from apps.trading.models import RunMode
from apps.trading.selectors import run_universe_symbols
from apps.trading.services.preview import account_preview
from tests.conftest import api_client, login_client
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF

LOW_AVERSION = 1.0  # a firm that weighs taxes far above tracking error


@pytest.fixture
def low_aversion(settings):
    """The firm's risk aversion lowered: untargeted, the legacy account keeps most of its gain."""
    settings.OPTIMIZER_SOLVER_CONFIG = {
        **settings.OPTIMIZER_SOLVER_CONFIG,
        "risk_aversion": LOW_AVERSION,
    }


def _solve(account_id: int, mode: RunMode = RunMode.FULL_REBALANCE):
    symbols = run_universe_symbols(account_ids=[account_id], as_of=AS_OF)
    universe = adapters.run_universe_build(symbols=symbols, as_of=AS_OF)
    problems, skips = adapters.account_problems_build(
        account_ids=[account_id], as_of=AS_OF, mode=mode, run_universe=universe
    )
    assert not skips, skips
    built = problems[0]
    return built, solve_rebalance(built.problem, adapters.solver_config(), universe.compiled)


def _sold(result, symbol: str) -> float:
    return sum(t.shares for t in result.trades if t.symbol == symbol and t.side.value == "sell")


def _set_model(run_book, **changes):
    model_update(model=run_book["model"], changes=changes, acting_user=None)


def test_a_models_target_reaches_the_solver_and_the_proposal_trades_more(run_book, low_aversion):
    legacy = run_book["legacy"]  # AAA bought at 20 in 2020, far over its target: a big gain
    built, loose = _solve(legacy.pk)
    assert built.problem.tracking_error_target is None
    assert loose.after.active_risk_rate > 0.05  # the gain is worth more than the drift
    assert loose.risk_aversion_used == LOW_AVERSION and loose.tracking_error_note == ""

    _set_model(run_book, tracking_error_target_rate=Decimal("0.01"))
    built, tight = _solve(legacy.pk)
    assert built.problem.tracking_error_target == 0.01
    assert tight.after.active_risk_rate <= 0.01 * 1.02
    assert tight.turnover_weight > loose.turnover_weight + 0.3
    assert _sold(tight, "AAA") > 2 * _sold(loose, "AAA")  # more of the big gain realized now
    assert tight.risk_aversion_used > LOW_AVERSION
    assert "toward the 1.00% target" in tight.tracking_error_note

    preview = account_preview(account=legacy, as_of=AS_OF, mode=RunMode.FULL_REBALANCE)
    assert preview.data is not None, preview.problem
    assert preview.data.metrics["tracking_error_target"] == 0.01
    assert preview.data.metrics["risk_aversion_used"] == pytest.approx(tight.risk_aversion_used)
    assert any(n.startswith("Risk aversion raised to ") for n in preview.data.notes)


def test_the_preview_page_shows_the_target_and_why_the_aversion_rose(firms, run_book, low_aversion):
    _set_model(run_book, tracking_error_target_rate=Decimal("0.01"))
    client = login_client(firms["a"], Role.ADVISOR)
    html = client.get(f"/accounts/{run_book['legacy'].pk}/preview/?as_of={AS_OF}").content.decode()
    assert "target 100 bp · risk aversion " in html
    assert "Risk aversion raised to " in html and "toward the 1.00% target" in html


def test_the_accounts_target_wins_over_the_models(run_book):
    legacy = run_book["legacy"]
    _set_model(run_book, tracking_error_target_rate=Decimal("0.01"))
    account_update_profile(
        account=legacy, changes={"tracking_error_target_rate": Decimal("0.005")}, acting_user=None
    )
    built, _ = _solve(legacy.pk)
    assert built.problem.tracking_error_target == 0.005
    account_update_profile(
        account=Account.objects.get(pk=legacy.pk),
        changes={"tracking_error_target_rate": None},
        acting_user=None,
    )
    built, _ = _solve(legacy.pk)
    assert built.problem.tracking_error_target == 0.01  # blank: the model's
    _set_model(run_book, tracking_error_target_rate=None)
    built, _ = _solve(legacy.pk)
    assert built.problem.tracking_error_target is None


def _sector_drift(built, result) -> dict[str, float]:
    """Per sector, its weight after the trades less the model's (fractions of value)."""
    problem = built.problem
    universe = problem.universe
    lots = core_lot_table(problem.lots)
    shares = np.zeros(universe.size)
    np.add.at(shares, lots.symbol_index, lots.shares)
    for trade in result.trades:
        i = universe.symbols.index(trade.symbol)
        shares[i] += trade.shares if trade.side.value == "buy" else -trade.shares
    active = shares * universe.prices / result.after.value_amount - problem.target_weights
    drift: dict[str, float] = {}
    for sector, weight in zip(universe.sectors, active, strict=True):
        drift[sector] = drift.get(sector, 0.0) + float(weight)
    return drift


def _one_share_each(built, result) -> dict[str, float]:
    """Per sector, one share of each of its names (fractions of value): what rounding whole
    shares toward zero may leave a sector short of the solver's weights."""
    universe = built.problem.universe
    slack: dict[str, float] = {}
    for sector, price in zip(universe.sectors, universe.prices, strict=True):
        slack[sector] = slack.get(sector, 0.0) + float(price) / result.after.value_amount
    return slack


def test_a_models_bands_reach_the_constraints_of_every_account_and_bind(run_book, low_aversion):
    legacy = run_book["legacy"]
    built, loose = _solve(legacy.pk)
    assert built.problem.constraints.name_band_rate is None
    assert built.problem.constraints.sector_band_weight is None
    assert min(_sector_drift(built, loose).values()) < -0.15  # Utilities far under the model

    _set_model(run_book, sector_band_weight=Decimal("0.02"))
    built, sector_banded = _solve(legacy.pk)
    assert built.problem.constraints.sector_band_weight == 0.02
    assert not sector_banded.relaxed
    # Each sector within 2 points of the model's, give or take a whole share of each name.
    slack = _one_share_each(built, sector_banded)
    for sector, drift in _sector_drift(built, sector_banded).items():
        assert abs(drift) <= 0.02 + slack[sector], (sector, drift, slack[sector])
    assert sector_banded.turnover_weight > loose.turnover_weight

    _set_model(run_book, name_band_rate=Decimal("0.10"))
    for account in ("legacy", "cash_only"):  # every account of the model has both
        constraints = _solve(run_book[account].pk)[0].problem.constraints
        assert (constraints.name_band_rate, constraints.sector_band_weight) == (0.10, 0.02)


def _realize_a_million_long_term(account: Account) -> None:
    """1,000,000 of long-term gain realized this year (HHH bought in 2020, sold in June), the
    proceeds withdrawn."""
    entry(account, "dep-big", "deposit", date(2019, 12, 30), amount="100000")
    entry(account, "b-hhh-big", "buy", date(2020, 1, 2), "HHH", "10000", "100000")
    entry(account, "s-hhh-big", "sell", date(2024, 6, 3), "HHH", "10000", "1100000")
    entry(account, "w-big", "withdrawal", date(2024, 6, 4), amount="1100000")
    ledger_rebuild(household=account.household)


def _harvest_rate(result) -> float:
    """The rate the objective saved per dollar of the harvested (short-term) EEE loss."""
    sells = [t for t in result.trades if t.side.value == "sell"]
    assert [t.symbol for t in sells] == ["EEE"] and not sells[0].is_long_term
    loss = sum(t.realized_gain_amount for t in sells)
    return result.objective.tax * result.before.value_amount / loss


def test_the_year_so_far_reaches_the_tax_profile_and_prices_a_harvest(run_book):
    legacy = run_book["legacy"]
    discount = float(django_settings.TAXES_SAVED_DISCOUNT_RATE)
    horizon = django_settings.TAXES_SAVED_HORIZON_YEARS
    deferral = 0.20 / (1 + discount) ** horizon  # the long-term tax paid at the horizon anyway

    built, result = _solve(legacy.pk, RunMode.HARVEST_ONLY)
    assert built.problem.tax_profile.realized_long_term_gain_amount == 0.0
    # A loss under the 3,000 ordinary-income deduction (IRC §1211(b)): the short-term rate.
    assert _harvest_rate(result) == pytest.approx(0.37 - deferral, abs=1e-9)

    _realize_a_million_long_term(legacy)
    built, result = _solve(legacy.pk, RunMode.HARVEST_ONLY)
    profile = built.problem.tax_profile
    assert profile.realized_long_term_gain_amount == 1_000_000.0
    assert profile.realized_short_term_gain_amount == 0.0
    # The short-term loss offsets this year's long-term gain (IRC §1222, Schedule D line 16):
    # it saves the long-term rate.
    assert _harvest_rate(result) == pytest.approx(0.20 - deferral, abs=1e-9)


def test_the_carryforward_and_filing_status_reach_the_tax_profile(run_book):
    legacy = run_book["legacy"]
    account_update_profile(
        account=legacy,
        changes={
            "carryforward_short_amount": Decimal("1200"),
            "carryforward_long_amount": Decimal("34000"),
            "carryforward_year": AS_OF.year,
            "filing_status": "married_filing_separately",
        },
        acting_user=None,
    )
    profile = _solve(legacy.pk)[0].problem.tax_profile
    assert profile.loss_carryforward_short_term_amount == 1200.0
    assert profile.loss_carryforward_long_term_amount == 34000.0
    assert profile.filing_status == "married_filing_separately"
    Account.objects.filter(pk=legacy.pk).update(carryforward_year=AS_OF.year - 1)
    profile = _solve(legacy.pk)[0].problem.tax_profile
    assert profile.loss_carryforward_long_term_amount == 0.0  # set for another year


def test_an_ira_has_no_year_so_far(run_book):
    legacy = run_book["legacy"]
    _realize_a_million_long_term(legacy)
    Account.objects.filter(pk=legacy.pk).update(
        registration="traditional_ira", carryforward_long_amount=Decimal("5000")
    )
    profile = _solve(legacy.pk)[0].problem.tax_profile
    assert profile.realized_long_term_gain_amount == 0.0
    assert profile.loss_carryforward_long_term_amount == 0.0


def test_the_year_so_far_of_a_chunk_is_read_in_one_query(run_book):
    """Every taxable account's year so far comes from one realized-gains query, however many."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids = [run_book["legacy"].pk, run_book["cash_only"].pk]
    symbols = run_universe_symbols(account_ids=ids, as_of=AS_OF)
    universe = adapters.run_universe_build(symbols=symbols, as_of=AS_OF)
    with CaptureQueriesContext(connection) as queries:
        adapters.account_problems_build(
            account_ids=ids, as_of=AS_OF, mode=RunMode.FULL_REBALANCE, run_universe=universe
        )
    gains = [q["sql"] for q in queries.captured_queries if "accounts_realizedgain" in q["sql"]]
    reads = [sql for sql in gains if "reportable_gain_amount" in sql]
    assert len(reads) == 1, reads


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("tracking_error_target_rate", "0.01", True),
        ("tracking_error_target_rate", "0.20", True),
        ("tracking_error_target_rate", "0", False),
        ("tracking_error_target_rate", "0.2001", False),
        ("tracking_error_target_rate", "-0.01", False),
        ("turnover_budget_rate", "1.5", True),
        ("turnover_budget_rate", "0", True),
        ("turnover_budget_rate", "5", True),
        ("turnover_budget_rate", "5.01", False),
        ("turnover_budget_rate", "-0.1", False),
    ],
)
def test_the_api_refuses_an_account_setting_out_of_range(firms, run_book, field, value, ok):
    client = api_client(firms["a"], Role.ADVISOR)
    pk = run_book["legacy"].pk
    response = client.patch(f"/api/v1/accounts/{pk}/", {field: value}, format="json")
    assert response.status_code == (200 if ok else 400), response.json()
    stored = getattr(Account.objects.get(pk=pk), field)
    assert stored == (Decimal(value) if ok else None)


def test_the_models_api_sets_and_refuses_its_target_and_bands(firms, run_book):
    admin = api_client(firms["a"], Role.FIRM_ADMIN)
    url = f"/api/v1/models/{run_book['model'].pk}/"
    for bad in (
        {"tracking_error_target_rate": "0.25"},
        {"tracking_error_target_rate": "0"},
        {"name_band_rate": "1.5"},
        {"name_band_rate": "0"},
        {"sector_band_weight": "-0.01"},
    ):
        assert admin.patch(url, bad, format="json").status_code == 400, bad
    changes = {
        "tracking_error_target_rate": "0.0100",
        "name_band_rate": "0.25",
        "sector_band_weight": "0.02",
    }
    assert (
        api_client(firms["a"], Role.ADVISOR).patch(url, changes, format="json").status_code == 403
    )
    response = admin.patch(url, changes, format="json")
    assert response.status_code == 200, response.json()
    assert {k: response.json()[k] for k in changes} == {
        "tracking_error_target_rate": "0.01000000",
        "name_band_rate": "0.25000000",
        "sector_band_weight": "0.02000000",
    }
    created = admin.post(
        "/api/v1/models/",
        {"code": "TIGHT", "name": "Tight", "tracking_error_target_rate": "0.3"},
        format="json",
    )
    assert created.status_code == 400
    created = admin.post(
        "/api/v1/models/",
        {"code": "TIGHT", "name": "Tight", "tracking_error_target_rate": "0.005"},
        format="json",
    )
    assert (
        created.status_code == 201 and created.json()["tracking_error_target_rate"] == "0.00500000"
    )


def _profile_post(client, account: Account, **typed: str):
    form = client.get(f"/accounts/{account.pk}/design/").context["profile_form"]
    data = {b.name: b.field.prepare_value(b.value()) for b in form if b.value() is not None}
    data = {k: v for k, v in data.items() if v is not False}
    data.update(typed)
    return client.post(f"/accounts/{account.pk}/profile/", data)


def test_the_design_form_takes_percent_and_refuses_out_of_range(firms, run_book):
    client = login_client(firms["a"], Role.ADVISOR)
    legacy = run_book["legacy"]
    _set_model(run_book, tracking_error_target_rate=Decimal("0.01"))
    page = client.get(f"/accounts/{legacy.pk}/design/").content.decode()
    assert "(CORE8: 1%)" in page
    assert "Tracking error target: 1.00% a year (the model's)" in page
    response = _profile_post(client, legacy, tracking_error_target_rate="25")
    assert response.status_code == 400
    assert "enter a percent above 0 to 20" in response.content.decode()
    response = _profile_post(client, legacy, tracking_error_target_rate="0.75")
    assert response.status_code == 302
    assert Account.objects.get(pk=legacy.pk).tracking_error_target_rate == Decimal("0.0075")
    page = client.get(f"/accounts/{legacy.pk}/design/").content.decode()
    assert "Tracking error target: 0.75% a year (this account's)" in page


def test_the_model_page_shows_and_the_edit_form_refuses(firms, run_book):
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    pk = run_book["model"].pk
    form = {
        "action": "describe",
        "name": "Model CORE8",
        "description": "",
        "provider": "",
        "fee_bps": "0",
        "is_active": "on",
        "tracking_error_target_rate": "1",
        "name_band_rate": "0",
        "sector_band_weight": "2",
    }
    response = admin.post(f"/models/{pk}/edit/", form)
    assert response.status_code == 200  # the form again, with the error
    assert "enter a percent above 0 to 100" in response.content.decode()
    response = admin.post(f"/models/{pk}/edit/", {**form, "name_band_rate": "25"})
    assert response.status_code == 302
    html = admin.get(f"/models/{pk}/").content.decode()
    assert "1.00% a year" in html
    assert "each name within 25.00% of its target weight" in html
    assert "each sector within 2.00% (percentage points)" in html


def test_the_settings_check_refuses_a_bad_optimizer_setting(settings):
    assert solver_config_check(None) == []
    settings.OPTIMIZER_SOLVER_CONFIG = {
        **settings.OPTIMIZER_SOLVER_CONFIG,
        "tax_valuation": "marginal",
    }
    errors = solver_config_check(None)
    assert [e.id for e in errors] == ["optimizer.E001"]
    assert "tax_valuation must be 'statutory' or 'shadow'" in errors[0].msg


def test_production_values_price_taxes_at_shadow_rates():
    config = adapters.solver_config()
    assert config.tax_valuation == "shadow"
    assert config.realization_horizon_years == django_settings.TAXES_SAVED_HORIZON_YEARS
    assert config.deferral_discount_rate == float(django_settings.TAXES_SAVED_DISCOUNT_RATE)
    assert config.wash_lock_cost_weight == 1.0


def test_the_firms_substitutes_and_open_harvest_pairs_reach_the_solver(run_book):
    from datetime import timedelta

    from apps.optimizer.core.types import HarvestPair
    from apps.restrictions.services import substitute_set

    substitute_set(symbol="BBB", alternatives=["CCC", "DDD"], acting_user=None)
    cash_only = run_book["cash_only"]
    # 35 days ago: BBB sold at a loss and CCC (same sector) bought the same day; CCC still held.
    day = AS_OF - timedelta(days=35)
    entry(cash_only, "b-bbb", "buy", day - timedelta(days=60), "BBB", "100", "9000")
    entry(cash_only, "s-bbb", "sell", day, "BBB", "100", "5000")
    entry(cash_only, "b-ccc", "buy", day, "CCC", "50", "5000")
    ledger_rebuild(household=cash_only.household)
    built, _ = _solve(cash_only.pk)
    assert ("BBB", ("CCC", "DDD")) in built.problem.substitutes
    # The swap back's texts on both legs are tested on the core (test_tax_alpha.py).
    assert built.problem.harvest_pairs == (HarvestPair("BBB", "CCC", day),)


def _value(problem) -> float:
    """An account's value at the run's prices: cash and lots (USD)."""
    table = core_lot_table(problem.lots)
    return problem.cash_amount + float(table.shares @ problem.universe.prices[table.symbol_index])


def test_a_yearly_turnover_budget_caps_what_a_run_trades(run_book, low_aversion):
    legacy = run_book["legacy"]
    built, free = _solve(legacy.pk)
    traded_free = sum(t.amount for t in free.trades)
    value = _value(built.problem)
    # This year the ledger already bought 9,000 of EEE; leave half of what the run would trade.
    rate = (Decimal("9000") + Decimal(str(round(traded_free / 2, 2)))) / Decimal(str(value))
    account_update_profile(
        account=legacy,
        changes={"turnover_budget_rate": rate.quantize(Decimal("1e-8"))},
        acting_user=None,
    )
    legacy.refresh_from_db()
    capped_built, capped = _solve(legacy.pk)
    cap = capped_built.problem.constraints.turnover_cap_weight
    assert cap == pytest.approx(traded_free / 2 / value, rel=1e-3)
    traded = sum(t.amount for t in capped.trades)
    assert traded <= traded_free / 2 * 1.001 + max(float(p) for p in built.problem.universe.prices)
    assert traded < traded_free * 0.75
    # What the year trades next counts against it: a sale today leaves less.
    entry(legacy, "s-aaa-budget", "sell", AS_OF, "AAA", "10", "300")
    ledger_rebuild(household=legacy.household)
    later, _ = _solve(legacy.pk)
    assert later.problem.constraints.turnover_cap_weight < cap
