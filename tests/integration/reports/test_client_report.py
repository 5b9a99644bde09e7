"""The client PDF: valid, holds the key figures, paginates long tables with repeated headers."""

import re
import subprocess
import time

from apps.reports.services.client import report_render_client
from apps.reports.services.savings import taxes_saved_for_account
from apps.reports.templatetags.report_format import money
from tests.integration.reports.conftest import AS_OF, YEAR, pdf_pages, record_timing, save_pages

LOT_HEADER = re.compile(r"Security\s+Acquired\s+Shares\s+Cost basis")


def _pdfinfo_pages(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return int(
        next(line for line in out.stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )


def test_client_report_holds_the_key_figures(report_book, tmp_path):
    account = report_book["legacy"]
    started = time.perf_counter()
    pdf = report_render_client(account=account, year=YEAR, as_of=AS_OF)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert pdf.content.startswith(b"%PDF-")
    assert _pdfinfo_pages(pdf.content, tmp_path) == pdf.pages
    pages = pdf_pages(pdf.content, tmp_path)
    text = "\n".join(pages)
    saved = taxes_saved_for_account(account=account, year=YEAR, as_of=AS_OF)
    save_pages(pdf.content, "client-legacy")
    record_timing("client report (6 positions)", elapsed_ms, pdf.pages)
    assert "Evelyn Hartley Trust" in text
    assert "Your 2024 portfolio report" in pages[0]
    assert saved.this_year.rebalances == 1
    # The client PDF's taxes saved are the shadow method's figures (the firm report's).
    for field in ("saved", "permanent", "deferral_value", "trading_costs", "fees", "net_saved"):
        assert money(getattr(saved.this_year, field)) in text
    assert money(saved.this_year.losses_harvested) in text
    assert f"{YEAR} value of deferring" in text  # the chart of the decomposition per year
    # The restriction in force, with its reason, and the scheduled withdrawals.
    assert "Never buy (symbol)" in text
    assert "Client works for HHH's main competitor" in text
    assert "July 15, 2024" in text
    assert "$6,000.00" in text
    # The plain-language summary is built from the executed trades' reasons.
    assert "harvest" in text
    assert "Reduce an overweight" in text
    assert 4 <= pdf.pages <= 7
    assert pdf.refused == ()


def test_long_lot_table_paginates_with_repeated_header(report_book, tmp_path):
    account = report_book["many"]
    started = time.perf_counter()
    pdf = report_render_client(account=account, year=YEAR, as_of=AS_OF)
    elapsed_ms = (time.perf_counter() - started) * 1000
    pages = pdf_pages(pdf.content, tmp_path)
    save_pages(pdf.content, "client-many-lots")
    record_timing("client report (96 lots)", elapsed_ms, pdf.pages)
    with_header = [i for i, page in enumerate(pages) if LOT_HEADER.search(page)]
    assert len(with_header) >= 2  # the lots table spans pages, its header repeated on each
    assert with_header == list(range(with_header[0], with_header[-1] + 1))
    assert "Okafor Joint" in pages[0]
    assert pdf.pages == len([p for p in pages if p.strip()])
