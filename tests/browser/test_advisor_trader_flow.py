"""The whole loop in a real browser on a firm's own host.

An advisor designs a tobacco-free solution with a $5,000 monthly withdrawal and a three-year
transition, previews and submits it; a trader approves it, makes block orders and downloads the
trade file; a viewer cannot approve; firm B's user cannot open firm A's account. Screenshots of
every main page land in artifacts/screenshots/.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.browser.books import book_firm
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
SYMBOLS = {
    "UIA": ("Energy", "Oil & Gas", []),
    "UIB": ("Energy", "Oil & Gas", []),
    "UIC": ("Consumer Staples", "Tobacco", ["tobacco"]),
    "UID": ("Consumer Staples", "Food Products", []),
    "UIE": ("Utilities", "Electric Utilities", []),
    "UIF": ("Utilities", "Electric Utilities", []),
}


@pytest.fixture(scope="module")
def ui_firm(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """A committed firm: six priced names (one tobacco), a model, one household with lots."""
    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_ui",
            name="Browser Flow Wealth",
            symbols=SYMBOLS,
            accounts=(("Garcia family", "Garcia joint", "UI-100"),),
            seed=3,
        ) as firm,
    ):
        yield {
            "firm": firm.firm,
            "account_id": firm.accounts["UI-100"],
            "host": firm.host,
            "today": firm.today,
        }


def test_design_preview_submit_approve_and_download(ui_firm, server_port, chromium, tmp_path):
    base = f"http://{ui_firm['host']}:{server_port}"
    account = ui_firm["account_id"]

    advisor = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(advisor, base, "advisor@firm-ui.test")
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
    log_in(viewer, base, "viewer@firm-ui.test")
    viewer.goto(f"{base}/approvals/")
    assert viewer.locator("text=Approve selected").count() == 0
    viewer.click("text=Garcia joint")
    assert viewer.locator("button:has-text('Approve')").count() == 0

    trader = chromium.new_context(accept_downloads=True).new_page()
    log_in(trader, base, "trader@firm-ui.test")
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
    log_in(other, b_base, "firm_admin@firm-b.test")
    response = other.goto(f"{b_base}/accounts/{account}/")
    assert response.status == 404
    response = other.goto(f"{base}/accounts/{account}/")  # firm A's host: not logged in there
    assert "/login/" in other.url
