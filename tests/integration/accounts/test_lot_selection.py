"""Whether an account's sells name their lots: the custodian's default, or the account's choice."""

import pytest
from django.test import override_settings

from apps.accounts.models import Account, Household
from apps.accounts.services.imports import custodian_file_import
from apps.ingest.problems import FileRejectedError


def _account(**fields) -> Account:
    household = Household.objects.create(external_id="H1", name="Smith family")
    return Account.objects.create(
        household=household, name="Joint", registration="taxable", number="111", **fields
    )


@pytest.mark.parametrize(
    ("selection", "without", "expected"),
    [
        ("custodian", [], True),  # every layout we write carries lot instructions
        ("custodian", ["Schwab "], False),  # the custodian's default, matched in any case
        ("specified", ["schwab"], True),  # the account's choice wins
        ("method", [], False),
    ],
)
def test_specified_lots_follow_the_account_then_the_custodian(firm_a, selection, without, expected):
    account = _account(custodian="schwab", lot_selection=selection)

    with override_settings(CUSTODIANS_WITHOUT_SPECIFIED_LOTS=without):
        assert account.uses_specified_lots is expected


ACCOUNTS = """\
household_id,household_name,account_number,custodian,name,registration,lot_method,lot_selection
H7,Jones family,7001,schwab,Jones joint,taxable,hifo,Method
H7,Jones family,7002,schwab,Jones IRA,roth_ira,,
"""


def test_accounts_import_sets_the_lot_selection(firm_a):
    custodian_file_import(
        kind="accounts",
        layout="generic",
        content=ACCOUNTS.encode(),
        filename="a.csv",
        acting_user=None,
    )

    joint, ira = Account.objects.order_by("number")
    assert (joint.lot_method, joint.lot_selection) == ("HIFO", "method")
    assert (ira.lot_method, ira.lot_selection) == ("FIFO", "custodian")  # model defaults


def test_accounts_import_refuses_an_unknown_lot_selection(firm_a):
    with pytest.raises(FileRejectedError) as caught:
        custodian_file_import(
            kind="accounts",
            layout="generic",
            content=ACCOUNTS.replace("Method", "average").encode(),
            filename="a.csv",
            acting_user=None,
        )

    (problem,) = caught.value.report.problems
    assert (problem.line, problem.field) == (2, "lot_selection")
    assert "'average' is not one of custodian, specified, method" in problem.reason
