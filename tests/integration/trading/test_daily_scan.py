"""The daily scan: the right accounts with reasons, once per date, and a run when the firm asks."""

import pytest
from django.test.utils import override_settings
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent
from apps.firms.tasks import daily_scan_dispatch
from apps.trading.models import DailyScan, RunScope, ScanItem
from apps.trading.services.review import trading_settings_update
from apps.trading.services.scan import daily_scan_run
from tests.integration.trading.conftest import AS_OF
from tests.processes import celery_worker, wait_for


def test_scan_lists_drift_harvest_and_is_idempotent(run_book):
    scan = daily_scan_run(as_of=AS_OF)
    items = {item.account_id: item for item in ScanItem.objects.filter(scan=scan)}
    legacy, cash_only = run_book["legacy"].pk, run_book["cash_only"].pk
    assert items[cash_only].is_drift  # all cash against a 96% invested model
    assert items[legacy].is_drift
    assert items[legacy].is_harvest  # EEE bought at 90, far above today's price
    assert any("harvest" in r for r in items[legacy].reasons)
    assert scan.run is None  # the default policy only lists
    assert daily_scan_run(as_of=AS_OF).pk == scan.pk
    assert DailyScan.objects.count() == 1


def test_scan_starts_a_run_over_the_found_accounts_when_asked(run_book, firms):
    from apps.access.roles import Role

    trading_settings_update(
        changes={"is_scan_starting_runs": True}, acting_user=firms["a"].users[Role.FIRM_ADMIN]
    )
    scan = daily_scan_run(as_of=AS_OF)
    assert scan.run is not None
    assert scan.run.scope == RunScope.ACCOUNT
    assert sorted(scan.run.scope_ids) == sorted(
        ScanItem.objects.values_list("account_id", flat=True)
    )


