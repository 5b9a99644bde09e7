"""The book dashboard: its figures are the scan's, the runs page's and the firm report's."""

from decimal import Decimal

import time_machine

from apps.access.roles import Role
from apps.accounts.attention import (
    account_position_rows,
    account_positions,
    account_positions_store,
    accounts_needing_attention,
)
from apps.accounts.models import Account, AccountPosition, RealizedGain
from apps.reports.dashboard import book_overview, drift_bucket, harvest_by_month
from apps.trading.models import ProposedTrade, RunMode, RunScope, TradeSide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from tests.conftest import login_client
from tests.integration.trading.conftest import AS_OF, realize_aaa_gain


def _run(run_book, firms):
    run = rebalance_run_create(
        scope=RunScope.MODEL,
        scope_ids=[run_book["model"].pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=firms["a"].users[Role.TRADER],
    )
    for chunk in rebalance_run_start(run_id=run.pk):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    return run


def test_the_overview_adds_up_what_is_stored(run_book, firms):
    run = _run(run_book, firms)
    realize_aaa_gain(run_book["legacy"])
    entry_loss = RealizedGain.objects.filter(gain_amount__lt=0)
    account_positions_store(as_of=AS_OF)  # the daily scan's valuation
    book = book_overview(as_of=AS_OF)

    managed = list(Account.objects.filter(model__isnull=False))
    positions = account_positions(accounts=managed, as_of=AS_OF)
    assert book.managed_accounts == 3
    assert book.managed_value_amount == sum(p.value_amount for p in positions.values())
    found = accounts_needing_attention(as_of=AS_OF)
    assert [r.account.pk for r in book.attention] == [a.account_id for a in found]
    assert book.harvest_loss_amount == sum(a.position.harvest_loss_amount for a in found)

    (shown_run, totals) = book.runs[0]
    assert shown_run.pk == run.pk
    trades = ProposedTrade.objects.filter(proposal__run=run)
    assert totals.buy_amount == sum(t.amount for t in trades if t.side == TradeSide.BUY)
    assert totals.sell_amount == sum(t.amount for t in trades if t.side == TradeSide.SELL)
    assert totals.proposals_with_trades == len({t.proposal_id for t in trades}) > 0
    assert totals.estimated_tax_amount == sum(p.estimated_tax_amount for p in run.proposals.all())
    assert harvest_by_month(year=AS_OF.year) == {
        m: -sum(g.gain_amount for g in entry_loss if g.sold_on.month == m)
        for m in {g.sold_on.month for g in entry_loss}
    }


def test_drift_buckets_have_closed_lower_bounds():
    assert drift_bucket(Decimal("0")) == "0%–1%"
    assert drift_bucket(Decimal("0.0099")) == "0%–1%"
    assert drift_bucket(Decimal("0.01")) == "1%–2%"
    assert drift_bucket(Decimal("0.05")) == "≥ 5%"


def test_every_role_sees_the_dashboard_ranked(run_book, firms):
    from apps.common.tenancy import firm_today

    account_positions_store(as_of=firm_today())  # the daily scan's valuation (closes of AS_OF)
    found = accounts_needing_attention(as_of=AS_OF)
    names = [Account.objects.get(pk=a.account_id).name for a in found]
    for role in (Role.VIEWER, Role.ADVISOR, Role.TRADER, Role.FIRM_ADMIN):
        response = login_client(firms["a"], role).get("/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Managed assets" in html and "Taxes saved in" in html
        positions = [html.index(f">{name}</a>") for name in names]
        assert positions == sorted(positions)  # most money at stake first


def test_a_large_book_reads_taxes_saved_in_the_report_not_on_the_page(run_book, firms, settings):
    """Replaying every taxable account on a page does not scale: above the setting the card
    sends the user to the firm report (computed by a worker) and nothing is replayed."""
    settings.DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS = 2  # the run book has three taxable accounts
    assert book_overview(as_of=AS_OF).taxes_saved is None
    html = login_client(firms["a"], Role.ADVISOR).get("/").content.decode()
    assert "the firm taxes-saved report</a> computes it in the background" in html
    settings.DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS = 3
    assert book_overview(as_of=AS_OF).taxes_saved is not None


def test_taxes_saved_is_recomputed_when_the_ledger_changes(run_book):
    """Cached for the day, but a new ledger entry (a fill, an import) shows at once."""
    before = book_overview(as_of=AS_OF).taxes_saved
    realize_aaa_gain(run_book["legacy"])  # a sale: a new ledger entry
    after = book_overview(as_of=AS_OF).taxes_saved
    assert before is not None and after is not None
    assert after != before


STORED = ("valued_on", "valued_model_id", "value_amount", "drift_rate", "drift_trade_amount")
STORED += ("harvest_loss_amount", "losers", "needs_attention", "reasons", "is_drift", "is_harvest")
STORED += ("is_cash_due", "is_budget_nearly_used", "cash_shortfall_amount", "stake_amount")


def _fresh():
    """Every account's row as a fresh computation gives it now, by account id."""
    rows, _ = account_position_rows(accounts=list(Account.objects.order_by("pk")), as_of=AS_OF)
    return {r.account_id: tuple(getattr(r, f) for f in STORED) for r in rows}


def _stored():
    return {
        r.account_id: tuple(getattr(r, f) for f in STORED)
        for r in AccountPosition.objects.order_by("pk")
    }


def test_stored_positions_equal_a_fresh_computation_after_each_change(run_book, firms):
    """The ledger rebuild and a profile change store what a fresh valuation gives."""
    from apps.accounts.services.accounts import account_update_profile

    with time_machine.travel("2024-06-28 15:00:00-04:00", tick=False):
        account_positions_store(as_of=AS_OF)
        assert _stored() == _fresh()
        before = _stored()[run_book["legacy"].pk]
        realize_aaa_gain(run_book["legacy"])  # a sale: new lots, cash and gains
        assert _stored() == _fresh()
        assert _stored()[run_book["legacy"].pk] != before
        account_update_profile(
            account=run_book["legacy"],
            changes={"drift_tolerance_rate": Decimal("0.5")},
            acting_user=firms["a"].users[Role.ADVISOR],
        )
        assert _stored() == _fresh()
        assert not _stored()[run_book["legacy"].pk][STORED.index("is_drift")]


def test_the_overview_reads_stored_rows_and_refreshes_a_stale_book_in_a_task(run_book, monkeypatch):
    """No request values the book: a stale book is shown as stored and refreshed by a task."""
    from apps.accounts import attention, tasks

    account_positions_store(as_of=AS_OF)
    stored = book_overview(as_of=AS_OF)
    AccountPosition.objects.update(valued_on=AS_OF.replace(day=27))  # yesterday's closes
    Account.objects.filter(pk=run_book["cash_only"].pk).update(model=None)  # not via a service

    def valuing(**kwargs):
        raise AssertionError("a request valued the book")

    enqueued = []
    monkeypatch.setattr(attention, "account_positions", valuing)
    monkeypatch.setattr(tasks.account_positions_refresh, "delay", enqueued.append)
    from django.core.cache import cache

    cache.clear()
    stale = book_overview(as_of=AS_OF)
    again = book_overview(as_of=AS_OF)
    assert enqueued == [AS_OF.isoformat()]  # once: the lock holds until the task is done
    assert stale.valued_on == again.valued_on == AS_OF.replace(day=27)
    assert stale.managed_value_amount == stored.managed_value_amount
    assert [r.account.pk for r in stale.attention] == [r.account.pk for r in stored.attention]

    monkeypatch.undo()
    assert attention.stale_account_ids(as_of=AS_OF) == sorted(a.pk for a in Account.objects.all())
    tasks.account_positions_refresh(AS_OF.isoformat())
    assert attention.stale_account_ids(as_of=AS_OF) == []
    assert _stored() == _fresh()
    fresh = book_overview(as_of=AS_OF)
    assert fresh.valued_on == AS_OF
    assert fresh.managed_accounts == 2
    positions = account_positions(
        accounts=list(Account.objects.filter(model__isnull=False)), as_of=AS_OF
    )
    assert fresh.managed_value_amount == sum(p.value_amount for p in positions.values())
