"""The daily scan: rank the accounts needing attention by money at stake; start a run if asked."""

from datetime import date

from django.db import transaction

from apps.access.services import audit_event_record
from apps.accounts.attention import account_positions_store
from apps.common.tenancy import require_tenant_schema
from apps.trading.models import DailyScan, RunMode, RunScope, ScanItem
from apps.trading.services.review import trading_settings_get
from apps.trading.services.runs import rebalance_run_create


@transaction.atomic
def daily_scan_run(*, as_of: date) -> DailyScan:
    """Scan the book as of a business date (once per date: a second call returns the first).

    Per the firm's policy the scan either lists the accounts (the trader's to-do list) or also
    starts a full rebalance run over exactly those accounts. It also stores every account's
    position and attention (``AccountPosition``) for the accounts list and the dashboard.
    """
    require_tenant_schema()
    scan, created = DailyScan.objects.select_for_update().get_or_create(scanned_on=as_of)
    if not created:
        return scan
    # Every account's position stored from the same valuation: what the pages read until the
    # next change or scan.
    found = account_positions_store(as_of=as_of)
    ScanItem.objects.bulk_create(
        ScanItem(
            scan=scan,
            account_id=item.account_id,
            reasons=list(item.reasons),
            is_drift=item.is_drift,
            is_harvest=item.is_harvest,
            is_cash_due=item.is_cash_due,
            is_budget_nearly_used=item.is_budget_nearly_used,
            stake_amount=item.stake_amount,
        )
        for item in found
    )
    from apps.accounts.models import Account

    scan.accounts_scanned = Account.objects.filter(model__isnull=False).count()
    if found and trading_settings_get().is_scan_starting_runs:
        scan.run = rebalance_run_create(
            scope=RunScope.ACCOUNT,
            scope_ids=[item.account_id for item in found],
            mode=RunMode.FULL_REBALANCE,
            as_of=as_of,
            requested_by=None,
        )
    scan.save()
    audit_event_record(
        action="daily_scan.run",
        acting_user=None,
        obj=scan,
        payload={"found": len(found), "run_id": scan.run_id},
    )
    return scan
