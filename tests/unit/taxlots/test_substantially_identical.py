"""Groups of substantially identical symbols in the wash-sale engine (issue #17 item 5b).

IRC §1091(a) disallows a loss when "substantially identical stock or securities" are acquired
within 30 days before or after the sale; ``ReplayParams.substantially_identical`` (the format's
``params.substantially_identical``) names groups such as GOOG/GOOGL whose purchases replace each
other's losses. The replacement keeps its own symbol; its basis and holding period follow the
shares bought, plus the adjustment and the tacked days (IRC §1091(d), §1223(3)).
"""

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from apps.taxlots.engine import ReplayError, ReplayParams, Trade, WashKind
from apps.taxlots.replay_format import parse_replay_input, replay_document
from tests.unit.taxlots.builders import D, buy, d, matches_of, only_open, row, run, sell

GOOG = ReplayParams(substantially_identical=(frozenset({"GOOG", "GOOGL"}),))
TWO_GROUPS = ReplayParams(
    substantially_identical=(frozenset({"GOOG", "GOOGL"}), frozenset({"VOO", "IVV"}))
)
LOSS_LOT = buy("goog", "2024-01-02", 10, 1500, symbol="GOOG")  # $150/share
LOSS_SALE = sell("s", "2024-05-01", 10, 1300, symbol="GOOG")  # $130: a $200 loss


def googl(date: str, *, account: str = "taxable") -> Trade:
    return buy("googl", date, 10, 1320, symbol="GOOGL", account=account)


def test_googl_bought_after_a_goog_loss_sale_is_a_wash_sale() -> None:
    result = run(LOSS_LOT, LOSS_SALE, googl("2024-05-11"), params=GOOG)
    assert row(result, "s", "goog").wash_sale_disallowed == D(200)
    [match] = matches_of(result, "s")
    assert (match.replacement_lot_id, match.quantity, match.kind) == (
        "googl",
        D(10),
        WashKind.DEFERRED,
    )
    replacement = only_open(result, "googl")
    assert replacement.symbol == "GOOGL"  # the replacement keeps its own symbol
    assert (replacement.cost_basis_unadjusted, replacement.adjusted_basis) == (D(1320), D(1520))
    # Tacked (IRC §1223(3)): the GOOG shares' days before the GOOGL purchase.
    assert replacement.holding_period_start == d("2024-05-11") - (d("2024-05-01") - d("2024-01-02"))
    assert result.totals.short_term == D(0)


def test_googl_bought_before_the_goog_loss_sale_and_still_held_is_a_wash_sale() -> None:
    result = run(LOSS_LOT, googl("2024-04-15"), LOSS_SALE, params=GOOG)
    assert row(result, "s", "goog").wash_sale_disallowed == D(200)
    assert only_open(result, "googl").wash_adjustment == D(200)


def test_a_goog_purchase_replaces_a_googl_loss_too() -> None:
    result = run(
        buy("a", "2024-01-02", 10, 1500, symbol="GOOGL"),
        sell("s", "2024-05-01", 10, 1300, symbol="GOOGL"),
        buy("b", "2024-05-02", 10, 1310, symbol="GOOG"),
        params=GOOG,
    )
    assert row(result, "s", "a").wash_sale_disallowed == D(200)
    assert only_open(result, "b").symbol == "GOOG"


def test_googl_bought_in_another_taxable_account_of_the_household() -> None:
    result = run(LOSS_LOT, LOSS_SALE, googl("2024-05-20", account="joint"), params=GOOG)
    [match] = matches_of(result, "s")
    assert (match.replacement_lot_id, match.kind) == ("googl", WashKind.DEFERRED)
    assert only_open(result, "googl").account == "joint"
    assert only_open(result, "googl").adjusted_basis == D(1520)


@pytest.mark.parametrize("account", ["ira", "roth"])
def test_googl_bought_in_an_ira_disallows_the_goog_loss_permanently(account: str) -> None:
    # Rev. Rul. 2008-5: no basis increase in the IRA; the loss is lost.
    result = run(LOSS_LOT, LOSS_SALE, googl("2024-05-20", account=account), params=GOOG)
    [match] = matches_of(result, "s")
    assert (match.kind, match.disallowed_loss) == (WashKind.PERMANENT, D(200))
    assert only_open(result, "googl").adjusted_basis == D(1320)
    assert result.totals.wash_disallowed_total == D(200)
    assert result.totals.short_term == D(0)


