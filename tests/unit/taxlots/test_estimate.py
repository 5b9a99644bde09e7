from decimal import Decimal

import pytest

from apps.taxlots.estimate import budget_used, cap_used, combined_rate, estimated_tax
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


def test_a_state_rate_adds_to_both_terms() -> None:
    assert combined_rate(Decimal("0.37"), Decimal("0.093")) == Decimal("0.463")
    assert combined_rate(Decimal("0.20"), Decimal("0.093")) == Decimal("0.293")


@pytest.mark.parametrize(
    ("st", "lt", "in_tax", "expected"),
    [
        ("1000", "2000", False, "3000"),  # a gains budget counts the net capital gain
        ("-500", "2000", False, "1500"),  # a short-term loss offsets the long-term gain first
        ("-3000", "1000", False, "0"),  # a net loss uses nothing (not a negative use)
        ("1000", "2000", True, "800.00"),  # a tax budget counts the estimated tax
        ("-3000", "1000", True, "0"),  # a tax saving uses nothing
    ],
)
def test_what_a_year_uses_of_an_annual_budget(st, lt, in_tax, expected) -> None:
    year = _year(st, lt)
    tax = estimated_tax(year, short_rate=ST, long_rate=LT)
    assert budget_used(year, tax=tax, in_tax=in_tax) == Decimal(expected)


def test_a_cap_on_one_term_counts_its_net_gain_only() -> None:
    year = _year("-500", "2000")
    assert cap_used(year.net_short_term) == 0
    assert cap_used(year.net_long_term) == Decimal("2000")
