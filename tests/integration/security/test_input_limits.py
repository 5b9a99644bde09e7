"""No 500 from any input: every value outside what storage holds is refused with a clear error.

The limits live in ``apps.common.limits``; each test here sends one of the inputs that answered
500 (or was silently accepted) before they existed, through the door a user would use.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.access.roles import Role
from apps.accounts.models import Account, Household, TaxLot, Transaction
from apps.accounts.services.imports import custodian_file_import
from apps.common import limits
from apps.ingest.problems import FileRejectedError
from apps.securities.models import Security
from apps.trading.models import RebalanceRun
from tests.conftest import api_client, login_client

LOTS_HEADER = "account_number,custodian,lot_id,symbol,shares,cost_basis,acquired_date\n"
TRANSACTIONS_HEADER = "account_number,custodian,external_id,trade_date,kind,symbol,shares,amount\n"
ARABIC_123 = "\u0661\u0662\u0663"  # Arabic-Indic digits one, two, three

# Every API list (GET, paginated) of a firm host.
API_LISTS = (
    "/api/v1/accounts/",
    "/api/v1/households/",
    "/api/v1/models/",
    "/api/v1/orders/",
    "/api/v1/proposals/",
    "/api/v1/reports/batches/",
    "/api/v1/restrictions/",
    "/api/v1/runs/",
    "/api/v1/securities/",
    "/api/v1/trade-files/",
    "/api/v1/users/",
)


@pytest.fixture
def book(firm_a):
    Security.objects.get_or_create(symbol="AAPL", defaults={"name": "Apple"})
    household = Household.objects.create(external_id="H1", name="Smith family")
    account = Account.objects.create(
        household=household, custodian="schwab", number="111", name="Joint", registration="taxable"
    )
    return {"household": household, "account": account}


def _import(text: str, kind: str):
    return custodian_file_import(
        kind=kind, layout="generic", content=text.encode(), filename="f.csv", acting_user=None
    )


def _problems(text: str, kind: str) -> str:
    """Every problem of a refused file, one ``line N: field: reason`` a line."""
    with pytest.raises(FileRejectedError) as caught:
        _import(text, kind)
    return "\n".join(f"line {p.line}: {p.field}: {p.reason}" for p in caught.value.report.problems)


# --- shares and money: what the generated bigint columns hold ------------------------------------


def test_shares_limit_is_derived_from_the_shares_micro_column():
    # TaxLot.shares_micro = shares x 10^6 in a bigint: the largest share count it holds.
    assert Decimal(2**63 - 1) / 10**6 > limits.SHARES_MAX
    assert Decimal(2**63 - 1) / 100 > limits.MONEY_MAX  # TaxLot.basis_cents


@pytest.mark.parametrize("shares", ["99999999999999", "9223372036855"])
def test_lots_file_with_more_shares_than_storage_holds_is_refused_on_its_line(book, shares):
    text = LOTS_HEADER + f"111,schwab,L1,AAPL,{shares},100.00,2021-01-04\n"
    assert f"line 2: shares: '{shares}' is too large" in _problems(text, "lots")
    assert TaxLot.objects.count() == 0


def test_lots_file_with_huge_shares_is_refused_by_the_upload_page_and_the_command(
    book, firms, tmp_path, capsys
):
    text = LOTS_HEADER + "111,schwab,L1,AAPL,99999999999999,100.00,2021-01-04\n"
    upload = SimpleUploadedFile("lots.csv", text.encode(), content_type="text/csv")
    response = login_client(firms["a"], Role.TRADER).post(
        "/imports/", {"kind": "lots", "layout": "generic", "file": upload}
    )
    assert response.status_code == 400
    assert b"too large" in response.content
    path = tmp_path / "lots.csv"
    path.write_text(text)
    with pytest.raises(SystemExit) as caught:
        call_command("import_custodian", "--firm", "firm_a", "--kind", "lots", str(path))
    assert caught.value.code == 2
    assert "too large" in capsys.readouterr().err
    assert TaxLot.objects.count() == 0


def test_non_ascii_digits_are_refused_in_imports(book):
    text = LOTS_HEADER + f"111,schwab,L1,AAPL,{ARABIC_123},100.00,2021-01-04\n"
    assert "is not a number" in _problems(text, "lots")
    text = LOTS_HEADER + f"111,schwab,L1,AAPL,10,{ARABIC_123}.00,2021-01-04\n"
    assert "is not a number" in _problems(text, "lots")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01"])
def test_trade_dates_outside_the_supported_years_are_refused(book, day):
    text = TRANSACTIONS_HEADER + f"111,schwab,d1,{day},deposit,,,100.00\n"
    assert "between 1900-01-01 and 2200-12-31" in _problems(text, "transactions")
    assert Transaction.objects.count() == 0


# --- query strings ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", API_LISTS)
@pytest.mark.parametrize(
    "query",
    [
        "limit=100000000000000000000",
        "limit=1e20",
        "offset=-335655&limit=552783872144783441920",
        "offset=100000000000000000000",
        "limit=0",
        "limit=-1",
    ],
)
def test_pagination_outside_its_range_is_a_400(firms, db, url, query):
    response = api_client(firms["a"], Role.FIRM_ADMIN).get(f"{url}?{query}")
    assert response.status_code == 400, response.content[:300]
    assert {"limit", "offset"} & set(response.json())


def test_pagination_within_its_range_answers(firms, db):
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    for url in API_LISTS:
        response = client.get(f"{url}?limit={limits.PAGE_LIMIT_MAX}&offset={limits.OFFSET_MAX}")
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/securities/%00/",
        "/api/v1/proposals/?status=%00",
        "/api/v1/orders/?status=%00",
        "/api/v1/orders/?custodian=a%01b",
        "/api/v1/accounts/?search=%00",
        "/api/v1/models/?search=%00",
    ],
)
def test_nul_and_control_characters_in_api_urls_are_a_400(firms, db, url):
    response = api_client(firms["a"], Role.FIRM_ADMIN).get(url)
    assert response.status_code == 400
    assert "control character" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/audit/?action=%00",
        "/accounts/?q=%00",
        "/accounts/?registration=%00",
        "/models/?q=%00",
        "/runs/?page=%00",
        "/reports/?page=%1f",
    ],
)
def test_nul_and_control_characters_in_page_urls_are_a_400(firms, db, url):
    response = login_client(firms["a"], Role.FIRM_ADMIN).get(url)
    assert response.status_code == 400
    assert b"control character" in response.content


def test_non_ascii_digits_in_query_strings_are_a_400(firms, db):
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    response = client.get(f"/api/v1/accounts/?household={ARABIC_123}")
    assert response.status_code == 400
    assert "digits other than 0-9" in response.json()["detail"]


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_preview_as_of_outside_the_supported_years_is_a_400(book, firms, as_of):
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    response = client.get(f"/accounts/{book['account'].pk}/preview/?as_of={as_of}")
    assert response.status_code == 400
    assert b"between 1900-01-01 and 2200-12-31" in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/securities/AAPL/?as_of=0001-01-01",
        "/api/v1/accounts/{account}/effective-target/?as_of=9999-12-31",
        "/api/v1/restrictions/?as_of=0001-01-01",
        "/api/v1/reports/taxes-saved/?as_of=0001-01-01",
    ],
)
def test_api_as_of_outside_the_supported_years_is_a_400(book, firms, url):
    url = url.format(account=book["account"].pk)
    response = api_client(firms["a"], Role.FIRM_ADMIN).get(url)
    assert response.status_code == 400
    assert "as_of" in response.json()


# --- lists of ids -------------------------------------------------------------------------------


def test_run_scope_ids_beyond_the_limit_are_a_400(book, firms):
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    ids = list(range(1, 65_538))
    response = client.post("/api/v1/runs/", {"scope": "accounts", "scope_ids": ids}, format="json")
    assert response.status_code == 400
    assert "scope_ids" in response.json()
    assert not RebalanceRun.objects.exists()


def test_report_batch_account_ids_beyond_the_limit_are_a_400(book, firms):
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    ids = list(range(1, 70_001))
    response = client.post(
        "/api/v1/reports/batches/", {"kind": "client", "account_ids": ids}, format="json"
    )
    assert response.status_code == 400
    assert "account_ids" in response.json()


def test_report_batch_with_the_most_account_ids_allowed_is_accepted(book, firms):
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    ids = [book["account"].pk, *range(10**7, 10**7 + limits.IDS_MAX - 1)]
    response = client.post(
        "/api/v1/reports/batches/", {"kind": "client", "account_ids": ids}, format="json"
    )
    assert response.status_code == 201, response.content[:300]


# --- account settings: one range per field, on the model -----------------------------------------

OUT_OF_RANGE = [
    ("harvest_threshold_rate", "-5"),
    ("harvest_threshold_rate", "2"),
    ("drift_tolerance_rate", "-5"),
    ("drift_tolerance_rate", "2"),
    ("annual_budget_amount", "-1.00"),
    ("short_term_gains_budget_amount", "-1.00"),
    ("long_term_gains_budget_amount", "-1.00"),
    ("carryforward_short_amount", "-1.00"),
    ("carryforward_long_amount", "-1.00"),
    ("min_trade_amount", "-1.00"),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_out_of_range_settings_are_refused_by_the_model(book, field, value):
    account = book["account"]
    setattr(account, field, Decimal(value))
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert field in caught.value.message_dict


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_out_of_range_settings_are_refused_by_the_api(book, firms, field, value):
    account = book["account"]
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    response = client.patch(f"/api/v1/accounts/{account.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    before = getattr(account, field)
    account.refresh_from_db()
    assert getattr(account, field) == before


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_out_of_range_settings_are_refused_by_the_accounts_file(book, field, value):
    header = "household_id,household_name,account_number,custodian,name,registration"
    text = f"{header},{field}\nH1,Smith family,111,schwab,Joint,taxable,{value}\n"
    assert field in _problems(text, "accounts")


def test_non_ascii_digits_are_refused_by_the_api(book, firms):
    account = book["account"]
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    response = client.patch(
        f"/api/v1/accounts/{account.pk}/", {"min_trade_amount": ARABIC_123}, format="json"
    )
    assert response.status_code == 400
    account.refresh_from_db()
    assert account.min_trade_amount == Decimal("100")


def test_non_ascii_digits_are_refused_by_the_profile_form(book, firms):
    account = book["account"]
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    response = client.post(f"/accounts/{account.pk}/profile/", {"min_trade_amount": ARABIC_123})
    assert response.status_code == 400
    account.refresh_from_db()
    assert account.min_trade_amount == Decimal("100")
