"""The book dashboard: its figures are the scan's, the runs page's and the firm report's."""

from decimal import Decimal

from apps.access.roles import Role
from apps.accounts.attention import account_positions, accounts_needing_attention
from apps.accounts.models import Account, RealizedGain
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


def test_a_large_book_is_valued_once_and_then_read_from_the_cache(run_book, monkeypatch):
    """The overview values the book once for its figures and its attention list; a book over
    ``POSITIONS_DIRECT_MAX`` accounts is read from the cache the accounts list shares."""
    from django.core.cache import cache

    from apps.accounts import attention

    direct = book_overview(as_of=AS_OF)
    calls = []
    valued = attention.account_positions

    def counting(**kwargs):
        calls.append(len(kwargs["accounts"]))
        return valued(**kwargs)

    reads = []
    managed = attention.managed_accounts

    def reading():
        reads.append(1)
        return managed()

    from apps.reports import dashboard

    monkeypatch.setattr(attention, "account_positions", counting)
    monkeypatch.setattr(attention, "managed_accounts", reading)
    monkeypatch.setattr(dashboard, "managed_accounts", reading)
    monkeypatch.setattr(attention, "POSITIONS_DIRECT_MAX", 1)
    cache.clear()
    first = book_overview(as_of=AS_OF)
    second = book_overview(as_of=AS_OF)
    assert calls == [Account.objects.count()]  # the whole book, once, for both overviews
    assert len(reads) == 2  # the managed accounts read once per overview
    assert direct.cached_for_s == 0 and first.cached_for_s == attention.BOOK_POSITIONS_TTL_S
    for book in (first, second):
        assert book.managed_value_amount == direct.managed_value_amount
        assert book.harvest_loss_amount == direct.harvest_loss_amount
        assert [r.account.pk for r in book.attention] == [r.account.pk for r in direct.attention]
