"""Account pages and API: holdings, lots, realized summary with carryforward and budget, 8949."""

import csv
import io
from decimal import Decimal

import pytest
import time_machine

from apps.access.roles import Role
from apps.accounts.selectors import household_realized_summary, realized_summary
from tests.conftest import api_client, login_client

TODAY = "2024-07-01 14:00:00-04:00"


def test_realized_summary_nets_carryforward_and_uses_the_budget(book):
    summary = realized_summary(account=book["taxable"], year=2024)
    assert summary.short_term == Decimal("-400.00")  # -1000 loss, 600 disallowed
    assert summary.long_term == Decimal("600.00")
    assert summary.disallowed == Decimal("600.00")
    # Long-term 600 less the 1,000 long-term carryforward = -400; short-term -400: net -800.
    assert summary.net_long_term == Decimal("-400.00")
    assert summary.net_capital == Decimal("-800.00")
    assert summary.estimated_tax == Decimal("-320.00")  # 800 deducted at 35% + 5%
    assert summary.budget_used == Decimal("0.00")
    assert summary.budget_left == Decimal("5000.00")
    assert summary.carryover_out_long == Decimal("0.00")


def test_other_year_ignores_this_years_carryforward(book):
    summary = realized_summary(account=book["taxable"], year=2025)
    assert summary.carryforward_long == Decimal("0")
    assert summary.net_capital == Decimal("0")


def test_household_summary_covers_taxable_accounts_only(book):
    summary = household_realized_summary(household=book["household"], year=2024)
    assert summary is not None
    assert summary.net_capital == Decimal("-800.00")


@time_machine.travel(TODAY, tick=False)
def test_account_page_shows_holdings_lots_and_realized(firms, book):
    page = login_client(firms["a"], Role.VIEWER).get(f"/accounts/{book['taxable'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Rivera joint" in html
    assert "basis missing" not in html
    assert "<svg" in html  # weights chart
    assert "b-m2" in html and "W" in html


def test_account_list_search(firms, book):
    client = login_client(firms["a"], Role.ADVISOR)
    html = client.get("/accounts/?q=rivera").content.decode()
    assert "Rivera joint" in html and "Rivera IRA" in html
    html = client.get("/accounts/?registration=traditional_ira").content.decode()
    assert "Rivera IRA" in html and "Rivera joint" not in html


def test_account_search_matches_name_number_or_household_case_insensitively(book):
    from apps.accounts.models import Account, Household
    from apps.accounts.selectors import account_list

    other = Household.objects.create(external_id="H-2", name="Okafor family")
    Account.objects.create(household=other, custodian="schwab", number="77-OK", name="Trust")
    rivera = {book["taxable"].pk, book["ira"].pk}

    def found(search: str) -> set[int]:
        return set(account_list(search=search).values_list("pk", flat=True))

    assert found("rivera j") == {book["taxable"].pk}  # the account's name
    assert found("1002") == {book["ira"].pk}  # its number
    assert found("RIVERA HOUSE") == rivera  # its household's name only
    assert found("okafor") == found("7-ok") == found("TRUST") != set()
    assert found("okafor").isdisjoint(rivera)


def test_account_search_reads_the_trigram_indexes(book):
    """Each searched column is read through its trigram index when whole-table reads are dear.

    (A two-account table is read whole by choice; seq and plain index scans are switched off so
    the plan shows what a large book's would use.)"""
    from django.db import connection

    from apps.accounts.selectors import account_list

    sql, params = account_list(search="rivera").values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("account_name_trgm", "account_number_trgm", "household_name_trgm"):
        assert index in plan, plan


def test_form8949_csv_rows(firms, book):
    response = login_client(firms["a"], Role.VIEWER).get(
        f"/accounts/{book['taxable'].pk}/form8949.csv?year=2024"
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    washed = next(r for r in rows if r["code"] == "W")
    assert washed["part"] == "I"
    assert washed["description"] == "100 sh. M"
    assert (washed["proceeds"], washed["cost_basis"], washed["adjustment"]) == (
        "2000.00",
        "3000.00",
        "600.00",
    )
    assert washed["gain_or_loss"] == "-400.00"
    long_row = next(r for r in rows if r["part"] == "II")
    assert long_row["gain_or_loss"] == "600.00"


def test_api_lists_lots_and_summary_with_decimal_strings(firms, book):
    client = api_client(firms["a"], Role.VIEWER)
    pk = book["taxable"].pk
    lots = client.get(f"/api/v1/accounts/{pk}/lots/").json()["results"]
    m2 = next(lot for lot in lots if lot["lot_key"] == "b-m2")
    assert m2["adjusted_basis_amount"] == "1900.00"
    assert m2["wash_adjustment_amount"] == "600.00"
    summary = client.get(f"/api/v1/accounts/{pk}/realized/summary/?year=2024").json()
    assert summary["net_capital"] == "-800.00"
    assert client.get(f"/api/v1/accounts/{pk}/realized/?year=20x4").status_code == 400


def test_profile_patch_needs_design_role_and_is_audited(firms, book):
    from apps.access.models import AuditEvent

    pk = book["taxable"].pk
    viewer = api_client(firms["a"], Role.VIEWER)
    assert (
        viewer.patch(f"/api/v1/accounts/{pk}/", {"cash_reserve_amount": "2500"}).status_code == 403
    )
    advisor = api_client(firms["a"], Role.ADVISOR)
    response = advisor.patch(
        f"/api/v1/accounts/{pk}/",
        {"cash_reserve_amount": "2500.00", "withdrawal_frequency": "monthly"},
        format="json",
    )
    assert response.status_code == 400  # a schedule needs an amount and a next date
    response = advisor.patch(
        f"/api/v1/accounts/{pk}/",
        {
            "cash_reserve_amount": "2500.00",
            "withdrawal_frequency": "monthly",
            "withdrawal_amount": "5000.00",
            "next_withdrawal_on": "2024-08-01",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["cash_reserve_amount"] == "2500.00"
    event = AuditEvent.objects.get(action="account.update_profile")
    assert event.payload["withdrawal_amount"] == {"before": "0.00", "after": "5000.00"}


def test_firm_b_cannot_read_firm_a_accounts(firms, book):
    pk = book["taxable"].pk
    b = api_client(firms["b"], Role.FIRM_ADMIN)
    assert b.get(f"/api/v1/accounts/{pk}/").status_code == 404
    assert b.get(f"/api/v1/accounts/{pk}/lots/").status_code == 404
    assert b.get("/api/v1/accounts/").json()["count"] == 0
    page = login_client(firms["b"], Role.FIRM_ADMIN).get(f"/accounts/{pk}/form8949.csv?year=2024")
    assert page.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/households/"])
def test_list_queries_are_bounded(firms, book, django_assert_max_num_queries, path):
    client = api_client(firms["a"], Role.VIEWER)
    client.get(path)  # the token's first use is recorded (a write at most once a minute)
    with django_assert_max_num_queries(8):
        assert client.get(path).status_code == 200