@pytest.mark.parametrize(
    ("bought_on", "is_wash"),
    [
        ("2024-04-01", True),  # 30 days before 2024-05-01
        ("2024-03-31", False),  # 31 days before
        ("2024-05-31", True),  # 30 days after
        ("2024-06-01", False),  # 31 days after
    ],
)
def test_day_30_washes_and_day_31_does_not(bought_on: str, is_wash: bool) -> None:
    replacement = googl(bought_on)
    before = d(bought_on) < d("2024-05-01")
    trades = [LOSS_LOT, replacement, LOSS_SALE] if before else [LOSS_LOT, LOSS_SALE, replacement]
    result = run(*trades, params=GOOG)
    assert row(result, "s", "goog").wash_sale_disallowed == (D(200) if is_wash else D(0))
    assert only_open(result, "googl").wash_adjustment == (D(200) if is_wash else D(0))


def test_without_the_group_goog_and_googl_are_different_securities() -> None:
    for params in (None, ReplayParams(substantially_identical=(frozenset({"VOO", "IVV"}),))):
        after = buy("googl2", "2024-05-11", 10, 1320, symbol="GOOGL")
        result = run(LOSS_LOT, googl("2024-04-15"), LOSS_SALE, after, params=params)
        assert result.wash_matches == ()
        assert result.totals.short_term == D(-200)


def test_groups_do_not_mix_with_each_other() -> None:
    result = run(
        LOSS_LOT,
        LOSS_SALE,
        buy("voo", "2024-05-02", 10, 1300, symbol="VOO"),
        buy("ivv", "2024-05-03", 10, 1300, symbol="IVV"),
        params=TWO_GROUPS,
    )
    assert result.wash_matches == ()
    other = run(
        buy("voo", "2024-01-02", 10, 1500, symbol="VOO"),
        sell("s", "2024-05-01", 10, 1300, symbol="VOO"),
        buy("ivv", "2024-05-03", 10, 1300, symbol="IVV"),
        googl("2024-05-04"),
        params=TWO_GROUPS,
    )
    assert [m.replacement_lot_id for m in other.wash_matches] == ["ivv"]


def test_pending_goog_losses_are_served_in_order_by_any_symbol_of_the_group() -> None:
    # Two losses (GOOG then GOOGL) and one GOOG purchase of 10: the first loss is replaced first
    # (Reg. 1.1091-1(b)), whichever symbol the purchase is.
    result = run(
        LOSS_LOT,
        buy("a2", "2024-01-03", 10, 1500, symbol="GOOGL"),
        LOSS_SALE,
        sell("s2", "2024-05-02", 10, 1300, symbol="GOOGL"),
        buy("b", "2024-05-10", 10, 1300, symbol="GOOG"),
        params=GOOG,
    )
    assert row(result, "s", "goog").wash_sale_disallowed == D(200)
    assert row(result, "s2", "a2").wash_sale_disallowed == D(0)


def test_bad_groups_are_reported_as_params_problems() -> None:
    params = ReplayParams(
        substantially_identical=(
            frozenset({"GOOG", "GOOGL"}),
            frozenset({"GOOG"}),
            frozenset({"FOX", "GOOGL"}),
            frozenset({"", "NWS"}),
        )
    )
    with pytest.raises(ReplayError) as caught:
        run(LOSS_LOT, params=params)
    assert caught.value.lines() == [
        "params: substantially_identical[1]: a group needs at least 2 different symbols, got 1",
        "params: substantially_identical[1]: 'GOOG' is already in substantially_identical[0]: "
        "a symbol belongs to one group",
        "params: substantially_identical[2]: 'GOOGL' is already in substantially_identical[0]: "
        "a symbol belongs to one group",
        "params: substantially_identical[3]: symbols must be non-empty strings",
    ]


# ------------------------------------------------------------------------ the file format

