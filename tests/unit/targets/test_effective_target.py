"""Effective targets: screens, substitutes, outside holdings, never-sell, explanations."""

from datetime import date
from decimal import Decimal

import pytest

from apps.targets import (
    CASH,
    AdjustmentKind,
    FlatTarget,
    OutsideExposure,
    Route,
    Rule,
    RuleKind,
    SecurityInfo,
    WeightError,
    effective_target,
)

D = Decimal
OIL = "Oil, Gas & Consumable Fuels"
SECURITIES = {
    "XOM": SecurityInfo("Energy", OIL, frozenset({"fossil_fuels"})),
    "CVX": SecurityInfo("Energy", OIL, frozenset({"fossil_fuels"})),
    "COP": SecurityInfo("Energy", OIL),
    "EOG": SecurityInfo("Energy", OIL),
    "SLB": SecurityInfo("Energy", "Energy Equipment & Services"),
    "AAPL": SecurityInfo("Information Technology", "Technology Hardware, Storage & Peripherals"),
    "MSFT": SecurityInfo("Information Technology", "Software"),
    "INTC": SecurityInfo("Information Technology", "Semiconductors"),
    "NVDA": SecurityInfo("Information Technology", "Semiconductors"),
    "PM": SecurityInfo("Consumer Staples", "Tobacco", frozenset({"tobacco"})),
    "MO": SecurityInfo("Consumer Staples", "Tobacco", frozenset({"tobacco"})),
    "KO": SecurityInfo("Consumer Staples", "Beverages"),
    "PLD": SecurityInfo("Real Estate", "Industrial REITs"),
    "BND": SecurityInfo(),
}
FOSSIL = Rule(RuleKind.EXCLUDE_ESG, "fossil_fuels", "client values", "household")


def flat(cash: str = "0", **weights: str) -> FlatTarget:
    return FlatTarget({s: D(w) for s, w in sorted(weights.items())}, D(cash))


def reconcile(target) -> None:
    """The adjustments' moves explain every change exactly, symbol by symbol and for cash."""
    deltas: dict[str, Decimal] = {}
    for adjustment in target.adjustments:
        assert sum((m.weight for m in adjustment.moves), D(0)) == 0
        for move in adjustment.moves:
            deltas[move.symbol] = deltas.get(move.symbol, D(0)) + move.weight
    for symbol in {*target.model_weights, *target.weights}:
        change = target.weights.get(symbol, D(0)) - target.model_weights.get(symbol, D(0))
        assert deltas.get(symbol, D(0)) == change, symbol
    assert deltas.get(CASH, D(0)) == target.cash_weight - target.model_cash_weight


def test_screened_name_goes_to_its_industry_peers_with_the_issue_wording():
    model = flat("0.02", XOM="0.008", COP="0.03", EOG="0.01", SLB="0.052", AAPL="0.88")
    target = effective_target(model, securities=SECURITIES, rules=[FOSSIL])
    assert "XOM" not in target.weights
    assert target.weights["COP"] == D("0.036") and target.weights["EOG"] == D("0.012")
    assert target.weights["SLB"] == D("0.052")  # another industry: untouched
    assert target.lines == (
        "XOM removed: fossil fuels screen (household: client values); weight 0.80% moved to "
        f"{OIL} names COP +0.60%, EOG +0.20% (same industry)",
    )
    assert target.adjustments[0].route == Route.INDUSTRY
    assert target.total == 1
    reconcile(target)


def test_sector_then_pro_rata_then_cash():
    # No oil peer left: SLB (same sector) takes it all.
    target = effective_target(
        flat(XOM="0.1", CVX="0.1", SLB="0.2", AAPL="0.6"), securities=SECURITIES, rules=[FOSSIL]
    )
    assert target.weights == {"SLB": D("0.4"), "AAPL": D("0.6")}
    assert [a.route for a in target.adjustments] == [Route.SECTOR, Route.SECTOR]
    # The whole sector screened: pro rata to everyone else.
    target = effective_target(
        flat(XOM="0.5", AAPL="0.3", MSFT="0.2"), securities=SECURITIES, rules=[FOSSIL]
    )
    assert target.weights == {"AAPL": D("0.6"), "MSFT": D("0.4")}
    assert target.adjustments[0].route == Route.PRO_RATA
    # Nothing eligible at all: cash.
    target = effective_target(flat("0.5", XOM="0.5"), securities=SECURITIES, rules=[FOSSIL])
    assert target.weights == {} and target.cash_weight == 1
    assert "cash (no eligible security)" in target.lines[0]
    reconcile(target)


