"""Taxes saved against the tax-naive shadow, through real runs, orders and fills."""

from datetime import date, timedelta
from decimal import Decimal

from apps.access.roles import Role
from apps.accounts.services.ledger import ledger_rebuild
from apps.reports.services.firm import firm_taxes_saved_get, report_render_taxes_saved
from apps.reports.services.savings import taxes_saved_for_account
from apps.reports.templatetags.report_format import money
from apps.securities.models import Price
from apps.trading.models import Proposal, ProposalStatus
from tests.conftest import api_client
from tests.integration.reports.conftest import AS_OF, YEAR, execute, pdf_pages, run_model


def _same_prices_on(day: date) -> None:
    """Copy every close of AS_OF to ``day`` (the market did not move)."""
    Price.objects.bulk_create(
        Price(security=p.security, priced_on=day, close_price=p.close_price, source="test")
        for p in Price.objects.filter(priced_on=AS_OF)
    )


def test_three_quarterly_runs_at_the_same_prices_are_one_naive_move(run_book, firms):
    trader = firms["a"].users[Role.TRADER]
    legacy = run_book["legacy"]
    execute(run_model(run_book["model"]), trader)
    once = taxes_saved_for_account(account=legacy, year=YEAR, as_of=AS_OF)
    assert once.this_year.rebalances == 1
    assert once.this_year.counterfactual_tax > 0  # the naive move sells the AAA overweight
    quarters = [AS_OF + timedelta(days=91), AS_OF + timedelta(days=182)]
    for day in quarters:
        _same_prices_on(day)
        execute(run_model(run_book["model"], as_of=day), trader, on=day)
    thrice = taxes_saved_for_account(account=legacy, year=YEAR, as_of=quarters[-1])
    # The shadow is at its targets after the first run: it trades nothing at the next two, so
    # its tax is that of one naive move, not three (the old per-run sum counted it thrice).
    assert thrice.this_year.counterfactual_tax == once.this_year.counterfactual_tax
    assert [line.shadow_traded for line in thrice.lines[1:]] == [0] * (len(thrice.lines) - 1)
    # Deferral is valued at present value: never more than the realized-tax difference.
    assert thrice.this_year.saved <= thrice.this_year.permanent + max(
        thrice.this_year.deferred_this_year, Decimal(0)
    )


def test_a_filled_buy_credits_no_harvest(run_book, firms):
    legacy = run_book["legacy"]
    proposals = [p for p in run_model(run_book["model"]) if p.account_id == legacy.pk]
    assert any(t.side == "sell" and t.reason == "harvest" for t in proposals[0].trades.all())
    assert execute(proposals, firms["a"].users[Role.TRADER], side="buy") > 0
    saved = taxes_saved_for_account(account=legacy, year=YEAR, as_of=AS_OF)
    assert saved.this_year.rebalances == 1  # the account was rebalanced (its buys filled)
    assert saved.this_year.losses_harvested == 0  # but no loss was realized: none credited
    assert saved.this_year.tax_on_gains == 0


def test_a_superseded_or_unfilled_proposal_credits_nothing(run_book, firms):
    legacy = run_book["legacy"]
    first = run_model(run_book["model"])
    second = run_model(run_book["model"])  # supersedes the first
    assert Proposal.objects.get(pk=first[0].pk).status == ProposalStatus.SUPERSEDED
    # The second is approved and ordered but nothing is filled.
    execute(second, firms["a"].users[Role.TRADER], side="nothing")
    saved = taxes_saved_for_account(account=legacy, year=YEAR, as_of=AS_OF)
    assert saved.lines == []
    year = saved.this_year
    assert (year.rebalances, year.counterfactual_tax, year.saved, year.trading_costs) == (
        0,
        0,
        0,
        0,
    )
    assert year.net_saved == -year.fees


def test_the_shadow_is_rebuilt_the_same_from_the_same_ledger(report_book):
    legacy = report_book["legacy"]
    first = taxes_saved_for_account(account=legacy, year=YEAR, as_of=AS_OF)
    ledger_rebuild(household=legacy.household)
    again = taxes_saved_for_account(account=legacy, year=YEAR, as_of=AS_OF)
    assert first.years == again.years
    assert first.lines == again.lines


def test_the_api_and_the_pdf_give_the_firm_report_figures(report_book, firms, tmp_path):
    client = api_client(firms["a"], Role.ADVISOR)
    response = client.get("/api/v1/reports/taxes-saved/", {"year": YEAR, "as_of": AS_OF})
    assert response.status_code == 200, response.content
    body = response.json()
    report = firm_taxes_saved_get(year=YEAR, as_of=AS_OF)
    assert body["share"]["accounts"] == report.share.accounts == 4
    assert body["share"]["accounts_ahead"] == report.share.accounts_ahead
    assert Decimal(body["saved"]) == report.saved
    assert Decimal(body["net_saved"]) == report.net_saved
    assert body["horizon_years"] == 10 and Decimal(body["discount_rate"]) == Decimal("0.05")
    rows = {r["number"]: r for r in body["rows"]}
    text = "\n".join(pdf_pages(report_render_taxes_saved(year=YEAR, as_of=AS_OF).content, tmp_path))
    # The decomposition chart, labelled per year as in the client report.
    assert f"{YEAR} value of deferring" in text and f"{YEAR} trading costs" in text
    for row in report.rows:
        api = rows[row.account.number]
        for field in ("permanent", "deferral_value", "saved", "trading_costs", "fees", "net_saved"):
            assert Decimal(api[field]) == getattr(row, field)
            assert money(getattr(row, field)) in text
        assert api["is_ahead"] is row.is_ahead
    assert client.get("/api/v1/reports/taxes-saved/", {"year": 2030}).status_code == 400
