"""An opening lot's imported holding-period start reaches a wash-sale replacement (issue #17 5c).

The ledger hands ``Transaction.holding_period_start_on`` to the tax-lot engine as the lot's
holding-period start; when that lot is sold at a loss and replaced, the replacement's tacked
start (IRC §1223(3)) counts the days from the imported start, not from the transfer date.
"""

from datetime import date
from decimal import Decimal

from apps.accounts.models import Account, Household, RealizedGain, TaxLot, Transaction
from apps.accounts.services.ledger import ledger_rebuild


def test_replacement_tacks_from_the_imported_holding_period_start(firm_a):
    household = Household.objects.create(external_id="H17", name="Imported lot family")
    taxable = Account.objects.create(
        household=household, custodian="schwab", number="171", name="Joint", registration="taxable"
    )
    common = {"account": taxable, "symbol": "IBM"}
    Transaction.objects.create(
        **common,
        external_id="open-IBM",
        kind="buy",
        trade_on=date(2023, 11, 1),
        shares=Decimal("10"),
        amount=Decimal("1000"),
        is_opening_lot=True,
        holding_period_start_on=date(2022, 6, 15),
    )
    Transaction.objects.create(
        **common,
        external_id="s1",
        kind="sell",
        trade_on=date(2023, 12, 20),
        shares=Decimal("10"),
        amount=Decimal("800"),
    )
    Transaction.objects.create(
        **common,
        external_id="b2",
        kind="buy",
        trade_on=date(2023, 12, 28),
        shares=Decimal("10"),
        amount=Decimal("810"),
    )

    ledger_rebuild(household=household)

    loss = RealizedGain.objects.get()
    assert (loss.term, loss.disallowed_amount) == ("long", Decimal("200.00"))
    replacement = TaxLot.objects.get()
    assert replacement.lot_key == "b2"
    # 2023-12-28 minus the 553 days held since 2022-06-15 (not the 49 since 2023-11-01).
    assert replacement.holding_period_start_on == date(2022, 6, 23)
    assert replacement.adjusted_basis_amount == Decimal("1010.00")