def test_substitute_comes_first_and_skips_screened_alternatives():
    target = effective_target(
        flat(PM="0.1", KO="0.4", AAPL="0.5"),
        securities=SECURITIES,
        rules=[Rule(RuleKind.EXCLUDE_INDUSTRY, "Tobacco")],
        substitutes={"PM": ["MO", "NVDA"]},  # MO is tobacco too
    )
    assert target.weights == {"AAPL": D("0.5"), "KO": D("0.4"), "NVDA": D("0.1")}
    assert target.lines == (
        "PM removed: Tobacco industry excluded; weight 10.00% moved to substitute NVDA +10.00%",
    )
    reconcile(target)


def test_never_buy_symbol_and_sector_exclusion():
    target = effective_target(
        flat(AAPL="0.3", MSFT="0.3", NVDA="0.2", PLD="0.2"),
        securities=SECURITIES,
        rules=[
            Rule(RuleKind.NEVER_BUY, "nvda", "", "account"),
            Rule(RuleKind.EXCLUDE_SECTOR, "real estate"),
        ],
    )
    # NVDA: no other semiconductor, so its IT sector; PLD: the only REIT, so pro rata.
    assert target.weights == {"AAPL": D("0.5"), "MSFT": D("0.5")}
    assert [a.route for a in target.adjustments] == [Route.SECTOR, Route.PRO_RATA]
    assert target.blocked == {"NVDA", "PLD"}
    assert target.lines[0].startswith("NVDA removed: never buy (account)")
    assert target.lines[1].startswith("PLD removed: real estate sector excluded")
    reconcile(target)


def test_outside_sector_holding_reduces_the_sector_and_spreads_the_rest():
    target = effective_target(
        flat(PLD="0.2", AAPL="0.6", MSFT="0.2"),
        securities=SECURITIES,
        outside=[OutsideExposure("sector:Real Estate", weight=D("0.04"), reason="rental")],
    )
    assert target.weights == {"AAPL": D("0.63"), "MSFT": D("0.21"), "PLD": D("0.16")}
    assert target.adjustments[0].kind == AdjustmentKind.OUTSIDE_HOLDING
    assert target.lines[0].startswith(
        "Outside holding sector:Real Estate (rental) of 4.00%: Real Estate reduced by 4.00%"
    )
    reconcile(target)


def test_outside_amount_uses_account_value_and_is_capped_by_the_model():
    target = effective_target(
        flat(INTC="0.02", AAPL="0.98"),
        securities=SECURITIES,
        outside=[OutsideExposure("symbol:INTC", amount=D("5000"), reason="employer stock")],
        account_value=D("100000"),
    )
    assert target.weights == {"AAPL": D(1)}
    assert "3.00% not offset" in target.lines[0]
    reconcile(target)
    none = effective_target(
        flat(AAPL="1"),
        securities=SECURITIES,
        outside=[
            OutsideExposure("symbol:INTC", amount=D("5000")),
            OutsideExposure("sector:Real Estate", weight=D("0.1")),
            OutsideExposure("country:France", weight=D("0.1")),
        ],
    )
    assert none.weights == {"AAPL": D(1)}
    assert [a.kind for a in none.adjustments] == [AdjustmentKind.NOTE] * 3


def test_never_sell_holding_stays_and_counts_toward_its_sector():
    target = effective_target(
        flat(AAPL="0.3", MSFT="0.2", KO="0.5"),
        securities=SECURITIES,
        rules=[Rule(RuleKind.NEVER_SELL, "INTC", "legacy", "account")],
        held_weights={"INTC": D("0.1"), "KO": D("0.2")},
    )
    assert target.weights["INTC"] == D("0.1")
    # Taken from Information Technology, so the sector stays at 50%.
    assert target.weights["AAPL"] + target.weights["MSFT"] + target.weights["INTC"] == D("0.5")
    assert target.weights["KO"] == D("0.5")
    assert target.never_sell == {"INTC"}
    assert target.lines[0].startswith(
        "INTC kept at its held 10.00% (never sell (account: legacy)); target was 0.00%"
    )
    reconcile(target)


def test_screened_never_sell_holding_keeps_its_held_weight_only():
    target = effective_target(
        flat(XOM="0.1", COP="0.1", AAPL="0.8"),
        securities=SECURITIES,
        rules=[FOSSIL, Rule(RuleKind.NEVER_SELL, "XOM")],
        held_weights={"XOM": D("0.04")},
    )
    assert target.weights["XOM"] == D("0.04")
    assert target.weights["COP"] == D("0.16")
    assert "XOM reduced to its held 4.00%" in target.lines[0]
    reconcile(target)


