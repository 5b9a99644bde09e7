"""An advisor's day on the design page, in people's units: a sector screen, an outside holding
as a percent, a withdrawal with thousands separators, a gains budget, a state rate in percent and
a transition horizon; the stored values are the fractions and amounts meant, the page shows them
back in percent and money, and the previewed rebalance is submitted for approval.

(test_advisor_trader_flow covers an ESG screen and the hand-over to a trader.)
"""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from tests.browser.books import BookFirm, book_firm
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
SYMBOLS = {
    "ADA": ("Energy", "Oil & Gas", []),
    "ADB": ("Utilities", "Electric Utilities", []),
    "ADC": ("Energy", "Oil & Gas", []),
    "ADD": ("Materials", "Chemicals", []),
    "ADE": ("Industrials", "Machinery", []),
}


@pytest.fixture(scope="module")
def advisor_firm(django_db_setup, django_db_blocker) -> Iterator[BookFirm]:
    """One account holding ADA, ADC and ADE (two of them energy)."""
    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_ad",
            name="Advisor Day Trust",
            symbols=SYMBOLS,
            accounts=(("Haddad family", "Haddad joint", "AD-1"),),
            seed=9,
        ) as firm,
    ):
        yield firm


def test_advisor_designs_in_peoples_units_previews_and_submits(
    advisor_firm, server_port, page, django_db_blocker
):
    from apps.accounts.models import Account
    from apps.restrictions.models import OutsideHolding, Restriction
    from apps.trading.models import Proposal, ProposalStatus

    schema = advisor_firm.firm.schema_name
    account_id = advisor_firm.accounts["AD-1"]
    base = advisor_firm.base(server_port)
    log_in(page, base, advisor_firm.email("advisor"))
    page.goto(f"{base}/accounts/{account_id}/design/")

    screen = page.locator("form[action$='/design/restrictions/']")
    screen.locator("[name=kind]").select_option("exclude_sector")
    screen.locator("[name=value]").fill("Energy")
    screen.locator("[name=reason]").fill("Client's fossil-free mandate")
    screen.locator("button[type=submit]").click()
    outside = page.locator("form[action$='/design/outside/']")
    outside.locator("[name=exposure_key]").fill("sector:Utilities")
    outside.locator("[name=weight]").fill("5")
    outside.locator("[name=reason]").fill("Utility shares held at another bank")
    outside.locator("button[type=submit]").click()
    profile = page.locator("form[action$='/profile/']")
    profile.locator("[name=withdrawal_amount]").fill("2,500")
    profile.locator("[name=withdrawal_frequency]").select_option("monthly")
    profile.locator("[name=next_withdrawal_on]").fill(
        (advisor_firm.today + timedelta(days=20)).isoformat()
    )
    profile.locator("[name=state_rate]").fill("5.5")
    profile.locator("[name=budget_kind]").select_option("gains")
    profile.locator("[name=annual_budget_amount]").fill("12,500")
    profile.locator("[name=transition_years]").fill("2")
    profile.locator("button[type=submit]").click()
    assert "Saved:" in page.locator(".messages").inner_text()
    screenshot(page, "advisor-01-design")

    design = page.locator("main").inner_text()
    assert "Client's fossil-free mandate" in design
    assert "5.00%" in design  # the outside weight, read back in percent
    assert page.locator("form[action$='/profile/'] [name=state_rate]").input_value() == "5.5"
    with django_db_blocker.unblock(), schema_context(schema):
        account = Account.objects.get(pk=account_id)
        assert (account.withdrawal_amount, account.state_rate) == (Decimal(2500), Decimal("0.055"))
        assert (account.budget_kind, account.annual_budget_amount) == ("gains", Decimal(12500))
        assert account.transition_years == 2
        screen_row = Restriction.objects.get(account=account)
        assert (screen_row.kind, screen_row.value) == ("exclude_sector", "Energy")
        assert OutsideHolding.objects.get(account=account).weight == Decimal("0.05")

    page.click("text=Preview the rebalance")
    page.wait_for_selector("text=Proposed trades")
    trades = page.locator("table").last.inner_text()
    assert "ADA" in trades and "restriction" in trades  # the energy names go, with the reason
    screenshot(page, "advisor-02-preview")
    page.click("text=Submit for review")
    page.wait_for_selector("text=Pending approval")
    screenshot(page, "advisor-03-submitted")
    with django_db_blocker.unblock(), schema_context(schema):
        proposal = Proposal.objects.get(account_id=account_id)
        assert proposal.status == ProposalStatus.PENDING_APPROVAL
        sold = set(proposal.trades.filter(side="sell").values_list("symbol", flat=True))
        assert {"ADA", "ADC"} <= sold
