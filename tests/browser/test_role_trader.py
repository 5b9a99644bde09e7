"""A trader's day: starts a book run on the runs page (a real worker computes it), approves every
proposal, makes block orders, downloads the trade file and uploads the custodian's fills for it:
the orders are filled and the fills are booked in the accounts' ledgers."""

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from tests.browser.books import BookFirm, book_firm
from tests.browser.conftest import download, log_in, screenshot

pytestmark = pytest.mark.browser
SYMBOLS = {
    "TRA": ("Energy", "Oil & Gas", []),
    "TRB": ("Utilities", "Electric Utilities", []),
    "TRC": ("Materials", "Chemicals", []),
    "TRD": ("Industrials", "Machinery", []),
}
ACCOUNTS = (("Nakamura family", "Nakamura joint", "TR-1"), ("Silva family", "Silva IRA", "TR-2"))
FILLS_HEADER = [
    "allocation_id",
    "account_number",
    "symbol",
    "side",
    "shares",
    "price",
    "trade_date",
]


@pytest.fixture(scope="module")
def trader_firm(django_db_setup, django_db_blocker) -> Iterator[BookFirm]:
    """Two whole-share accounts holding half the model's names."""
    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_tr",
            name="Trader Day Advisors",
            symbols=SYMBOLS,
            accounts=ACCOUNTS,
            seed=11,
            is_whole_shares=True,
        ) as firm,
    ):
        yield firm


def test_trader_runs_the_book_approves_trades_and_books_the_fills(
    trader_firm, server_port, worker, page, tmp_path, django_db_blocker
):
    from apps.accounts.models import Transaction
    from apps.securities.models import Price
    from apps.trading.models import Order, OrderStatus, RebalanceRun, RunStatus

    schema = trader_firm.firm.schema_name
    base = trader_firm.base(server_port)
    log_in(page, base, trader_firm.email("trader"))
    page.click("nav >> text=Runs")
    page.locator("summary", has_text="Start a run").click()
    page.locator("[name=target]").select_option("book")
    page.click("button:text('Start run')")
    page.wait_for_url(f"{base}/runs/*/")
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.wait_for_selector("[data-progress-text]:text-matches('^completed')", timeout=120_000)
    assert "Nakamura joint" in page.locator("main").inner_text()
    screenshot(page, "trader-01-run")
    with django_db_blocker.unblock(), schema_context(schema):
        assert RebalanceRun.objects.get(pk=run_id).status == RunStatus.COMPLETED

    page.click("nav >> text=Approvals")
    page.check("input[aria-label='Select all']")
    page.click("text=Approve selected")
    assert "2 proposal(s) approved" in page.locator(".messages").inner_text()
    page.click("nav >> text=Orders")
    page.click("text=Create block orders")
    page.locator("form[action$='/orders/trade-files/'] button").first.click()
    trade_file = download(page, page.locator("a[href*='/download/']").first, tmp_path / "t.csv")
    lines = list(csv.DictReader(io.StringIO(trade_file.read_text())))
    assert {line["account_number"] for line in lines} == {"TR-1", "TR-2"}
    screenshot(page, "trader-02-orders")

    with django_db_blocker.unblock():
        price = {
            s: Price.objects.filter(security__symbol=s).latest("priced_on").close_price
            for s in SYMBOLS
        }
    rows = [FILLS_HEADER] + [
        [line["allocation_id"], line["account_number"], line["symbol"], line["side"],
         line["shares"], str(price[line["symbol"]]), trader_firm.today.isoformat()]
        for line in lines
    ]  # fmt: skip
    fills = "".join(",".join(row) + "\n" for row in rows)
    page.set_input_files(
        "form[action$='/orders/fills/'] [name=file]",
        files=[{"name": "fills.csv", "mimeType": "text/csv", "buffer": fills.encode()}],
    )
    page.click("button:text('Import fills')")
    assert f"{len(lines)} fill" in page.locator("main").inner_text()
    screenshot(page, "trader-03-fills")
    with django_db_blocker.unblock(), schema_context(schema):
        assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.FILLED}
        booked = Transaction.objects.filter(source="fills:fills.csv")
        assert booked.count() == len(lines)
        assert sum(t.shares for t in booked) == sum(Decimal(line["shares"]) for line in lines)