DOCUMENT: dict[str, Any] = {
    "params": {"substantially_identical": [["GOOG", "GOOGL"], ["VOO", "IVV"]]},
    "accounts": [{"id": "taxable", "type": "taxable"}, {"id": "ira", "type": "roth_ira"}],
    "trades": [
        {"id": "b1", "date": "2024-01-02", "account": "taxable", "symbol": "GOOG", "side": "buy",
         "quantity": 10, "amount": 1500},
        {"id": "s1", "date": "2024-05-01", "account": "taxable", "symbol": "GOOG", "side": "sell",
         "quantity": 10, "amount": 1300},
        {"id": "b2", "date": "2024-05-31", "account": "taxable", "symbol": "GOOGL", "side": "buy",
         "quantity": 6, "amount": 780},
        {"id": "b3", "date": "2024-05-31", "account": "ira", "symbol": "GOOGL", "side": "buy",
         "quantity": 4, "amount": 520},
    ],
}  # fmt: skip
EXPECTED_MATCHES = [
    {"loss_sell_id": "s1", "loss_lot_id": "b1", "replacement_lot_id": "b2", "quantity": 6,
     "disallowed_loss": 120.0, "kind": "deferred",
     "replacement_holding_period_start": "2024-02-01"},
    {"loss_sell_id": "s1", "loss_lot_id": "b1", "replacement_lot_id": "b3", "quantity": 4,
     "disallowed_loss": 80.0, "kind": "permanent",
     "replacement_holding_period_start": "2024-05-31"},
]  # fmt: skip


def test_the_format_reads_the_groups() -> None:
    parsed = parse_replay_input(json.loads(json.dumps(DOCUMENT)))
    assert parsed.problems == ()
    assert parsed.params.substantially_identical == (
        frozenset({"GOOG", "GOOGL"}),
        frozenset({"VOO", "IVV"}),
    )
    out = replay_document(json.dumps(DOCUMENT))
    assert out["wash_matches"] == EXPECTED_MATCHES
    assert out["totals"] == {"short_term": 0.0, "long_term": 0.0, "wash_disallowed_total": 200.0}
    without = {**DOCUMENT, "params": {}}
    assert replay_document(json.dumps(without))["wash_matches"] == []


def bad_lines(groups: object) -> list[str]:
    document = {**DOCUMENT, "params": {"substantially_identical": groups}}
    with pytest.raises(ReplayError) as caught:
        replay_document(json.dumps(document))
    return caught.value.lines()


@pytest.mark.parametrize(
    ("groups", "lines"),
    [
        ("GOOG,GOOGL", ["params: substantially_identical: must be an array, got the string "
                        "'GOOG,GOOGL'"]),
        (["GOOG", "GOOGL"], ["params: substantially_identical[0]: must be an array, got the "
                             "string 'GOOG'",
                             "params: substantially_identical[1]: must be an array, got the "
                             "string 'GOOGL'"]),
        ([["GOOG", 7]], ["params: substantially_identical[0][1]: must be a non-empty symbol "
                         "string, got the number 7"]),
        ([["GOOG", " "]], ["params: substantially_identical[0][1]: must be a non-empty symbol "
                           "string, got the string ' '"]),
        ([["GOOG", "GOOG"]], ["params: substantially_identical[0][1]: 'GOOG' is named twice"]),
        ([["GOOG"]], ["params: substantially_identical[0]: a group needs at least 2 different "
                      "symbols, got 1"]),
        ([["GOOG", "GOOGL"], ["GOOGL", "FOX"]],
         ["params: substantially_identical[1]: 'GOOGL' is already in "
          "substantially_identical[0]: a symbol belongs to one group"]),
    ],
)  # fmt: skip
def test_the_format_reports_bad_groups_by_field(groups: object, lines: list[str]) -> None:
    assert bad_lines(groups) == lines


def test_an_empty_list_of_groups_is_the_default() -> None:
    document = {**DOCUMENT, "params": {"substantially_identical": []}}
    assert replay_document(json.dumps(document))["wash_matches"] == []


def test_tax_replay_command_applies_the_groups(tmp_path: Path) -> None:
    source = tmp_path / "household.json"
    source.write_text(json.dumps(DOCUMENT), encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("tax_replay", str(source), stdout=out, stderr=err)
    assert json.loads(out.getvalue())["wash_matches"] == EXPECTED_MATCHES
    assert err.getvalue() == ""

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({**DOCUMENT, "params": {"substantially_identical": [["GOOG"]]}}),
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("tax_replay", str(bad), stdout=out, stderr=err)
    assert exited.value.code == 2
    assert err.getvalue().splitlines() == [
        "params: substantially_identical[0]: a group needs at least 2 different symbols, got 1"
    ]
    assert out.getvalue() == ""
