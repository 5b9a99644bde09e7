"""An account's transition horizon drives its runs: the plan's share of this year is the budget."""

from decimal import Decimal

import pytest

from apps.access.roles import Role
from apps.accounts.models import Account
from apps.accounts.services.accounts import account_update_profile
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today
from apps.optimizer import adapters
from apps.trading.models import Proposal
from apps.trading.selectors import run_universe_symbols
from tests.conftest import login_client
from tests.integration.trading.conftest import AS_OF, realize_aaa_gain


def _built(account: Account, mode: str = "full_rebalance") -> adapters.AccountProblem:
    symbols = run_universe_symbols(account_ids=[account.pk], as_of=AS_OF)
    universe = adapters.run_universe_build(symbols=symbols, as_of=AS_OF)
    problems, skips = adapters.account_problems_build(
        account_ids=[account.pk], as_of=AS_OF, mode=mode, run_universe=universe
    )
    assert not skips
    return problems[0]


def _in_transition(account: Account, years: int, started: int = AS_OF.year) -> None:
    """A horizon set in ``started`` (the service stamps today's year; the book is in 2024)."""
    Account.objects.filter(pk=account.pk).update(
        transition_years=years, transition_start_year=started
    )
    account.refresh_from_db()


def test_setting_a_horizon_stamps_its_start_and_clearing_it_ends_it(firms, run_book):
    advisor = firms["a"].users[Role.ADVISOR]
    account = run_book["legacy"]
    account = account_update_profile(
        account=account, changes={"transition_years": 3}, acting_user=advisor
    )
    assert (account.transition_years, account.transition_start_year) == (3, firm_today().year)
    account = account_update_profile(
        account=account, changes={"transition_years": None}, acting_user=advisor
    )
    assert account.transition_start_year is None


def test_the_plan_sets_this_years_gains_budget(firms, run_book):
    account = run_book["legacy"]
    plain = _built(account)
    assert plain.transition is None
    assert plain.problem.tax_profile.gains_budget_amount is None

    _in_transition(account, 3)
    built = _built(account)
    plan = built.transition
    assert plan is not None
    assert [y.year for y in plan.years] == [2024, 2025, 2026]
    assert plan.this_year_budget_amount is not None
    assert built.problem.tax_profile.gains_budget_amount == plan.this_year_budget_amount
    assert adapters.input_digest(built.problem) != adapters.input_digest(plain.problem)

    # Two years into a three-year transition, one year is left: the move ends this year.
    _in_transition(account, 3, started=AS_OF.year - 2)
    last = _built(account)
    assert last.transition is not None and len(last.transition.years) == 1
    assert last.problem.tax_profile.gains_budget_amount is None
    # A transition that ended is over: the account is an ordinary account again.
    _in_transition(account, 3, started=AS_OF.year - 3)
    assert _built(account).transition is None


def test_a_tax_budget_applies_in_tax_dollars_and_whole_in_the_plans_later_years(firms, run_book):
    """The plan's share is a net gains budget; the account's tax budget applies beside it, to
    this year as what is left (300 less 200 of tax on this year's 1,000 of long-term gain) and
    to each later year of the plan whole."""
    account = run_book["legacy"]
    realize_aaa_gain(account)
    Account.objects.filter(pk=account.pk).update(
        budget_kind="tax", annual_budget_amount=Decimal("300")
    )
    _in_transition(account, 3)

    built = _built(account)

    profile, plan = built.problem.tax_profile, built.transition
    assert plan is not None
    assert profile.gains_budget_amount == plan.this_year_budget_amount  # the plan's share
    assert profile.tax_budget_amount == 100.0
    assert plan.years[0].estimated_tax_amount <= 100.0 + 0.01
    later = [year.estimated_tax_amount for year in plan.years[1:]]
    assert all(tax <= 300.0 + 0.01 for tax in later)
    assert max(later) > 100.0 + 0.01  # a later year's budget is not this year's rest


def test_harvest_only_runs_follow_no_plan(firms, run_book):
    _in_transition(run_book["legacy"], 3)
    assert _built(run_book["legacy"], mode="harvest_only").transition is None


def test_preview_proposal_and_account_page_show_the_plan(firms, run_book):
    account = run_book["legacy"]
    _in_transition(account, 3)
    client = login_client(firms["a"], Role.ADVISOR)
    html = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "3-year transition from 2024" in html and "No run has planned it yet" in html

    page = client.get(f"/accounts/{account.pk}/preview/?as_of={AS_OF}").content.decode()
    assert 'id="transition-plan"' in page
    for year in ("2024", "2025", "2026"):
        assert f"<td>{year}</td>" in page

    client.post(f"/accounts/{account.pk}/preview/submit/", {"as_of": str(AS_OF)})
    proposal = Proposal.objects.get(account=account)
    plan = proposal.metrics["transition_plan"]
    assert [y["year"] for y in plan["years"]] == [2024, 2025, 2026]
    assert plan["this_year_budget_amount"] is not None
    assert any(line.startswith("Transition plan (") for line in proposal.summary.splitlines())
    realized = sum(
        t.realized_gain_amount for t in proposal.trades.all() if t.realized_gain_amount is not None
    )
    assert realized <= Decimal(plan["this_year_budget_amount"]) + 1

    html = client.get(f"/accounts/{account.pk}/").content.decode()
    assert f"proposal #{proposal.pk}" in html and "<td>2026</td>" in html


def test_a_horizon_or_tolerance_out_of_range_is_refused_and_nothing_is_saved(firms, run_book):
    advisor = firms["a"].users[Role.ADVISOR]
    account = run_book["legacy"]
    for changes in (
        {"transition_years": 0},
        {"transition_years": 11},
        {"transition_tolerance_rate": Decimal("0")},
        {"transition_tolerance_rate": Decimal("1.5")},
        {"transition_start_year": 2020},  # stamped by the service, never set by hand
    ):
        with pytest.raises(ApplicationError):
            account_update_profile(account=account, changes=changes, acting_user=advisor)
    account.refresh_from_db()
    assert account.transition_years is None and account.transition_start_year is None
    assert account.transition_tolerance_rate == Decimal("0.01")
