"""The whole loop in a real browser on a firm's own host.

An advisor designs a tobacco-free solution with a $5,000 monthly withdrawal and a three-year
transition, previews and submits it; a trader approves it, makes block orders and downloads the
trade file; a viewer cannot approve; firm B's user cannot open firm A's account. Screenshots of
every main page land in artifacts/screenshots/.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.firms.models import Firm
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
SYMBOLS = {
    "UIA": ("Energy", "Oil & Gas", []),
    "UIB": ("Energy", "Oil & Gas", []),
    "UIC": ("Consumer Staples", "Tobacco", ["tobacco"]),
    "UID": ("Consumer Staples", "Food Products", []),
    "UIE": ("Utilities", "Electric Utilities", []),
    "UIF": ("Utilities", "Electric Utilities", []),
}


def _business_days(end: date, count: int) -> list[date]:
    days, day = [], end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


@pytest.fixture(scope="module")
def ui_firm(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """A committed firm: six priced names (one tobacco), a model, one household with lots."""
    from apps.access.roles import Role
    from apps.access.services import firm_user_create
    from apps.accounts.models import Account, Household, Transaction
    from apps.accounts.services.ledger import ledger_rebuild
    from apps.common.tenancy import firm_today
    from apps.firms.services import firm_create
    from apps.models.services import model_assign, model_create, model_version_create
    from apps.securities.models import Price, Security

    with django_db_blocker.unblock():
        firm = firm_create(
            name="Browser Flow Wealth",
            slug="firm_ui",
            domain="firm-ui.localhost",
            admin_email="admin@firm-ui.test",
            admin_password=PASSWORD,
            service="sub_advisory",
        ).firm
        today = firm_today(firm)
        days = _business_days(today, 90)
        rng = np.random.default_rng(3)
        for i, (symbol, (sector, industry, tags)) in enumerate(SYMBOLS.items()):
            security = Security.objects.create(
                symbol=symbol, name=f"{symbol} Inc", sector=sector, industry=industry, esg_tags=tags
            )
            path = (30 + 10 * i) * np.exp(np.cumsum(rng.normal(0, 0.015, len(days))))
            Price.objects.bulk_create(
                Price(
                    security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="test"
                )
                for d, p in zip(days, path, strict=True)
            )
        with schema_context("firm_ui"):
            for role in (Role.ADVISOR, Role.TRADER, Role.VIEWER):
                firm_user_create(email=f"{role.value}@firm-ui.test", password=PASSWORD, role=role)
            model = model_create(code="UI6", name="Six names", acting_user=None)
            model_version_create(
                model=model,
                effective_on=today - timedelta(days=60),
                cash_weight=Decimal("0.04"),
                security_weights={s: Decimal("0.16") for s in SYMBOLS},
                acting_user=None,
            )
            household = Household.objects.create(external_id="UI-1", name="Garcia family")
            account = Account.objects.create(
                household=household,
                custodian="schwab",
                number="UI-100",
                name="Garcia joint",
                registration="taxable",
            )
            prices = {
                s: Price.objects.filter(security__symbol=s).latest("priced_on").close_price
                for s in SYMBOLS
            }
            Transaction.objects.create(
                account=account,
                external_id="dep",
                kind="deposit",
                trade_on=today - timedelta(days=400),
                amount=Decimal("10000"),
            )
            for n, symbol in enumerate(("UIA", "UIC", "UIE")):
                shares = Decimal(200)
                Transaction.objects.create(
                    account=account,
                    external_id=f"open-{symbol}",
                    kind="buy",
                    trade_on=today - timedelta(days=700 - n),
                    symbol=symbol,
                    shares=shares,
                    amount=(shares * prices[symbol] * Decimal("0.6")).quantize(Decimal("0.01")),
                    is_opening_lot=True,
                )
            ledger_rebuild(household=household)
            model_assign(account=account, model=model, acting_user=None)
            account_id = account.pk
        connection.set_schema_to_public()
    yield {"firm": firm, "account_id": account_id, "host": "firm-ui.localhost", "today": today}
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        Firm.objects.get(slug="firm_ui").delete(force_drop=True)
        Price.objects.filter(security__symbol__in=SYMBOLS).delete()
        Security.objects.filter(symbol__in=SYMBOLS).delete()


def _login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_design_preview_submit_approve_and_download(ui_firm, server_port, chromium, tmp_path):
    base = f"http://{ui_firm['host']}:{server_port}"
    account = ui_firm["account_id"]

    advisor = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(advisor, base, "advisor@firm-ui.test")
    advisor.click("text=Accounts")
    screenshot(advisor, "flow-01-accounts")
    advisor.click("text=Garcia joint")
    screenshot(advisor, "flow-02-account")
    advisor.goto(f"{base}/accounts/{account}/design/")
    restriction = advisor.locator("form[action$='/design/restrictions/']")
    restriction.locator("[name=kind]").select_option("exclude_esg")
    restriction.locator("[name=value]").fill("tobacco")
    restriction.locator("[name=reason]").fill("Client wants no tobacco")
    restriction.locator("button[type=submit]").click()
    assert (
        "tobacco" in advisor.locator("text=Exclude ESG tag").first.locator("xpath=..").inner_text()
    )
    profile = advisor.locator("form[action$='/profile/']")
    profile.locator("[name=withdrawal_amount]").fill("5000.00")
    profile.locator("[name=withdrawal_frequency]").select_option("monthly")
    profile.locator("[name=next_withdrawal_on]").fill(
        (ui_firm["today"] + timedelta(days=10)).isoformat()
    )
    profile.locator("[name=transition_years]").fill("3")
    profile.locator("button[type=submit]").click()
    assert "Saved:" in advisor.locator(".messages").inner_text()
    screenshot(advisor, "flow-03-design")
    advisor.click("text=Preview the rebalance")
    advisor.wait_for_selector("text=Proposed trades")
    trades = advisor.locator("table").last.inner_text()
    assert "UIC" in trades and "restriction" in trades  # the tobacco name is sold, with its reason
    screenshot(advisor, "flow-04-preview")
    advisor.click("text=Submit for review")
    advisor.wait_for_selector("text=Pending approval")
    screenshot(advisor, "flow-05-proposal")

    viewer = chromium.new_context().new_page()
    _login(viewer, base, "viewer@firm-ui.test")
    viewer.goto(f"{base}/approvals/")
    assert viewer.locator("text=Approve selected").count() == 0
    viewer.click("text=Garcia joint")
    assert viewer.locator("button:has-text('Approve')").count() == 0

    trader = chromium.new_context(accept_downloads=True).new_page()
    _login(trader, base, "trader@firm-ui.test")
    trader.goto(f"{base}/approvals/")
    screenshot(trader, "flow-06-approvals")
    trader.check("input[name=proposal_ids]")
    trader.click("text=Approve selected")
    assert "1 proposal(s) approved" in trader.locator(".messages").inner_text()
    trader.goto(f"{base}/orders/")
    trader.click("text=Create block orders")
    trader.locator("form[action$='/orders/trade-files/'] button").first.click()
    screenshot(trader, "flow-07-orders")
    with trader.expect_download() as download_info:
        trader.locator("a[href*='/download/']").first.click()
    path = tmp_path / "trade-file.csv"
    download_info.value.save_as(path)
    content = path.read_text()
    assert "UI-100" in content and "UIC" in content

    other = chromium.new_context().new_page()
    b_base = f"http://firm-b.localhost:{server_port}"
    _login(other, b_base, "firm_admin@firm-b.test")
    response = other.goto(f"{b_base}/accounts/{account}/")
    assert response.status == 404
    response = other.goto(f"{base}/accounts/{account}/")  # firm A's host: not logged in there
    assert "/login/" in other.url
