"""Every stored proposal's figures are ``proposal_figures`` of its stored trades and snapshot.

The run book plus a whole-share account holding fractional lots (a transfer, reinvested
dividends) with a withdrawal it cannot fund, and an account with a withdrawal it can fund.
"""

from datetime import timedelta
from decimal import Decimal

from apps.accounts.models import Account, Household
from apps.accounts.services.ledger import ledger_rebuild
from apps.models.services import model_assign
from apps.optimizer import adapters
from apps.optimizer.figures import FIGURE_KEYS, proposal_figures
from apps.trading.models import Proposal, ProposedTrade, RunMode, RunScope
from apps.trading.services.preview import account_preview
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF


def _cash_accounts(run_book, admin):
    household = Household.objects.create(external_id="H-CASH", name="Cash needs")
    fractional = Account.objects.create(
        household=household,
        custodian="schwab",
        number="F1",
        name="Fractional lots",
        registration="taxable",
        withdrawal_amount=Decimal("50000"),
        withdrawal_frequency="monthly",
        next_withdrawal_on=AS_OF + timedelta(days=5),
    )
    entry(fractional, "dep", "deposit", AS_OF - timedelta(days=900), amount="3000")
    entry(fractional, "b-aaa", "buy", AS_OF - timedelta(days=800), "AAA", "10.5", "300")
    entry(fractional, "b-eee", "buy", AS_OF - timedelta(days=700), "EEE", "0.37", "30")
    entry(fractional, "b-hhh", "buy", AS_OF - timedelta(days=100), "HHH", "5.25", "600")
    funded = Account.objects.create(
        household=household,
        custodian="schwab",
        number="W1",
        name="Withdrawal",
        registration="taxable",
        cash_reserve_amount=Decimal("250"),
        withdrawal_amount=Decimal("5000"),
        withdrawal_frequency="monthly",
        next_withdrawal_on=AS_OF + timedelta(days=17),
    )
    entry(funded, "dep", "deposit", AS_OF - timedelta(days=900), amount="30000")
    entry(funded, "b-bbb", "buy", AS_OF - timedelta(days=800), "BBB", "300", "9000")
    entry(funded, "b-fff", "buy", AS_OF - timedelta(days=600), "FFF", "200", "12000")
    ledger_rebuild(household=household)
    for account in (fractional, funded):
        model_assign(account=account, model=run_book["model"], acting_user=admin)
    return fractional, funded


def _figures_of(proposal: Proposal):
    run = proposal.run
    problem = adapters.problem_from_snapshot(
        run_snapshot=run.universe_snapshot, own=adapters.snapshot_unpack(bytes(proposal.snapshot))
    )
    rows = [
        adapters.TradeData(*(getattr(t, f) for f in adapters.TradeData._fields))
        for t in ProposedTrade.objects.filter(proposal=proposal).order_by("pk")
    ]
    return proposal_figures(problem=problem, trades=rows), rows


def test_every_stored_proposal_states_the_figures_of_its_stored_trades(run_book, firms):
    from apps.access.roles import Role

    admin = firms["a"].users[Role.FIRM_ADMIN]
    fractional, funded = _cash_accounts(run_book, admin)
    run = rebalance_run_create(
        scope=RunScope.MODEL,
        scope_ids=[run_book["model"].pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=None,
        enqueue=False,
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    proposals = list(Proposal.objects.filter(run=run).select_related("run"))
    assert {p.account_id for p in proposals} >= {fractional.pk, funded.pk}
    checked = 0
    for proposal in proposals:
        figures, rows = _figures_of(proposal)
        assert {k: proposal.metrics[k] for k in FIGURE_KEYS} == figures.metrics()
        assert proposal.turnover_amount == figures.turnover_amount
        assert proposal.estimated_tax_amount == figures.estimated_tax_amount
        assert proposal.turnover_amount == sum((abs(r.amount) for r in rows), Decimal(0))
        checked += 1
    assert checked == len(proposals) >= 4

    by_account = {p.account_id: p for p in proposals}
    # A withdrawal in reach is funded: cash after covers it and the reserve.
    ok = by_account[funded.pk]
    assert Decimal(ok.metrics["withdrawals_due_amount"]) == Decimal("5000.00")
    assert Decimal(ok.metrics["cash_after_amount"]) >= Decimal("5250.00")
    assert not ok.metrics["cash_short"]
    # Out of reach: everything is sold, fractional lots whole, and the header says why.
    short = by_account[fractional.pk]
    assert short.metrics["cash_short"]
    assert short.summary.startswith("Cash short: ")
    sold = {t.symbol: t for t in short.trades.all()}
    assert sold["AAA"].shares == Decimal("10.5") and sold["HHH"].shares == Decimal("5.25")
    assert sold["AAA"].explanation.startswith("Sell 10.5 shares of AAA from lot ")
    assert f"of {abs(sold['HHH'].realized_gain_amount):,.2f})" in sold["HHH"].explanation
    # The small EEE loss lot is held back by the wash-sale side rule: the note says so.
    assert "EEE" not in sold
    assert "may not be sold today (29.26; wash-sale rules" in short.metrics["cash_short"][0]
    # The page shows each row's share count as its sentence states it (not rounded to 4 places).
    from apps.access.roles import Role
    from tests.conftest import login_client

    page = login_client(firms["a"], Role.VIEWER).get(f"/proposals/{short.pk}/").content.decode()
    assert '<td class="num">10.5</td>' in page and '<td class="num">5.25</td>' in page


def test_preview_states_the_figures_of_its_trades(run_book, firms):
    from apps.access.roles import Role
    from apps.trading.selectors import run_universe_symbols

    _, funded = _cash_accounts(run_book, firms["a"].users[Role.FIRM_ADMIN])
    preview = account_preview(account=funded, as_of=AS_OF, mode=RunMode.FULL_REBALANCE)
    data = preview.data
    assert data is not None, preview.problem
    assert data.trades
    # The preview's input, rebuilt as the preview builds it.
    universe = adapters.run_universe_build(
        symbols=run_universe_symbols(account_ids=[funded.pk], as_of=AS_OF), as_of=AS_OF
    )
    (built,), _ = adapters.account_problems_build(
        account_ids=[funded.pk], as_of=AS_OF, mode=RunMode.FULL_REBALANCE, run_universe=universe
    )
    figures = proposal_figures(problem=built.problem, trades=data.trades)
    assert {k: data.metrics[k] for k in FIGURE_KEYS} == figures.metrics()
    assert (data.turnover_amount, data.estimated_tax_amount) == (
        figures.turnover_amount,
        figures.estimated_tax_amount,
    )


def test_the_to_do_list_shows_accounts_with_an_unfunded_cash_need_first(run_book, firms):
    from apps.access.roles import Role
    from apps.trading.models import DailyScan, ScanItem
    from apps.trading.selectors import scan_item_list

    fractional, funded = _cash_accounts(run_book, firms["a"].users[Role.FIRM_ADMIN])
    run = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[fractional.pk, funded.pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=None,
        enqueue=False,
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    scan = DailyScan.objects.create(scanned_on=AS_OF)
    for account in (funded, fractional):  # "Withdrawal" sorts after "Fractional lots" by name
        ScanItem.objects.create(scan=scan, account=account, reasons=["cash due"], is_cash_due=True)
    Account.objects.filter(pk=fractional.pk).update(name="Z last by name")
    items = list(scan_item_list(scan=scan))
    assert [(i.account_id, i.is_cash_short) for i in items] == [
        (fractional.pk, True),
        (funded.pk, False),
    ]
