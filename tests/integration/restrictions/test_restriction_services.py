"""Restrictions, outside holdings, substitutes: services, selectors, effective_target_get."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.access.models import AuditEvent
from apps.accounts.models import Transaction
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.exceptions import ApplicationError
from apps.restrictions.errors import RestrictionsErrorCode
from apps.restrictions.models import Restriction
from apps.restrictions.selectors import (
    effective_target_get,
    restrictions_in_force,
    substitutes_map,
)
from apps.restrictions.services import (
    outside_holding_set,
    restriction_add,
    restriction_end,
    substitute_set,
)

D = Decimal
AS_OF = date(2024, 6, 28)


def test_values_are_checked_and_canonicalised(design):
    admin, account = design["admin"], design["account"]
    r = restriction_add(
        kind="exclude_sector", value="energy", starts_on=AS_OF, account=account, acting_user=admin
    )
    assert (r.scope, r.value) == ("account", "Energy")
    r = restriction_add(
        kind="exclude_esg", value="Fossil Fuels", starts_on=AS_OF, acting_user=admin
    )
    assert (r.scope, r.value) == ("firm", "fossil_fuels")
    for kind, value in (
        ("never_buy", "NOPE"),
        ("exclude_esg", "nuclear"),
        ("exclude_industry", "Spaceships"),
    ):
        with pytest.raises(ApplicationError) as info:
            restriction_add(kind=kind, value=value, starts_on=AS_OF, acting_user=admin)
        assert info.value.code == RestrictionsErrorCode.UNKNOWN_VALUE
    event = AuditEvent.objects.filter(action="restriction.add").first()
    assert event is not None and event.payload["kind"]


def test_exactly_one_scope_is_a_database_constraint(design):
    with transaction.atomic(), pytest.raises(IntegrityError):
        Restriction.objects.create(
            scope="firm", account=design["account"], kind="never_buy", value="XOM", starts_on=AS_OF
        )
    with transaction.atomic(), pytest.raises(IntegrityError):
        Restriction.objects.create(
            scope="account",
            account=design["account"],
            household=design["household"],
            kind="never_buy",
            value="XOM",
            starts_on=AS_OF,
        )


def test_in_force_covers_firm_household_and_account_within_dates(design):
    admin, account, other = design["admin"], design["account"], design["other"]
    firm = restriction_add(
        kind="never_buy", value="XOM", starts_on=date(2024, 1, 1), acting_user=admin
    )
    house = restriction_add(
        kind="never_buy",
        value="CVX",
        starts_on=date(2024, 1, 1),
        household=design["household"],
        acting_user=admin,
    )
    mine = restriction_add(
        kind="never_buy",
        value="COP",
        starts_on=date(2024, 3, 1),
        ends_on=date(2024, 7, 1),
        account=account,
        acting_user=admin,
    )
    restriction_add(
        kind="never_buy", value="KO", starts_on=date(2024, 1, 1), account=other, acting_user=admin
    )
    assert {r.pk for r in restrictions_in_force(account=account, as_of=AS_OF)} == {
        firm.pk,
        house.pk,
        mine.pk,
    }
    assert mine.pk not in {
        r.pk for r in restrictions_in_force(account=account, as_of=date(2024, 7, 1))
    }
    assert mine.pk not in {
        r.pk for r in restrictions_in_force(account=account, as_of=date(2024, 2, 29))
    }
    restriction_end(restriction=firm, ends_on=AS_OF, acting_user=admin)
    assert firm.pk not in {r.pk for r in restrictions_in_force(account=account, as_of=AS_OF)}
    with pytest.raises(ApplicationError):
        restriction_end(restriction=firm, ends_on=AS_OF, acting_user=admin)
    assert AuditEvent.objects.get(action="restriction.end").payload["after"] == "2024-06-28"


def test_substitutes_are_ordered_and_validated(design):
    admin = design["admin"]
    substitute_set(symbol="pm", alternatives=["PEP", "KO"], acting_user=admin)
    assert substitutes_map() == {"PM": ["PEP", "KO"]}
    substitute_set(symbol="PM", alternatives=["KO"], acting_user=admin)
    assert substitutes_map(symbols=["PM", "XOM"]) == {"PM": ["KO"]}
    for alternatives in (["PM"], ["KO", "KO"], ["NOPE"]):
        with pytest.raises(ApplicationError):
            substitute_set(symbol="PM", alternatives=alternatives, acting_user=admin)
    assert AuditEvent.objects.filter(action="substitute.set").count() == 2


def test_effective_target_applies_everything_with_explanations(design):
    admin, account = design["admin"], design["account"]
    restriction_add(
        kind="exclude_esg",
        value="fossil_fuels",
        starts_on=date(2024, 1, 1),
        household=design["household"],
        reason="client values",
        acting_user=admin,
    )
    restriction_add(
        kind="exclude_industry", value="Tobacco", starts_on=date(2024, 1, 1), acting_user=admin
    )
    substitute_set(symbol="PM", alternatives=["PEP"], acting_user=admin)
    outside_holding_set(
        exposure_key="sector:real estate",
        weight=D("0.05"),
        account=account,
        reason="rental",
        acting_user=admin,
    )
    outside_holding_set(
        exposure_key="sector:Real Estate",
        weight=D("0.06"),
        account=account,
        reason="rental",
        acting_user=admin,
    )  # replaces
    target = effective_target_get(account=account, as_of=AS_OF)
    assert target.total == 1
    assert not {"XOM", "CVX", "PM"} & set(target.weights)
    by_subject = {a.subject: a for a in target.adjustments}
    assert [(m.symbol, m.weight) for m in by_subject["PM"].moves] == [
        ("PM", D("-0.1")),
        ("PEP", D("0.1")),
    ]
    # XOM and CVX go to COP, the oil name left: the industry keeps its 16% before the offset.
    assert by_subject["XOM"].moves[-1].symbol == "COP"
    assert by_subject["CVX"].moves[-1].symbol == "COP"
    assert target.weights["PLD"] == D("0.06")
    assert target.weights["COP"] > D("0.16")  # plus its share of the freed real estate weight
    lines = target.lines
    assert lines[0].startswith("CVX removed: fossil fuels screen (household: client values)")
    assert any(line.startswith("PM removed: Tobacco industry excluded") for line in lines)
    assert any("sector:Real Estate (account, rental) of 6.00%" in line for line in lines)


def _never_sell_intc_held(account, admin, shares: int) -> None:
    """100,000 USD deposited, ``shares`` INTC bought at 40, and INTC never to be sold."""
    for ext, kind, symbol, count, amount in (
        ("dep", "deposit", "", None, "100000"),
        ("b-intc", "buy", "INTC", str(shares), str(shares * 40)),
    ):
        Transaction.objects.create(
            account=account,
            external_id=ext,
            kind=kind,
            trade_on=date(2024, 1, 3),
            symbol=symbol,
            shares=D(count) if count else None,
            amount=D(amount),
        )
    restriction_add(
        kind="never_sell",
        value="INTC",
        starts_on=date(2024, 1, 1),
        account=account,
        reason="legacy",
        acting_user=admin,
    )


def test_never_sell_holding_uses_the_ledger_weights(design):
    admin, account = design["admin"], design["account"]
    _never_sell_intc_held(account, admin, 250)  # 250 x 40 = 10% of 100,000
    ledger_rebuild(household=design["household"])
    account.refresh_from_db()
    target = effective_target_get(account=account, as_of=AS_OF)
    assert target.weights["INTC"] == D("0.1")
    tech = sum(target.weights[s] for s in ("AAPL", "MSFT", "INTC"))
    assert tech == D("0.5")
    assert target.lines[-1].startswith(
        "INTC kept at its held 10.00% (never sell (account: legacy))"
    )


def test_no_model_is_an_error(design):
    with pytest.raises(ApplicationError) as info:
        effective_target_get(account=design["other"], as_of=AS_OF)
    assert info.value.code == RestrictionsErrorCode.NO_MODEL


def test_a_batch_shares_targets_only_between_accounts_it_cannot_tell_apart(design):
    """Book runs compute one target per distinct (model, rules, exposures, matched holdings):
    two plain accounts share it; never-sell accounts holding different weights do not."""
    from apps.accounts.models import Account
    from apps.models.services import model_assign
    from apps.restrictions.selectors import effective_targets_get

    admin, household = design["admin"], design["household"]
    accounts = [design["account"]]
    for number in ("9003", "9004", "9005"):
        account = Account.objects.create(
            household=household,
            custodian="schwab",
            number=number,
            name=f"Okafor {number}",
            registration="taxable",
        )
        accounts.append(model_assign(account=account, model=design["model"], acting_user=admin))
    plain_a, plain_b, held_10, held_5 = accounts
    _never_sell_intc_held(held_10, admin, 250)  # 10% of the account
    _never_sell_intc_held(held_5, admin, 125)  # 5%
    ledger_rebuild(household=household)
    for account in accounts:
        account.refresh_from_db()
    batch = effective_targets_get(accounts=accounts, as_of=AS_OF)
    assert batch[plain_a.pk] is batch[plain_b.pk]
    assert batch[held_10.pk].weights["INTC"] == D("0.1")
    assert batch[held_5.pk].weights["INTC"] == D("0.05")
    for account in accounts:  # the same as each account's target computed on its own
        alone = effective_target_get(account=account, as_of=AS_OF)
        assert batch[account.pk].weights == alone.weights
        assert batch[account.pk].lines == alone.lines
        assert batch[account.pk].never_sell == alone.never_sell
    # A book chunk's columns (integer cents, per-symbol values built on demand) give the same.
    from apps.accounts.lot_arrays import LotArrays
    from apps.restrictions.selectors import LotShares

    chunk = LotArrays.read([a.pk for a in accounts])
    columns = effective_targets_get(
        accounts=accounts,
        as_of=AS_OF,
        lots=LotShares(chunk.account_ids, chunk.names, chunk.codes, chunk.shares_micro),
    )
    for account in accounts:
        assert columns[account.pk].weights == batch[account.pk].weights
        assert columns[account.pk].lines == batch[account.pk].lines
