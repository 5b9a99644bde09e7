"""Schedule D netting and the Capital Loss Carryover Worksheet (Schedule D instructions)."""

from decimal import Decimal

import pytest

from apps.taxlots.errors import CarryforwardError
from apps.taxlots.rules import FilingStatus, YearInput, YearResult, carryforward


def year(
    y: int,
    short: int | str,
    long: int | str,
    carry_short: int | None = None,
    carry_long: int | None = None,
) -> YearInput:
    return YearInput(
        y,
        Decimal(short),
        Decimal(long),
        None if carry_short is None else Decimal(carry_short),
        None if carry_long is None else Decimal(carry_long),
    )


def figures(result: YearResult) -> tuple[int, ...]:
    return tuple(
        int(value)
        for value in (
            result.net_short_term,
            result.net_long_term,
            result.net_capital,
            result.deduction_against_ordinary_income,
            result.carryover_out_short_term,
            result.carryover_out_long_term,
        )
    )


def test_spec_example_short_term_gain_absorbs_long_term_loss() -> None:
    # docs/formats/tax-replay.md, tax_carryforward input.
    [result] = carryforward("single", [year(2023, 49017, -63149, 0, 0)])
    assert figures(result) == (49017, -63149, -14132, 3000, 0, 11132)


def test_short_term_loss_is_used_first_and_character_is_kept_across_years() -> None:
    # Worksheet lines 5-13: the deduction comes out of the short-term loss first.
    results = carryforward(
        FilingStatus.SINGLE,
        [
            year(2020, -10000, -5000),
            year(2021, 0, 0),
            year(2022, 0, 0),
            year(2023, 0, 0),
            year(2024, 0, 0),
        ],
    )
    assert [figures(r) for r in results] == [
        (-10000, -5000, -15000, 3000, 7000, 5000),
        (-7000, -5000, -12000, 3000, 4000, 5000),
        (-4000, -5000, -9000, 3000, 1000, 5000),
        (-1000, -5000, -6000, 3000, 0, 3000),  # 1,000 ST then 2,000 of LT deducted
        (0, -3000, -3000, 3000, 0, 0),
    ]
    assert results[1].carryover_in_short_term == Decimal(7000)
    assert results[1].carryover_in_long_term == Decimal(5000)


def test_married_filing_separately_limit_is_1500() -> None:
    results = carryforward(
        "married_filing_separately", [year(2023, -2000, -1000), year(2024, 0, 0)]
    )
    assert [figures(r) for r in results] == [
        (-2000, -1000, -3000, 1500, 500, 1000),
        (-500, -1000, -1500, 1500, 0, 0),
    ]


def test_gains_absorb_carryover_before_the_deduction() -> None:
    [result] = carryforward("single", [year(2023, 2000, 0, 0, 5000)])
    assert figures(result) == (2000, -5000, -3000, 3000, 0, 0)
    [result] = carryforward("married_filing_jointly", [year(2023, 1000, 0, 0, 5000)])
    assert figures(result) == (1000, -5000, -4000, 3000, 0, 1000)


def test_long_term_gain_absorbs_short_term_loss() -> None:
    [result] = carryforward("head_of_household", [year(2023, -9000, 2500)])
    # Worksheet: line 8 = 9,000 - (3,000 + 2,500) = 3,500 short-term carried.
    assert figures(result) == (-9000, 2500, -6500, 3000, 3500, 0)


def test_net_gain_has_no_deduction_and_no_carryover() -> None:
    [result] = carryforward("single", [year(2023, 5000, -2000, 1000, 0)])
    assert figures(result) == (4000, -2000, 2000, 0, 0, 0)


def test_cents_are_kept() -> None:
    [result] = carryforward("single", [year(2023, "-3000.01", "0")])
    assert result.deduction_against_ordinary_income == Decimal(3000)
    assert result.carryover_out_short_term == Decimal("0.01")


def test_stated_carryover_must_agree_with_the_previous_year() -> None:
    ok = carryforward("single", [year(2023, -4000, 0), year(2024, 0, 0, 1000, 0)])
    assert ok[1].carryover_in_short_term == Decimal(1000)
    with pytest.raises(CarryforwardError) as caught:
        carryforward("single", [year(2023, -4000, 0), year(2024, 0, 0, 900, 0)])
    assert caught.value.lines() == [
        "year 2024 (years[1]): carryover_in_short_term: states 900 but 2023 carries out 1000"
    ]


def test_every_problem_is_reported() -> None:
    with pytest.raises(CarryforwardError) as caught:
        carryforward("widowed", [year(2020, 0, 0), year(2022, 0, 0, -5, None)])
    assert caught.value.lines() == [
        "input: filing_status: 'widowed' is not one of single, married_filing_jointly, "
        "married_filing_separately, head_of_household, qualifying_surviving_spouse",
        "year 2022 (years[1]): year: must follow 2020 with no gap",
        "year 2022 (years[1]): carryover_in_short_term: must be a positive loss amount or 0",
    ]
