"""A viewer's day: reads the dashboard, the accounts, an account, the runs and the approvals;
finds no form or button that changes anything, and each change posted by hand is refused with
nothing changed in the database."""

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from tests.browser.books import BookFirm, book_firm, book_run_executed
from tests.browser.conftest import log_in, post_status, screenshot

pytestmark = pytest.mark.browser
SYMBOLS = {
    "VWA": ("Energy", "Oil & Gas", []),
    "VWB": ("Utilities", "Electric Utilities", []),
    "VWC": ("Materials", "Chemicals", []),
    "VWD": ("Industrials", "Machinery", []),
}
ACCOUNTS = (
    ("Okafor family", "Okafor trust", "VW-1"),
    ("Lindqvist family", "Lindqvist IRA", "VW-2"),
)


@pytest.fixture(scope="module")
def viewer_firm(django_db_setup, django_db_blocker) -> Iterator[tuple[BookFirm, int]]:
    """Two accounts and one executed book run (its proposals wait for a trader)."""
    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_vw", name="Viewer Day Capital", symbols=SYMBOLS, accounts=ACCOUNTS, seed=7
        ) as firm,
    ):
        yield firm, book_run_executed(firm.firm)


def _state(schema: str) -> tuple:
    from apps.restrictions.models import Restriction
    from apps.trading.models import Proposal, RebalanceRun

    with schema_context(schema):
        return (
            RebalanceRun.objects.count(),
            Restriction.objects.count(),
            sorted(Proposal.objects.values_list("pk", "status")),
        )


def test_viewer_reads_the_book_and_cannot_change_it(
    viewer_firm, server_port, page, django_db_blocker
):
    firm, run_id = viewer_firm
    base = firm.base(server_port)
    account = firm.accounts["VW-1"]
    log_in(page, base, firm.email("viewer"))
    assert "Viewer Day Capital" in page.locator("header").inner_text()
    dashboard = page.locator("main").inner_text()
    assert f"#{run_id}" in dashboard  # the last runs
    screenshot(page, "viewer-01-dashboard")

    page.click("nav >> text=Accounts")
    listing = page.locator("main").inner_text()
    assert "Okafor trust" in listing and "Lindqvist IRA" in listing
    page.click("text=Okafor trust")
    assert "VWA" in page.locator("main").inner_text()  # its holdings
    page.click("nav >> text=Runs")
    assert f"#{run_id}" in page.locator("main").inner_text()
    page.goto(f"{base}/runs/{run_id}/")
    assert "Okafor trust" in page.locator("main").inner_text()  # its proposals
    page.goto(f"{base}/approvals/")
    assert "Lindqvist IRA" in page.locator("main").inner_text()
    screenshot(page, "viewer-02-approvals")

    # No form that changes anything: only the log-out form is on each page.
    for path in ("/", "/accounts/", f"/accounts/{account}/", f"/accounts/{account}/design/",
                 "/runs/", f"/runs/{run_id}/", "/approvals/", "/orders/", "/models/"):  # fmt: skip
        page.goto(f"{base}{path}")
        assert page.locator("form[method=post]").count() == 1, path
        assert (
            page.locator("main button:text-matches('Approve|Start run|Add|Save|Submit')").count()
            == 0
        ), path

    with django_db_blocker.unblock():
        proposal_ids = [str(pk) for pk, _ in _state(firm.firm.schema_name)[2]]
        before = _state(firm.firm.schema_name)
    refused = {
        "/runs/": {"target": "book", "mode": "full_rebalance", "as_of": str(firm.today)},
        "/approvals/": {"proposal_ids": proposal_ids[0], "decision": "approve"},
        f"/accounts/{account}/design/restrictions/": {
            "scope": "account", "kind": "exclude_security", "value": "VWA",
            "starts_on": str(firm.today),
        },
        "/orders/create/": {},
        "/users/": {"email": "x@firm-vw.test", "password": "Another-Horse-77", "role": "viewer"},
    }  # fmt: skip
    for path, data in refused.items():
        assert post_status(page, path, data) == 403, path
    with django_db_blocker.unblock():
        assert _state(firm.firm.schema_name) == before
