"""Issue #15's demo story in a real browser: three book runs, "select all → approve", block
orders, the trade file. Each account's trades reach the file once, from the newest run only.
"""

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from apps.firms.models import Firm
from tests.browser.books import business_days
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCHEMA, HOST = "firm_story", "firm-story.localhost"
SYMBOLS = {f"ST{i}": ("Energy", "Utilities", "Materials")[i % 3] for i in range(6)}
RUNS = 3


@pytest.fixture(scope="module")
def story_firm(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """A committed firm: six priced names, a model, five households with legacy lots, and the
    proposals of three book runs executed one after the other (as a worker would)."""
    from apps.access.roles import Role
    from apps.access.services import firm_user_create
    from apps.accounts.models import Account, Household, Transaction
    from apps.accounts.services.ledger import ledger_rebuild
    from apps.common.tenancy import firm_today
    from apps.firms.services import firm_create
    from apps.models.services import model_assign, model_create, model_version_create
    from apps.securities.models import Price, Security
    from apps.trading.models import RunMode, RunScope
    from apps.trading.services.runs import (
        rebalance_chunk_execute,
        rebalance_run_create,
        rebalance_run_start,
    )

    with django_db_blocker.unblock():
        firm = firm_create(
            name="Approve All Story",
            slug=SCHEMA,
            domain=HOST,
            admin_email="admin@firm-story.test",
            admin_password=PASSWORD,
        ).firm
        today = firm_today(firm)
        days = business_days(today, 90)
        rng = np.random.default_rng(15)
        for i, (symbol, sector) in enumerate(SYMBOLS.items()):
            security = Security.objects.create(
                symbol=symbol, name=f"{symbol} Co", sector=sector, industry=f"{sector} ind"
            )
            path = (40 + 7 * i) * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
            Price.objects.bulk_create(
                Price(security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="t")
                for d, p in zip(days, path, strict=True)
            )
        run_ids = []
        with tenant_context(firm):
            firm_user_create(email="trader@firm-story.test", password=PASSWORD, role=Role.TRADER)
            model = model_create(code="ST6", name="Story six", acting_user=None)
            model_version_create(
                model=model,
                effective_on=today - timedelta(days=60),
                cash_weight=Decimal("0.04"),
                security_weights={s: Decimal("0.16") for s in SYMBOLS},
                acting_user=None,
            )
            for h in range(5):
                household = Household.objects.create(external_id=f"S-{h}", name=f"Story {h}")
                account = Account.objects.create(
                    household=household,
                    custodian="schwab",
                    number=f"ST-{h}",
                    name=f"Story account {h}",
                    registration="taxable",
                )
                Transaction.objects.create(
                    account=account,
                    external_id="dep",
                    kind="deposit",
                    trade_on=today - timedelta(days=800),
                    amount=Decimal(20_000 + 5_000 * h),
                )
                for n, symbol in enumerate(list(SYMBOLS)[h % 3 : h % 3 + 2]):  # two names held
                    Transaction.objects.create(
                        account=account,
                        external_id=f"b-{symbol}",
                        kind="buy",
                        trade_on=today - timedelta(days=700 - 200 * n),
                        symbol=symbol,
                        shares=Decimal(100 + 30 * h) + Decimal("0.37"),  # a fractional lot
                        amount=Decimal(4_000 + 500 * h),
                    )
                ledger_rebuild(household=household)
                model_assign(account=account, model=model, acting_user=None)
            for _ in range(RUNS):
                run = rebalance_run_create(
                    scope=RunScope.BOOK,
                    scope_ids=[],
                    mode=RunMode.FULL_REBALANCE,
                    as_of=today,
                    requested_by=None,
                    enqueue=False,
                )
                for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
                    rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
                run_ids.append(run.pk)
        connection.set_schema_to_public()
    yield {"runs": run_ids}
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        Firm.objects.get(slug=SCHEMA).delete(force_drop=True)
        Price.objects.filter(security__symbol__in=SYMBOLS).delete()
        Security.objects.filter(symbol__in=SYMBOLS).delete()


def test_three_runs_approve_all_block_orders_trade_file(
    story_firm, server_port, chromium, tmp_path, django_db_blocker
):
    from apps.trading.models import OrderAllocation, Proposal, ProposalStatus, ProposedTrade

    base = f"http://{HOST}:{server_port}"
    trader = chromium.new_context(accept_downloads=True).new_page()
    log_in(trader, base, "trader@firm-story.test")

    trader.goto(f"{base}/approvals/")
    rows = trader.locator("input[name=proposal_ids]").count()
    assert rows == 5  # one live proposal per account, not three
    trader.check("input[aria-label='Select all']")
    screenshot(trader, "story-01-approve-all")
    trader.click("text=Approve selected")
    assert "5 proposal(s) approved" in trader.locator(".messages").inner_text()
    trader.goto(f"{base}/orders/")
    trader.click("text=Create block orders")
    assert trader.locator("button:has-text('Create block orders')").is_disabled()
    trade_files = trader.locator("form[action$='/orders/trade-files/']")
    trade_files.locator("select[name=layout]").select_option("schwab")
    trade_files.locator("button").first.click()
    screenshot(trader, "story-02-orders")
    with trader.expect_download() as download_info:
        trader.locator("a[href*='/download/']").first.click()
    path = tmp_path / "trade-file.csv"
    download_info.value.save_as(path)
    lines = list(csv.DictReader(io.StringIO(path.read_text())))

    with django_db_blocker.unblock(), schema_context(SCHEMA):
        newest = story_firm["runs"][-1]
        trades = set(
            ProposedTrade.objects.filter(proposal__run_id=newest).values_list("pk", flat=True)
        )
        by_reference = {
            f"A{pk}": (trade, number)
            for pk, trade, number in OrderAllocation.objects.values_list(
                "pk", "proposed_trade_id", "account__number"
            )
        }
        statuses = Counter(Proposal.objects.values_list("run_id", "status"))
    assert lines, "the trade file has no lines"
    references = Counter(line["Client Reference"] for line in lines)
    assert max(references.values()) == 1  # one lot per allocation here: one line each
    in_file = [by_reference[ref] for ref in references]
    assert sorted(trade for trade, _ in in_file) == sorted(trades)  # each trade once, newest run
    assert {line["Account Number"] for line in lines} == {number for _, number in in_file}
    assert len({number for _, number in in_file}) == 5  # every account, once per trade
    for run_id in story_firm["runs"][:-1]:
        assert statuses[(run_id, ProposalStatus.SUPERSEDED)] == 5
