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
        assert row.saved == saved.this_year.saved
        assert row.trading_costs == saved.this_year.trading_costs
        assert row.fees == saved.this_year.fees
    ahead = [r for r in report.rows if r.saved - r.trading_costs > r.fees]
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
    assert money(report.saved) in text
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


def test_firm_b_reports_hold_none_of_firm_a_data(report_book, firms, tmp_path):
    from django_tenants.utils import tenant_context

    with tenant_context(firms["b"].firm):
        taxes = report_render_taxes_saved(year=YEAR, as_of=AS_OF)
        dispersion = report_render_dispersion(year=YEAR, as_of=AS_OF)
    for pdf in (taxes, dispersion):
        text = "\n".join(pdf_pages(pdf.content, tmp_path))
        assert "Firm B Advisors" in text
        for leaked in ("Firm A Wealth", "Evelyn Hartley Trust", "Okafor Joint", "CORE8"):
            assert leaked not in text


def test_branding_colours_and_logo_reach_the_cover(report_book, firms, tmp_path, settings):
    import io

    from PIL import Image

    from apps.access.roles import Role
    from apps.reports.services.branding import firm_branding_update
    from apps.reports.services.client import report_render_client

    settings.MEDIA_ROOT = str(tmp_path / "media")
    logo = io.BytesIO()
    Image.new("RGB", (360, 90), "#d4a017").save(logo, format="PNG")
    firm_branding_update(
        acting_user=firms["a"].users[Role.FIRM_ADMIN],
        display_name="Hartwell & Pike Private Wealth",
        primary_colour="#0f4c3a",
        secondary_colour="#d4a017",
        disclaimer="Hartwell & Pike is a registered investment adviser.",
        logo=("logo.png", logo.getvalue()),
    )
    pdf = report_render_client(account=report_book["legacy"], year=YEAR, as_of=AS_OF)
    assert pdf.refused == ()
    text = "\n".join(pdf_pages(pdf.content, tmp_path))
    assert "HARTWELL & PIKE PRIVATE WEALTH" in text
    assert "Hartwell & Pike is a registered investment adviser." in text
    (cover, *_) = save_pages(pdf.content, "client-branded")
    pixel = Image.open(cover).convert("RGB").getpixel((5, 5))
    assert pixel == (15, 76, 58)  # the firm's primary colour fills the cover band


def test_branding_rejects_a_bad_colour(firm_a):
    import pytest

    from apps.common.exceptions import ApplicationError
    from apps.reports.services.branding import firm_branding_update

    with pytest.raises(ApplicationError, match="colour"):
        firm_branding_update(acting_user=None, primary_colour="red; background:url(x)")
