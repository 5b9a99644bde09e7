"""A fund model built in a real browser (issue 23).

An advisor creates a model of two overlapping funds plus a direct-index sleeve (the firm's
equal-weight model of the six stocks), sets it on an account that holds the large-cap fund at a
big gain, previews the rebalance and reads why the overweight fund is kept: the tax selling
would cost, while the sleeve's stocks the other fund holds beyond it cover its exposure.
"""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django_tenants.utils import tenant_context

from tests.browser.books import book_firm
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
SYMBOLS = {
    "FDA": ("Energy", "Oil & Gas", []),
    "FDB": ("Energy", "Oil & Gas", []),
    "FDC": ("Consumer Staples", "Food Products", []),
    "FDD": ("Consumer Staples", "Food Products", []),
    "FDE": ("Utilities", "Electric Utilities", []),
    "FDF": ("Utilities", "Electric Utilities", []),
}
FUNDS = {"LCFX": ("FDA", "FDC", "FDD", "FDE"), "TMFX": tuple(SYMBOLS)}


def _funds_create(today) -> None:
    """Two basket funds with holdings on file, priced as their baskets (constant weights)."""
    from apps.securities.models import FundHolding, Price, Security, SecurityKind

    for fund, held in FUNDS.items():
        security = Security.objects.create(
            symbol=fund, name=f"{fund} basket (test)", kind=SecurityKind.ETF, tracked_index=fund
        )
        FundHolding.objects.bulk_create(
            FundHolding(
                fund=security,
                as_of=today - timedelta(days=120),
                holding=s,
                weight=(Decimal(1) / len(held)).quantize(Decimal("0.00000001")),
            )
            for s in Security.objects.filter(symbol__in=held)
        )
        rows = Price.objects.filter(security__symbol__in=held).order_by("priced_on", "security_id")
        days = sorted({p.priced_on for p in rows})
        closes = np.array([float(p.close_price) for p in rows]).reshape(len(days), len(held))
        returns = (closes[1:] / closes[:-1] - 1.0).mean(axis=1)
        path = 50.0 * np.concatenate([[1.0], np.cumprod(1.0 + returns)])
        Price.objects.bulk_create(
            Price(security=security, priced_on=d, close_price=Decimal(f"{p:.4f}"), source="t")
            for d, p in zip(days, path, strict=True)
        )


def _funds_delete() -> None:
    from apps.securities.models import FundHolding, Price, Security

    FundHolding.objects.filter(fund__symbol__in=FUNDS).delete()
    Price.objects.filter(security__symbol__in=FUNDS).delete()
    Security.objects.filter(symbol__in=FUNDS).delete()


@pytest.fixture(scope="module")
def fund_firm(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """A committed firm: six stocks, two funds on them, an account holding LCFX at a big gain."""
    from apps.accounts.models import Account, Transaction
    from apps.accounts.services.ledger import ledger_rebuild
    from apps.securities.models import Price

    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_funds",
            name="Fund Model Wealth",
            symbols=SYMBOLS,
            accounts=(("Okafor family", "Okafor trust", "FM-100"),),
            seed=5,
        ) as firm,
    ):
        try:
            _funds_create(firm.today)
            lcf = Price.objects.filter(security__symbol="LCFX").latest("priced_on").close_price
            with tenant_context(firm.firm):
                account = Account.objects.get(pk=firm.accounts["FM-100"])
                Transaction.objects.create(
                    account=account,
                    external_id="open-LCFX",
                    kind="buy",
                    trade_on=firm.today - timedelta(days=900),
                    symbol="LCFX",
                    shares=Decimal(2000),
                    amount=(2000 * lcf * Decimal("0.2")).quantize(Decimal("0.01")),
                    is_opening_lot=True,
                )
                ledger_rebuild(household=account.household)
            yield {"host": firm.host, "account_id": account.pk, "today": firm.today}
        finally:
            _funds_delete()


def test_an_advisor_builds_a_fund_model_and_sees_why_a_fund_is_kept(
    fund_firm, server_port, chromium
):
    base = f"http://{fund_firm['host']}:{server_port}"
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, base, "firm_admin@firm-funds.test")
    page.goto(f"{base}/models/")
    page.fill("[name=code]", "FUNDMIX")
    page.fill("[name=name]", "Funds and a direct-index sleeve")
    page.click("button:has-text('Create model')")  # then its edit page: the first version
    page.fill("[name=effective_on]", (fund_firm["today"] - timedelta(days=1)).isoformat())
    page.fill("[name=csv_text]", "LCFX,0.40\nTMFX,0.40\nmodel:EQ,0.16\nCASH,0.04\n")
    page.click("button:has-text('Create version')")
    page.click("text=Edit (new version)")
    page.fill("[name=tracking_error_target_rate]", "2")
    page.click("button:has-text('Save')")
    page.goto(f"{base}/models/")
    page.click("text=FUNDMIX")
    detail = page.locator("main").inner_text()
    assert "LCFX" in detail and "model:EQ" in detail
    screenshot(page, "funds-01-model")

    page.goto(f"{base}/accounts/{fund_firm['account_id']}/design/")
    page.select_option("#model-select", "FUNDMIX")
    page.click("button:has-text('Set model')")
    assert "FUNDMIX" in page.locator("main").inner_text()
    page.click("text=Preview the rebalance")
    page.wait_for_selector("text=Proposed trades")
    screenshot(page, "funds-02-preview")
    notes = page.locator("text=Notes and target adjustments").locator("xpath=..").inner_text()
    assert "LCFX is kept" in notes, notes
    # The direct-index sleeve's stocks TMFX holds beyond LCFX are bought instead of TMFX: the
    # trades cover the overweight's exposure, and the note says so.
    assert "of tax" in notes and "the trades cover its exposure" in notes
