"""Funds in the securities master: dated look-through holdings and their constraints."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.securities.models import FundHolding, Security, SecurityKind
from apps.securities.selectors import fund_holdings_get


@pytest.fixture
def funds(db):
    made = Security.objects.bulk_create(
        [
            Security(symbol="AAPL", name="Apple"),
            Security(symbol="MSFT", name="Microsoft"),
            Security(symbol="XOM", name="Exxon"),
            Security(symbol="LCF", name="Large-cap fund", kind=SecurityKind.ETF),
            Security(symbol="NOHOLD", name="No holdings", kind=SecurityKind.MUTUAL_FUND),
        ]
    )
    aapl, msft, xom, lcf, _ = made
    rows = [
        (date(2024, 1, 2), aapl, "0.6"),
        (date(2024, 1, 2), msft, "0.4"),
        (date(2024, 3, 1), aapl, "0.5"),
        (date(2024, 3, 1), msft, "0.3"),
        (date(2024, 3, 1), xom, "0.2"),
    ]
    FundHolding.objects.bulk_create(
        [FundHolding(fund=lcf, as_of=d, holding=h, weight=Decimal(w)) for d, h, w in rows]
    )
    return {s.symbol: s for s in made}


def test_fund_holdings_get_reads_the_latest_holdings_on_or_before_the_date(
    funds, django_assert_num_queries
):
    with django_assert_num_queries(1):
        before = fund_holdings_get(funds=["LCF", "NOHOLD", "AAPL"], as_of=date(2024, 2, 29))
    assert before == {"LCF": {"AAPL": Decimal("0.6"), "MSFT": Decimal("0.4")}}
    after = fund_holdings_get(funds=["LCF"], as_of=date(2024, 3, 1))
    assert after == {"LCF": {"AAPL": Decimal("0.5"), "MSFT": Decimal("0.3"), "XOM": Decimal("0.2")}}
    assert fund_holdings_get(funds=["LCF"], as_of=date(2024, 1, 1)) == {}


@pytest.mark.parametrize("weight", ["0", "1.5"])
def test_a_holding_weight_outside_0_1_is_refused_by_the_database(funds, weight):
    with pytest.raises(IntegrityError), transaction.atomic():
        FundHolding.objects.create(
            fund=funds["LCF"], as_of=date(2024, 5, 1), holding=funds["XOM"], weight=Decimal(weight)
        )


def test_a_fund_cannot_hold_itself(funds):
    with pytest.raises(IntegrityError), transaction.atomic():
        FundHolding.objects.create(
            fund=funds["LCF"], as_of=date(2024, 5, 1), holding=funds["LCF"], weight=Decimal("0.1")
        )
