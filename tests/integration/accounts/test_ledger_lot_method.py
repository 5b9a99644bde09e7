"""A sale that names no lots is relieved by the account's lot method, as booked at the time.

FIFO is the relief when the shares sold are not adequately identified (Treas. Reg.
1.1012-1(c)(1)); LIFO and HIFO are standing orders of specific identification the custodian
executes (Treas. Reg. 1.1012-1(c)(2)-(3)). HIFO ranks lots by adjusted basis per share.
"""

from datetime import date
from decimal import Decimal

import pytest

from apps.accounts.models import Account, Household, RealizedGain, Transaction
from apps.accounts.services.accounts import account_update_profile
from apps.accounts.services.imports import custodian_file_import
from apps.accounts.services.ledger import ledger_rebuild
from apps.securities.models import Security
from tests.integration.accounts.conftest import entry


def _account(method: str) -> Account:
    household = Household.objects.create(external_id=f"H-{method}", name=f"{method} family")
    return Account.objects.create(
        household=household,
        custodian="schwab",
        number=f"9-{method}",
        name="Joint",
        registration="taxable",
        lot_method=method,
    )


def _three_lots_and_a_sale(account: Account) -> None:
    entry(account, "d", "deposit", date(2020, 1, 2), amount="10000")
    entry(account, "b1", "buy", date(2020, 1, 2), "M", "10", "1000.00")  # 100 a share
    entry(account, "b2", "buy", date(2021, 1, 4), "M", "10", "3000.00")  # 300 a share
    entry(account, "b3", "buy", date(2022, 1, 3), "M", "10", "2000.00")  # 200 a share
    entry(account, "s", "sell", date(2023, 6, 1), "M", "10", "2500.00")


@pytest.mark.parametrize(
    ("method", "lot", "gain"),
    [("FIFO", "b1", "1500.00"), ("LIFO", "b3", "500.00"), ("HIFO", "b2", "-500.00")],
)
def test_the_same_sale_relieves_the_lots_of_the_accounts_method(firm_a, method, lot, gain):
    account = _account(method)
    _three_lots_and_a_sale(account)

    ledger_rebuild(household=account.household)

    realized = RealizedGain.objects.get(account=account)
    assert (realized.lot_key, realized.gain_amount) == (lot, Decimal(gain))


def test_hifo_ranks_lots_by_adjusted_basis_per_share(firm_a):
    account = _account("HIFO")
    entry(account, "d", "deposit", date(2022, 1, 3), amount="10000")
    entry(account, "b-a", "buy", date(2022, 1, 3), "M", "10", "1500.00")  # 150 a share
    entry(account, "b-x", "buy", date(2022, 2, 1), "M", "10", "2000.00")
    entry(
        account,
        "s-x",
        "sell",
        date(2022, 3, 1),
        "M",
        "10",
        "1000.00",
        lot_picks=[{"lot_id": "b-x", "shares": "10"}],
    )  # a loss of 1,000, washed by b-r
    entry(account, "b-r", "buy", date(2022, 3, 10), "M", "10", "1000.00")  # 100, adjusted 200
    entry(account, "s", "sell", date(2023, 6, 1), "M", "10", "1700.00")

    ledger_rebuild(household=account.household)

    realized = RealizedGain.objects.get(account=account, sell__external_id="s")
    # Adjusted basis per share: b-r 200 > b-a 150 (unadjusted, b-a's 150 would be first).
    assert (realized.lot_key, realized.basis_amount, realized.gain_amount) == (
        "b-r",
        Decimal("2000.00"),
        Decimal("-300.00"),
    )


TRANSACTIONS = """\
account_number,custodian,external_id,trade_date,kind,symbol,shares,amount,lot_method,lot_ids
9-LIFO,schwab,d,2020-01-02,deposit,,,10000.00,,
9-LIFO,schwab,b1,2020-01-02,buy,M,10,1000.00,,
9-LIFO,schwab,b2,2021-01-04,buy,M,10,3000.00,,
9-LIFO,schwab,s1,2023-06-01,sell,M,5,1250.00,,
9-LIFO,schwab,s2,2023-06-02,sell,M,5,1250.00,FIFO,
"""


def test_a_booked_sale_keeps_its_method_when_the_account_changes(firm_a):
    Security.objects.create(symbol="M", name="Macy's")
    account = _account("LIFO")

    custodian_file_import(
        kind="transactions",
        layout="generic",
        content=TRANSACTIONS.encode(),
        filename="t.csv",
        acting_user=None,
    )

    methods = dict(Transaction.objects.filter(kind="sell").values_list("external_id", "lot_method"))
    assert methods == {"s1": "LIFO", "s2": "FIFO"}  # the account's then, the file's own
    before = sorted(RealizedGain.objects.values_list("lot_key", "gain_amount"))
    assert before == [("b1", Decimal("750.00")), ("b2", Decimal("-250.00"))]

    account_update_profile(account=account, changes={"lot_method": "FIFO"}, acting_user=None)
    ledger_rebuild(household=account.household)

    assert sorted(RealizedGain.objects.values_list("lot_key", "gain_amount")) == before
    # The same file again is unchanged: a row naming no method matches the recorded one.
    report = custodian_file_import(
        kind="transactions",
        layout="generic",
        content=TRANSACTIONS.encode(),
        filename="t.csv",
        acting_user=None,
    )
    assert (report.created, report.unchanged) == (0, 5)
