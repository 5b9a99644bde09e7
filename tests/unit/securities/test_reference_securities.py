"""The reference universe built from pytickersymbols: sectors, industries, ESG tags, CUSIPs."""

import pytest

from apps.securities import reference_data as ref


@pytest.fixture(scope="module")
def universe() -> dict[str, ref.ReferenceSecurity]:
    return {row.symbol: row for row in ref.reference_securities()}


@pytest.fixture(scope="module")
def members() -> set[str]:
    return {str(company["symbol"]) for company in ref.sp500_companies()}


def test_every_sp500_member_gets_a_gics_sector_and_an_industry_of_that_sector(universe, members):
    assert len(members) == 503
    for symbol in members:
        row = universe[symbol]
        assert row.kind == "stock"
        assert row.sector in ref.GICS_SECTORS, symbol
        assert row.industry in ref.GICS_INDUSTRIES[row.sector], symbol


def test_universe_adds_rrc_as_energy_and_the_funds(universe, members):
    assert "RRC" not in members
    assert universe["RRC"].sector == "Energy"
    assert universe["RRC"].esg_tags == ("fossil_fuels",)
    assert set(universe) == members | {"RRC"} | {fund.symbol for fund in ref.FUND_SPECS}
    assert universe["CASH"].kind == "cash"
    assert {universe[s].kind for s in ("SPY", "VTI", "QQQ", "EFA", "AGG")} == {"etf"}


def test_dual_sector_members_take_the_documented_sector(universe):
    assert {s: universe[s].sector for s in ref.SECTOR_OVERRIDES} == ref.SECTOR_OVERRIDES


def test_tags_are_exactly_the_documented_ones(universe):
    tagged: dict[str, set[str]] = {tag: set() for tag in ref.ESG_TAGS}
    for row in universe.values():
        for tag in row.esg_tags:
            tagged[tag].add(row.symbol)
    energy = {row.symbol for row in universe.values() if row.sector == "Energy"}
    assert tagged["tobacco"] == {"MO", "PM"}
    assert tagged["alcohol"] == {"BF.B", "STZ", "TAP"}
    assert tagged["gambling"] == {"LVS", "MGM", "WYNN"}
    assert tagged["weapons"] == {"AXON", "BA", "GD", "HII", "LHX", "LMT", "NOC", "RTX", "TXT"}
    assert tagged["fossil_fuels"] == energy
    assert {"CVX", "XOM", "SLB", "RRC"} <= tagged["fossil_fuels"]


def test_stray_labels_do_not_leak_across_sectors(universe):
    # pytickersymbols lists "Food & Tobacco" for GM and Hershey.
    assert universe["GM"].industry == "Automobiles"
    assert universe["HSY"].industry == "Food Products"
    assert universe["GM"].esg_tags == ()
    assert universe["HSY"].esg_tags == ()
    assert universe["KO"].esg_tags == ()


def test_every_override_names_a_member(members):
    for table in (
        ref.SYMBOL_ESG_TAGS,
        ref.SECTOR_OVERRIDES,
        ref.INDUSTRY_OVERRIDES,
        ref.NAME_OVERRIDES,
    ):
        assert set(table) <= members
    for tags in ref.SYMBOL_ESG_TAGS.values():
        assert set(tags) <= set(ref.ESG_TAGS)


def test_cusips_come_from_us_isins_and_are_valid_and_unique(universe):
    cusips = [row.cusip for row in universe.values() if row.cusip]
    assert len(cusips) > 350
    assert len(set(cusips)) == len(cusips)
    assert all(ref.is_valid_cusip(cusip) for cusip in cusips)
    assert universe["AAPL"].cusip == "037833100"
    assert universe["MSFT"].cusip == "594918104"
    # Two share classes list both ISINs: ambiguous, so no CUSIP rather than a wrong one.
    assert universe["GOOGL"].cusip == ""


@pytest.mark.parametrize(
    ("cusip", "is_valid"),
    [("037833100", True), ("594918104", True), ("037833101", False), ("03783310", False)],
)
def test_is_valid_cusip_checks_the_check_digit(cusip, is_valid):
    assert ref.is_valid_cusip(cusip) is is_valid


def test_cusip_from_isins_needs_exactly_one_valid_us_isin():
    assert ref.cusip_from_isins(["US0378331005"]) == "037833100"
    assert ref.cusip_from_isins(["US0378331005", "US5949181045"]) == ""
    assert ref.cusip_from_isins(["IE00B4BNMY34"]) == ""
    assert ref.cusip_from_isins(["US0378331006"]) == ""


def test_sector_for_refuses_two_sectors_without_an_override():
    with pytest.raises(ValueError, match="expected one GICS sector"):
        ref.sector_for(symbol="ZZZ", labels=["Energy", "Utilities"])
    assert ref.sector_for(symbol="AES", labels=["Energy", "Utilities"]) == "Utilities"


def test_reference_data_is_django_free():
    import subprocess
    import sys

    code = "import sys, apps.securities.reference_data; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
