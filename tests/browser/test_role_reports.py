"""Reports: an advisor generates each kind of report on the reports page (a real worker renders
it), downloads the PDF through the page and opens it: a PDF whose text names the account (client
report) or the firm (firm reports)."""

import subprocess
from collections.abc import Iterator

import pytest

from tests.browser.books import BookFirm, book_firm
from tests.browser.conftest import download, log_in, screenshot

pytestmark = pytest.mark.browser
SYMBOLS = {
    "RPA": ("Energy", "Oil & Gas", []),
    "RPB": ("Utilities", "Electric Utilities", []),
    "RPC": ("Materials", "Chemicals", []),
}


@pytest.fixture(scope="module")
def report_firm(django_db_setup, django_db_blocker) -> Iterator[BookFirm]:
    """One account holding legacy lots."""
    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_rp",
            name="Report Day Wealth",
            symbols=SYMBOLS,
            accounts=(("Moreau family", "Moreau joint", "RP-1"),),
            seed=5,
        ) as firm,
    ):
        yield firm


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("client", "Moreau joint"),
        ("taxes_saved", "Report Day Wealth"),
        ("dispersion", "Report Day Wealth"),
    ],
)
def test_each_report_is_downloaded_as_a_pdf_naming_its_subject(
    kind, expected, report_firm, server_port, worker, page, tmp_path
):
    base = report_firm.base(server_port)
    log_in(page, base, report_firm.email("advisor"))
    page.click("nav >> text=Reports")
    page.locator("summary", has_text="Generate reports").click()
    page.locator("[name=kind]").select_option(kind)
    if kind == "client":
        page.locator("[name=account_id]").select_option(str(report_firm.accounts["RP-1"]))
    page.click("button:text('Generate')")
    page.wait_for_url(f"{base}/reports/batches/*/")
    link = page.locator("a[href*='/reports/files/']").first
    link.wait_for(timeout=120_000)  # the page refreshes until the worker is done
    screenshot(page, f"reports-{kind}")
    pdf = download(page, link, tmp_path / f"{kind}.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert expected in text