@pytest.mark.worker
@override_settings(PLATFORM_DISPATCH_JITTER_S=0)
def test_beat_dispatcher_runs_each_firms_scan_in_its_own_schema(firms, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        with celery_worker(tmp_path / "worker.log") as queue:
            assert daily_scan_dispatch.apply(kwargs={"force": True, "queue": queue}).get() >= 2
            for key in ("a", "b"):
                with schema_context(firms[key].schema):
                    assert wait_for(lambda: DailyScan.objects.exists(), timeout_s=60)
        try:
            for key in ("a", "b"):
                with schema_context(firms[key].schema):
                    assert DailyScan.objects.count() == 1
                    assert AuditEvent.objects.filter(action="daily_scan.run").count() == 1
        finally:
            for key in ("a", "b"):
                with schema_context(firms[key].schema):
                    AuditEvent.objects.filter(action="daily_scan.run").delete()
                    DailyScan.objects.all().delete()


def test_account_list_filters_by_what_the_stored_scan_found(firms, run_book):
    """The "Needs" filter reads the stored positions the daily scan wrote, not the book now.

    Before the scan the rows stored by the ledger rebuild had no model yet: nothing needed a
    look. A change made behind the services' back shows at the next valuation, not at once.
    """
    from decimal import Decimal

    import time_machine

    from apps.access.roles import Role
    from apps.accounts.models import Account
    from tests.conftest import login_client

    client = login_client(firms["a"], Role.ADVISOR)
    with time_machine.travel("2024-06-28 15:00:00-04:00", tick=False):
        before = client.get("/accounts/?flag=harvest").content.decode()
        daily_scan_run(as_of=AS_OF)
        harvest = client.get("/accounts/?flag=harvest").content.decode()
        cash = client.get("/accounts/?flag=cash_due").content.decode()
        # Cash due now (a withdrawal tomorrow, no cash): the live scan would list it, the
        # stored scan of today did not.
        Account.objects.filter(pk=run_book["legacy"].pk).update(
            cash_amount=Decimal("0"),
            withdrawal_amount=Decimal("5000"),
            withdrawal_frequency="monthly",
            next_withdrawal_on=AS_OF,
        )
        cash_after = client.get("/accounts/?flag=cash_due").content.decode()
    assert "Legacy" not in before
    assert "Legacy" in harvest
    assert "New money" not in harvest
    assert f"stored positions valued on {AS_OF.isoformat()} or later found" in harvest
    assert "No accounts match" in cash
    assert "No accounts match" in cash_after


def test_withdrawals_due_within_the_horizon(run_book):
    from datetime import date
    from decimal import Decimal

    from apps.accounts.cash import withdrawals_due

    account = run_book["cash_only"]
    account.withdrawal_amount = Decimal("5000")
    account.withdrawal_frequency = "monthly"
    account.next_withdrawal_on = date(2024, 1, 31)
    as_of = date(2024, 1, 20)
    assert withdrawals_due(account=account, as_of=as_of, horizon_days=10) == Decimal("0")
    assert withdrawals_due(account=account, as_of=as_of, horizon_days=11) == Decimal("5000")
    # Jan 31, then Feb 29 (month end clamps in a leap year), then Mar 31.
    assert withdrawals_due(account=account, as_of=as_of, horizon_days=40) == Decimal("10000")
    assert withdrawals_due(account=account, as_of=as_of, horizon_days=71) == Decimal("15000")


def test_a_gains_budget_nine_tenths_used_needs_attention(firms, run_book):
    """The "budget nearly used" filter: realized net gains at 90% or more of the year's budget."""
    from decimal import Decimal

    import time_machine

    from apps.access.roles import Role
    from apps.accounts.attention import accounts_needing_attention
    from apps.accounts.models import Account
    from tests.conftest import login_client
    from tests.integration.trading.conftest import realize_aaa_gain

    legacy = run_book["legacy"]
    realize_aaa_gain(legacy)  # a 1,000 gain this year
    Account.objects.filter(pk=legacy.pk).update(annual_budget_amount=Decimal("1100"))
    found = {a.account_id: a for a in accounts_needing_attention(as_of=AS_OF)}
    assert found[legacy.pk].is_budget_nearly_used
    assert any("gains budget 91% used (1000.00 of 1100.00)" in r for r in found[legacy.pk].reasons)
    assert not found[run_book["cash_only"].pk].is_budget_nearly_used  # no budget
    daily_scan_run(as_of=AS_OF)
    client = login_client(firms["a"], Role.ADVISOR)
    with time_machine.travel("2024-06-28 15:00:00-04:00", tick=False):
        page = client.get("/accounts/?flag=budget_nearly_used").content.decode()
    assert "Legacy" in page and "New money" not in page
    Account.objects.filter(pk=legacy.pk).update(annual_budget_amount=Decimal("1200"))  # 83%
    found = {a.account_id: a for a in accounts_needing_attention(as_of=AS_OF)}
    assert not found[legacy.pk].is_budget_nearly_used


def test_a_cap_per_character_nine_tenths_used_needs_attention(run_book):
    """The year's net long-term gain (1,000, after no carryforward) against a 1,050 long-term
    cap: flagged; the short-term cap is untouched (no short-term gain realized)."""
    from decimal import Decimal

    from apps.accounts.attention import accounts_needing_attention
    from apps.accounts.models import Account
    from apps.accounts.selectors import realized_summary
    from tests.integration.trading.conftest import realize_aaa_gain

    legacy = run_book["legacy"]
    realize_aaa_gain(legacy)  # 1,000 of long-term gain this year
    Account.objects.filter(pk=legacy.pk).update(
        long_term_gains_budget_amount=Decimal("1050"),
        short_term_gains_budget_amount=Decimal("100"),
    )
    summary = realized_summary(account=Account.objects.get(pk=legacy.pk), year=AS_OF.year)
    assert (summary.long_term_budget_used, summary.long_term_budget_left) == (1000, 50)
    assert (summary.short_term_budget_used, summary.short_term_budget_left) == (0, 100)
    assert summary.budget_amount is None and summary.budget_used is None  # no annual budget
    found = {a.account_id: a for a in accounts_needing_attention(as_of=AS_OF)}
    assert found[legacy.pk].is_budget_nearly_used
    assert "long-term gains cap 95% used (1000.00 of 1050.00)" in found[legacy.pk].reasons
    assert not any("short-term" in r for r in found[legacy.pk].reasons)
    Account.objects.filter(pk=legacy.pk).update(carryforward_long_amount=Decimal("200"))
    summary = realized_summary(account=Account.objects.get(pk=legacy.pk), year=AS_OF.year)
    assert summary.long_term_budget_used == 800  # Schedule D line 15 after the carryforward
    found = {a.account_id: a for a in accounts_needing_attention(as_of=AS_OF)}
    assert not found[legacy.pk].is_budget_nearly_used


def _expected_position(account, model_weights, closes):
    """Value, one-way trade to the model and harvestable loss, computed here from the lots."""
    from apps.accounts.models import TaxLot

    lots = list(TaxLot.objects.filter(account=account, has_basis=True))
    values = {}
    for lot in lots:
        values[lot.symbol] = values.get(lot.symbol, 0) + lot.shares * closes[lot.symbol]
    total = account.cash_amount + sum(values.values())
    gaps = [values.get(s, 0) - w * total for s, w in model_weights.items()]
    gaps += [v for s, v in values.items() if s not in model_weights]
    trade = max(sum(g for g in gaps if g > 0), -sum(g for g in gaps if g < 0))
    loss = sum(
        lot.adjusted_basis_amount - lot.shares * closes[lot.symbol]
        for lot in lots
        if lot.shares * closes[lot.symbol]
        < lot.adjusted_basis_amount * (1 - account.harvest_threshold_rate)
    )
    return total, trade, loss


def test_each_account_is_ranked_by_the_money_at_stake(run_book, priced_universe):
    from decimal import Decimal

    from apps.accounts.attention import accounts_needing_attention
    from apps.trading.selectors import scan_item_list

    weights = {s: Decimal("0.12") for s in priced_universe}
    found = accounts_needing_attention(as_of=AS_OF)
    by_id = {a.account_id: a for a in found}
    for key in ("legacy", "cash_only"):
        account = run_book[key]
        account.refresh_from_db()
        total, trade, loss = _expected_position(account, weights, priced_universe)
        position = by_id[account.pk].position
        assert position.value_amount == total.quantize(Decimal("0.01"))
        assert abs(position.drift_trade_amount - trade) <= Decimal("0.01")
        assert abs(position.harvest_loss_amount - loss) <= Decimal("0.01")
    # New money: all cash against a 96% invested model: the trade is 96% of 100,000.
    cash_only = by_id[run_book["cash_only"].pk]
    assert cash_only.stake_amount == Decimal("96000.00")
    assert by_id[run_book["legacy"].pk].position.harvest_loss_amount > 0  # EEE bought at 90
    stakes = [a.stake_amount for a in found]
    assert stakes == sorted(stakes, reverse=True)
    scan = daily_scan_run(as_of=AS_OF)
    listed = list(scan_item_list(scan=scan))
    assert [i.account_id for i in listed] == [a.account_id for a in found]
    assert [i.stake_amount for i in listed] == stakes
