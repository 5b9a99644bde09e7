"""Long account lists page through keys (common.pagination): same rows, same order, all rows."""

from apps.access.roles import Role
from apps.accounts.models import Account, Household
from tests.conftest import api_client, login_client

ACCOUNTS = 120


def _accounts() -> list[int]:
    """120 accounts whose (custodian, number) order differs from their id order."""
    household = Household.objects.create(external_id="H-PAGES", name="Paged household")
    Account.objects.bulk_create(
        Account(
            household=household,
            custodian=("schwab", "fidelity")[i % 2],
            number=f"{(i * 37) % ACCOUNTS:04d}",
            name=f"Paged {i:03d}",
            registration="taxable",
        )
        for i in range(ACCOUNTS)
    )
    return list(Account.objects.order_by("custodian", "number").values_list("pk", flat=True))


def test_account_list_page_keeps_the_order_and_every_row(firm_a):
    ordered = _accounts()
    client = login_client(firm_a, Role.VIEWER)
    seen = []
    for number in (1, 2, 3):
        page = client.get(f"/accounts/?page={number}").context["page"]
        assert page.paginator.count == ACCOUNTS
        assert all(isinstance(a, Account) for a in page)
        seen += [a.pk for a in page]
    assert seen == ordered
    assert page[0].household.name == "Paged household"  # select_related kept


def test_account_list_api_keeps_the_order_and_every_row(firm_a):
    ordered = _accounts()
    client = api_client(firm_a, Role.VIEWER)
    seen = []
    for offset in (0, 50, 100):
        body = client.get(f"/api/v1/accounts/?limit=50&offset={offset}").json()
        assert body["count"] == ACCOUNTS
        seen += [row["id"] for row in body["results"]]
    assert seen == ordered