def test_bad_inputs_are_refused():
    with pytest.raises(WeightError):
        effective_target(flat(AAPL="0.9"), securities=SECURITIES)
    with pytest.raises(WeightError):
        effective_target(
            flat(AAPL="1"), securities=SECURITIES, held_weights={"AAPL": D("0.7"), "X": D("0.4")}
        )


def test_a_screen_that_matches_nothing_says_so_with_the_day():
    """Honoured with nothing to remove is told apart from ignored (issue 17)."""
    tobacco = Rule(RuleKind.EXCLUDE_ESG, "tobacco", "client values", "firm")
    target = effective_target(
        flat(AAPL="0.5", KO="0.5"),
        securities=SECURITIES,
        rules=[tobacco, FOSSIL],
        held_weights={"MSFT": D("0.1")},
        as_of=date(2026, 12, 5),
    )
    assert target.weights == {"AAPL": D("0.5"), "KO": D("0.5")}  # nothing moved
    assert target.lines == (  # in the order of the rules
        "tobacco screen (firm: client values): nothing held or targeted matched 'tobacco' on "
        "2026-12-05",
        "fossil fuels screen (household: client values): nothing held or targeted matched "
        "'fossil_fuels' on 2026-12-05",
    )
    assert {a.kind for a in target.adjustments} == {AdjustmentKind.NOTE}
    reconcile(target)


def test_a_screen_matching_only_a_holding_or_only_a_target_gets_no_nothing_matched_note():
    tobacco = Rule(RuleKind.EXCLUDE_ESG, "tobacco")
    held_only = effective_target(
        flat(AAPL="1"), securities=SECURITIES, rules=[tobacco], held_weights={"PM": D("0.2")}
    )
    assert held_only.lines == () and held_only.blocked == {"PM"}  # the run sells PM
    targeted = effective_target(flat(PM="0.1", KO="0.9"), securities=SECURITIES, rules=[tobacco])
    assert len(targeted.lines) == 1 and targeted.lines[0].startswith("PM removed: tobacco screen")


TOBACCO = Rule(RuleKind.EXCLUDE_ESG, "tobacco", "no tobacco", "account")
LOOK_THROUGH = {
    "LCF": {"AAPL": D("0.5"), "MO": D("0.008"), "PM": D("0.004"), "KO": D("0.488")},
    "TECF": {"AAPL": D("0.5"), "MSFT": D("0.5")},
}


def test_a_fund_holding_screened_names_is_flagged_and_kept_by_default():
    model = flat("0.02", LCF="0.5", TECF="0.3", PM="0.18")
    target = effective_target(
        model, securities=SECURITIES, rules=[TOBACCO], look_through=LOOK_THROUGH
    )
    assert target.weights["LCF"] > D("0.5")  # kept, and eligible for PM's freed weight
    assert "LCF" not in target.blocked
    assert "PM" not in target.weights  # a direct holding is screened as ever
    assert (
        "LCF holds 1.20% screened by 'tobacco screen (account: no tobacco)' (MO 0.80%, PM 0.40%); "
        "kept: the firm flags funds, it does not exclude them"
    ) in target.lines
    assert not [line for line in target.lines if line.startswith("TECF")]
    reconcile(target)


def test_the_firm_may_exclude_a_fund_holding_screened_names_as_the_rule_says():
    model = flat("0.02", LCF="0.5", TECF="0.48")
    target = effective_target(
        model,
        securities=SECURITIES,
        rules=[TOBACCO],
        look_through=LOOK_THROUGH,
        exclude_screened_funds=True,
    )
    assert "LCF" not in target.weights
    assert target.weights["TECF"] == D("0.98")
    assert "LCF" in target.blocked
    assert target.lines == (
        "LCF removed: tobacco screen (account: no tobacco) through its holdings (MO 0.80%, "
        "PM 0.40%); weight 50.00% moved to the other names pro rata: TECF +50.00%",
    )
    reconcile(target)


def test_a_rule_reaching_only_a_fund_gets_no_nothing_matched_note_and_never_sell_does_not_reach():
    model = flat("0", LCF="1")
    keep_mo = Rule(RuleKind.NEVER_SELL, "MO", "gift", "account")
    target = effective_target(
        model,
        securities=SECURITIES,
        rules=[TOBACCO, keep_mo],
        look_through=LOOK_THROUGH,
        as_of=date(2026, 12, 5),
    )
    assert target.lines == (
        "LCF holds 1.20% screened by 'tobacco screen (account: no tobacco)' (MO 0.80%, PM 0.40%); "
        "kept: the firm flags funds, it does not exclude them",
        "never sell (account: gift): nothing held or targeted matched 'MO' on 2026-12-05",
    )
