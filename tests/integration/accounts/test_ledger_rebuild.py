"""The ledger stores exactly what the tax-lot engine replays: lots, realized gains, wash matches."""

from datetime import date
from decimal import Decimal

import pytest

from apps.accounts.models import (
    Account,
    Household,
    RealizedGain,
    TaxLot,
    Transaction,
    WashSaleMatch,
)
from apps.accounts.services.ledger import LedgerInconsistentError, ledger_rebuild


def _household() -> tuple[Household, Account, Account]:
    household = Household.objects.create(external_id="H1", name="Smith family")
    taxable = Account.objects.create(
        household=household, custodian="schwab", number="111", name="Joint", registration="taxable"
    )
    ira = Account.objects.create(
        household=household,
        custodian="schwab",
        number="222",
        name="IRA",
        registration="traditional_ira",
    )
    return household, taxable, ira


def _entry(account, ext, kind, on, symbol="", shares=None, amount="0", **extra):
    return Transaction.objects.create(
        account=account,
        external_id=ext,
        kind=kind,
        trade_on=on,
        symbol=symbol,
        shares=Decimal(shares) if shares else None,
        amount=Decimal(amount),
        **extra,
    )


def test_wash_sale_across_household_defers_loss_into_replacement(firm_a):
    household, taxable, _ = _household()
    _entry(taxable, "d1", "deposit", date(2012, 9, 1), amount="20000")
    _entry(taxable, "b1", "buy", date(2012, 9, 26), "M", "100", "5000")
    _entry(taxable, "s1", "sell", date(2013, 1, 9), "M", "100", "4000")
    _entry(taxable, "b2", "buy", date(2013, 1, 20), "M", "50", "2100")

    summary = ledger_rebuild(household=household)

    assert (summary.lots, summary.realized, summary.wash_matches) == (1, 1, 1)
    gain = RealizedGain.objects.get()
    assert gain.gain_amount == Decimal("-1000.00")
    assert gain.disallowed_amount == Decimal("500.00")
    assert gain.reportable_gain_amount == Decimal("-500.00")
    assert gain.term == "short"
    assert gain.form8949_code == "W"
    lot = TaxLot.objects.get()
    assert lot.lot_key == "b2"
    assert lot.adjusted_basis_amount == Decimal("2600.00")
    assert lot.wash_adjustment_amount == Decimal("500.00")
    # Held 105 days before the sale: the replacement's holding period starts 105 days earlier.
    assert lot.holding_period_start_on == date(2012, 10, 7)
    assert WashSaleMatch.objects.get().shares == Decimal("50")
    taxable.refresh_from_db()
    assert taxable.cash_amount == Decimal("16900.00")


def test_ira_replacement_disallows_permanently(firm_a):
    household, taxable, ira = _household()
    _entry(taxable, "b1", "buy", date(2020, 1, 2), "XOM", "10", "700")
    _entry(taxable, "s1", "sell", date(2020, 3, 20), "XOM", "10", "350")
    _entry(ira, "b9", "buy", date(2020, 3, 25), "XOM", "10", "360")

    ledger_rebuild(household=household)

    assert RealizedGain.objects.get().disallowed_amount == Decimal("350.00")
    match = WashSaleMatch.objects.get()
    assert match.is_permanent
    assert match.replacement_account == ira
    assert TaxLot.objects.get(account=ira).adjusted_basis_amount == Decimal("360.00")


def test_rebuild_is_idempotent(firm_a):
    household, taxable, _ = _household()
    _entry(taxable, "b1", "buy", date(2021, 1, 4), "AAPL", "10", "1300")
    _entry(taxable, "s1", "sell", date(2022, 1, 5), "AAPL", "4", "720")
    ledger_rebuild(household=household)
    first = list(TaxLot.objects.values_list("lot_key", "shares", "adjusted_basis_amount"))
    ledger_rebuild(household=household)
    assert list(TaxLot.objects.values_list("lot_key", "shares", "adjusted_basis_amount")) == first
    assert RealizedGain.objects.get().term == "long"


def test_oversell_is_refused_and_nothing_changes(firm_a):
    household, taxable, _ = _household()
    _entry(taxable, "b1", "buy", date(2021, 1, 4), "AAPL", "10", "1300")
    ledger_rebuild(household=household)
    _entry(taxable, "s1", "sell", date(2021, 2, 1), "AAPL", "11", "1500")
    with pytest.raises(LedgerInconsistentError) as caught:
        ledger_rebuild(household=household)
    assert any("s1" in line for line in caught.value.extra["problems"])
    assert TaxLot.objects.get().shares == Decimal("10")


def test_opening_lot_keeps_custodian_basis_and_unknown_basis_is_flagged(firm_a):
    household, taxable, _ = _household()
    _entry(
        taxable,
        "open-IBM",
        "buy",
        date(2001, 5, 1),
        "IBM",
        "50",
        "4000",
        is_opening_lot=True,
        holding_period_start_on=date(2001, 4, 1),
        wash_adjustment_amount=Decimal("100"),
    )
    _entry(
        taxable,
        "open-KO",
        "buy",
        date(2010, 5, 1),
        "KO",
        "20",
        "0",
        is_opening_lot=True,
        is_basis_unknown=True,
    )
    _entry(taxable, "d1", "deposit", date(2020, 1, 2), amount="500")
    ledger_rebuild(household=household)
    ibm = TaxLot.objects.get(symbol="IBM")
    assert ibm.holding_period_start_on == date(2001, 4, 1)
    assert ibm.wash_adjustment_amount == Decimal("100.00")
    assert ibm.has_basis
    assert not TaxLot.objects.get(symbol="KO").has_basis
    taxable.refresh_from_db()
    assert taxable.cash_amount == Decimal("500.00")  # opening lots moved no cash
