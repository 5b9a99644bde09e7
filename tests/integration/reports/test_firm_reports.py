"""Firm reports: taxes saved across accounts (share of accounts and assets) and dispersion."""

import re
import time
from decimal import Decimal

from apps.reports.services.firm import (
    firm_dispersion_get,
    firm_taxes_saved_get,
    report_render_dispersion,
    report_render_taxes_saved,
)
from apps.reports.services.savings import taxes_saved_for_account
from apps.reports.templatetags.report_format import money
from tests.integration.reports.conftest import AS_OF, YEAR, pdf_pages, record_timing, save_pages


def test_taxes_saved_report_counts_accounts_and_assets_ahead_of_fees(report_book, tmp_path):
    report = firm_taxes_saved_get(year=YEAR, as_of=AS_OF)
    numbers = {r.account.number for r in report.rows}
    assert numbers == {"R1", "R2", "R3", "L1"}  # taxable accounts on a model
    for row in report.rows:
        saved = taxes_saved_for_account(account=row.account, year=YEAR, as_of=AS_OF)
        assert row.gross_saved == saved.this_year.gross_saved
        assert row.fees == saved.this_year.fees
    ahead = [r for r in report.rows if r.gross_saved > r.fees]
    assert report.share.accounts == 4
    assert report.share.accounts_ahead == len(ahead)
    assert report.share.account_share == Decimal(len(ahead)) / 4
    assert report.share.assets == sum(r.value for r in report.rows)

    started = time.perf_counter()
    pdf = report_render_taxes_saved(year=YEAR, as_of=AS_OF)
    record_timing("taxes-saved report", (time.perf_counter() - started) * 1000, pdf.pages)
    text = "\n".join(pdf_pages(pdf.content, tmp_path))
    save_pages(pdf.content, "firm-taxes-saved")
    assert "Taxes saved versus fees, 2024" in text
    assert "Evelyn Hartley Trust" in text
    assert "Okafor Joint" in text
    assert money(report.gross_saved) in text
    assert re.search(rf"{report.share.accounts_ahead}\s*/\s*4", text)


def test_dispersion_report_before_and_after_the_run(report_book, tmp_path):
    (item,) = firm_dispersion_get(year=YEAR, as_of=AS_OF)
    assert item.model.code == "CORE8"
    assert len(item.accounts) == 4
    (run,) = item.runs
    assert run.accounts == 3  # the account without basis was skipped by the run
    assert run.te_after.median < run.te_before.median  # the run brought accounts to the model
    assert item.returns is not None and item.returns.range >= 0
    assert item.tracking_errors is not None

    started = time.perf_counter()
    pdf = report_render_dispersion(year=YEAR, as_of=AS_OF)
    record_timing("dispersion report", (time.perf_counter() - started) * 1000, pdf.pages)
    text = "\n".join(pdf_pages(pdf.content, tmp_path))
    save_pages(pdf.content, "firm-dispersion")
    assert "Dispersion report, 2024" in text
    assert "CORE8" in text
    assert f"#{run.run_id}" in text
