from decimal import Decimal

import pytest

from apps.taxlots.estimate import estimated_tax
from apps.taxlots.rules import FilingStatus, schedule_d_year

ST, LT = Decimal("0.40"), Decimal("0.20")


def _year(st: str, lt: str, cf_st: str = "0", cf_lt: str = "0", status=FilingStatus.SINGLE):
    return schedule_d_year(
        year=2024,
        filing_status=status,
        short_term_net=Decimal(st),
        long_term_net=Decimal(lt),
        carryover_in_short_term=Decimal(cf_st),
        carryover_in_long_term=Decimal(cf_lt),
    )


@pytest.mark.parametrize(
    ("st", "lt", "expected"),
    [
        ("1000", "2000", "800.00"),  # both gains: each at its own rate
        ("-500", "2000", "300.00"),  # ST loss nets against LT gain, taxed at LT rate
        ("1000", "-400", "240.00"),  # LT loss nets against ST gain, taxed at ST rate
        ("-1000", "-500", "-600.00"),  # 1,500 net loss deducted against ordinary income
        ("-10000", "0", "-1200.00"),  # deduction capped at 3,000
        ("0", "0", "0.00"),
    ],
)
def test_estimated_tax_follows_schedule_d_character(st, lt, expected):
    assert estimated_tax(_year(st, lt), short_rate=ST, long_rate=LT) == Decimal(expected)


def test_carryforward_offsets_gains_before_tax():
    year = _year("0", "5000", cf_lt="4000")
    assert estimated_tax(year, short_rate=ST, long_rate=LT) == Decimal("200.00")


def test_married_filing_separately_limit_is_1500():
    year = _year("-10000", "0", status=FilingStatus.MARRIED_FILING_SEPARATELY)
    assert estimated_tax(year, short_rate=ST, long_rate=LT) == Decimal("-600.00")
