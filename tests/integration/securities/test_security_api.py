"""The read-only securities API on a firm's host: list, filters, pagination, detail."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.access.roles import Role
from apps.securities.models import Price, Security, SecurityKind
from tests.conftest import api_client


@pytest.fixture
def client(firms, db):
    Security.objects.bulk_create(
        [
            Security(
                symbol="AAPL", name="Apple", sector="Information Technology", industry="Software"
            ),
            Security(
                symbol="MO",
                name="Altria",
                sector="Consumer Staples",
                industry="Tobacco",
                esg_tags=["tobacco"],
            ),
            Security(
                symbol="PM",
                name="Philip Morris",
                sector="Consumer Staples",
                industry="Tobacco",
                esg_tags=["tobacco"],
            ),
            Security(
                symbol="KO", name="Coca-Cola", sector="Consumer Staples", industry="Beverages"
            ),
            Security(symbol="SPY", name="SPDR S&P 500", kind=SecurityKind.ETF),
            Security(symbol="OLD", name="Delisted", is_active=False),
        ]
    )
    aapl = Security.objects.get(symbol="AAPL")
    Price.objects.bulk_create(
        [
            Price(
                security=aapl, priced_on=date(2024, 1, 2), close_price=Decimal("185.64"), source="t"
            ),
            Price(
                security=aapl, priced_on=date(2024, 1, 3), close_price=Decimal("184.25"), source="t"
            ),
        ]
    )
    return api_client(firms["a"], Role.VIEWER)


def _symbols(response) -> list[str]:
    return [row["symbol"] for row in response.json()["results"]]


def test_list_shows_active_securities_paginated(client):
    url = reverse("api-security-list")
    assert url == "/api/v1/securities/"
    response = client.get(url, {"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert _symbols(response) == ["AAPL", "KO"]
    assert body["next"]
    assert _symbols(client.get(url, {"limit": 2, "offset": 4})) == ["SPY"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sector": "consumer staples"}, ["KO", "MO", "PM"]),
        ({"industry": "Tobacco"}, ["MO", "PM"]),
        ({"esg_tag": "tobacco"}, ["MO", "PM"]),
        ({"symbol": "ko,aapl"}, ["AAPL", "KO"]),
        ({"kind": "etf"}, ["SPY"]),
        ({"search": "coca"}, ["KO"]),
    ],
)
def test_list_filters(client, params, expected):
    response = client.get(reverse("api-security-list"), params)
    assert response.status_code == 200
    assert _symbols(response) == expected


def test_list_rejects_an_unknown_esg_tag(client):
    response = client.get(reverse("api-security-list"), {"esg_tag": "guns"})
    assert response.status_code == 400


def test_detail_has_the_latest_price_as_a_string(client):
    response = client.get(reverse("api-security-detail", args=["aapl"]))
    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "AAPL"
    assert body["latest_price"]["close_price"] == "184.250000"
    assert body["latest_price"]["priced_on"] == "2024-01-03"
    as_of = client.get(reverse("api-security-detail", args=["AAPL"]), {"as_of": "2024-01-02"})
    assert as_of.json()["latest_price"]["close_price"] == "185.640000"


def test_detail_of_a_security_without_prices_and_of_an_unknown_symbol(client):
    assert client.get(reverse("api-security-detail", args=["KO"])).json()["latest_price"] is None
    assert client.get(reverse("api-security-detail", args=["NOPE"])).status_code == 404


def test_the_api_is_read_only(client):
    response = client.post(reverse("api-security-list"), {"symbol": "X"}, format="json")
    assert response.status_code == 405
    assert not Security.objects.filter(symbol="X").exists()


def test_anonymous_requests_are_refused(client, firms):
    from rest_framework.test import APIClient

    anonymous = APIClient(HTTP_HOST=firms["a"].host)
    assert anonymous.get(reverse("api-security-list")).status_code in (401, 403)


def test_list_query_count_does_not_grow_with_rows(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(reverse("api-security-list"))  # the token's first use is recorded (one write)
    counts = []
    for limit in (1, 50):
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("api-security-list"), {"limit": limit})
        counts.append(len(captured))
    assert counts[0] == counts[1]
    assert counts[1] <= 10


@pytest.fixture
def fund(client):
    from apps.securities.models import FundHolding

    lcf = Security.objects.create(
        symbol="LCFMX",
        name="Large-cap mutual fund",
        kind=SecurityKind.MUTUAL_FUND,
        tracked_index="Large-Cap 100",
        expense_ratio_rate=Decimal("0.0045"),
        min_holding_days=60,
    )
    others = [Security.objects.create(symbol=f"S{i:02d}", name=f"Stock {i}") for i in range(22)]
    FundHolding.objects.bulk_create(
        [
            FundHolding(fund=lcf, as_of=date(2024, 1, 2), holding=s, weight=Decimal("0.04"))
            for s in others
        ]
        + [
            FundHolding(
                fund=lcf,
                as_of=date(2023, 6, 30),
                holding=Security.objects.get(symbol="KO"),
                weight=Decimal("1"),
            ),
            FundHolding(
                fund=lcf,
                as_of=date(2024, 1, 2),
                holding=Security.objects.get(symbol="AAPL"),
                weight=Decimal("0.1"),
            ),
        ]
    )
    return lcf


def test_detail_of_a_fund_has_its_terms_and_top_20_holdings_as_strings(fund, client):
    body = client.get(reverse("api-security-detail", args=["lcfmx"])).json()
    assert (body["kind"], body["tracked_index"], body["min_holding_days"]) == (
        "mutual_fund",
        "Large-Cap 100",
        60,
    )
    assert body["expense_ratio_rate"] == "0.00450000"
    holdings = body["holdings"]
    assert (holdings["as_of"], holdings["count"], holdings["total_weight"]) == (
        "2024-01-02",
        23,
        "0.98000000",
    )
    assert len(holdings["top"]) == 20
    assert holdings["top"][0] == {"symbol": "AAPL", "name": "Apple", "weight": "0.10000000"}
    earlier = client.get(reverse("api-security-detail", args=["LCFMX"]), {"as_of": "2023-12-31"})
    assert earlier.json()["holdings"]["top"] == [
        {"symbol": "KO", "name": "Coca-Cola", "weight": "1.00000000"}
    ]
    stock = client.get(reverse("api-security-detail", args=["AAPL"])).json()
    assert (stock["holdings"], stock["expense_ratio_rate"], stock["tracked_index"]) == (
        None,
        None,
        "",
    )


def test_the_security_page_shows_a_fund_and_its_holdings(fund, firms):
    from tests.conftest import login_client

    page = login_client(firms["a"], Role.VIEWER).get("/securities/lcfmx/").content.decode()
    assert "Large-Cap 100" in page
    assert "0.45% a year" in page
    assert "60 days" in page
    assert "Holdings as of 2024-01-02" in page
    assert "The largest 20 of 23 holdings" in page
    assert '<a href="/securities/AAPL/">AAPL</a></td><td>Apple</td><td class="num">10.00%' in page
    assert login_client(firms["a"], Role.VIEWER).get("/securities/NOPE/").status_code == 404
