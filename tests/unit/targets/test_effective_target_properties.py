"""Hypothesis invariants of effective targets (the issue's test list)."""

import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.targets import (
    CASH,
    FlatTarget,
    OutsideExposure,
    Rule,
    RuleKind,
    SecurityInfo,
    effective_target,
)

D = Decimal
UNIVERSE = {
    f"{sector[:2].upper()}{industry}{n}": SecurityInfo(
        sector, f"{sector} industry {industry}", frozenset(tags)
    )
    for sector, tags_by_industry in {
        "Energy": {0: {"fossil_fuels"}, 1: set()},
        "Staples": {0: {"tobacco"}, 1: {"alcohol"}, 2: set()},
        "Tech": {0: set(), 1: {"weapons"}},
        "Utilities": {0: set()},
    }.items()
    for industry, tags in tags_by_industry.items()
    for n in range(3)
}
SYMBOLS = sorted(UNIVERSE)
TAGS = ["fossil_fuels", "tobacco", "alcohol", "weapons"]
SECTORS = sorted({i.sector for i in UNIVERSE.values()})
INDUSTRIES = sorted({i.industry for i in UNIVERSE.values()})


@st.composite
def models(draw) -> FlatTarget:
    picked = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=15, unique=True))
    cuts = sorted(draw(st.lists(st.integers(0, 10**8), min_size=len(picked), max_size=len(picked))))
    bounds = [0, *cuts, 10**8]
    parts = [D(b - a) / D(10**8) for a, b in itertools.pairwise(bounds)]
    weights = {s: w for s, w in zip(picked, parts[1:], strict=False) if w > 0}
    cash = D(1) - sum(weights.values(), D(0))
    return FlatTarget(dict(sorted(weights.items())), cash)


screens = st.lists(
    st.one_of(
        st.builds(Rule, st.just(RuleKind.EXCLUDE_ESG), st.sampled_from(TAGS)),
        st.builds(Rule, st.just(RuleKind.EXCLUDE_SECTOR), st.sampled_from(SECTORS)),
        st.builds(Rule, st.just(RuleKind.EXCLUDE_INDUSTRY), st.sampled_from(INDUSTRIES)),
        st.builds(Rule, st.just(RuleKind.NEVER_BUY), st.sampled_from(SYMBOLS)),
    ),
    max_size=4,
)
substitute_maps = st.dictionaries(
    st.sampled_from(SYMBOLS), st.lists(st.sampled_from(SYMBOLS), max_size=3, unique=True)
)
outsides = st.lists(
    st.builds(
        OutsideExposure,
        st.one_of(
            st.sampled_from(SYMBOLS).map(lambda s: f"symbol:{s}"),
            st.sampled_from(SECTORS).map(lambda s: f"sector:{s}"),
            st.sampled_from(INDUSTRIES).map(lambda s: f"industry:{s}"),
        ),
        st.integers(0, 30).map(lambda n: D(n) / D(100)),
    ),
    max_size=3,
    unique_by=lambda e: e.key,
)


@st.composite
def never_sells(draw) -> tuple[list[Rule], dict[str, Decimal]]:
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), max_size=3, unique=True))
    held = {s: D(draw(st.integers(0, 25))) / D(100) for s in symbols}
    return [Rule(RuleKind.NEVER_SELL, s) for s in symbols], held


def _blocked(symbol: str, rules: list[Rule]) -> bool:
    info = UNIVERSE[symbol]
    return any(r.kind != RuleKind.NEVER_SELL and r.matches(symbol, info) for r in rules)


def _sector_weight(weights, sector: str) -> Decimal:
    return sum((w for s, w in weights.items() if UNIVERSE[s].sector == sector), D(0))


def _reconciles(target) -> bool:
    deltas: dict[str, Decimal] = {}
    for adjustment in target.adjustments:
        if sum((m.weight for m in adjustment.moves), D(0)) != 0:
            return False
        for move in adjustment.moves:
            deltas[move.symbol] = deltas.get(move.symbol, D(0)) + move.weight
    for symbol in {*target.model_weights, *target.weights}:
        change = target.weights.get(symbol, D(0)) - target.model_weights.get(symbol, D(0))
        if deltas.get(symbol, D(0)) != change:
            return False
    return deltas.get(CASH, D(0)) == target.cash_weight - target.model_cash_weight


@settings(max_examples=300, deadline=None)
@given(models(), screens, substitute_maps, outsides, never_sells())
def test_targets_sum_to_one_and_every_change_is_explained(model, rules, subs, outside, ns):
    ns_rules, held = ns
    target = effective_target(
        model,
        securities=UNIVERSE,
        rules=[*rules, *ns_rules],
        outside=outside,
        substitutes=subs,
        held_weights=held,
    )
    assert target.total == 1
    assert all(w > 0 for w in target.weights.values()) and target.cash_weight >= 0
    assert _reconciles(target)
    changed = {
        s
        for s in {*target.model_weights, *target.weights}
        if target.weights.get(s, D(0)) != target.model_weights.get(s, D(0))
    }
    mentioned = {m.symbol for a in target.adjustments for m in a.moves}
    assert changed <= mentioned
    assert all(a.text for a in target.adjustments)
    for symbol in ns[1]:  # never-sell holdings stay at least at their held weight
        if held[symbol] > 0:
            assert target.weights.get(symbol, D(0)) >= held[symbol]


@settings(max_examples=300, deadline=None)
@given(models(), screens, substitute_maps, outsides)
def test_no_screened_name_ever_appears(model, rules, subs, outside):
    target = effective_target(
        model, securities=UNIVERSE, rules=rules, outside=outside, substitutes=subs
    )
    assert not [s for s in target.weights if _blocked(s, rules)]
    for adjustment in target.adjustments:
        for move in adjustment.moves:
            if move.weight > 0 and move.symbol != CASH:
                assert not _blocked(move.symbol, rules)


def _fully_screened_sector(model, rules) -> bool:
    """Some sector's model names are all screened (its weight must leave the sector)."""
    return any(
        all(_blocked(s, rules) for s in model.weights if UNIVERSE[s].sector == sector)
        for sector in {UNIVERSE[s].sector for s in model.weights}
    )


def _check_sectors(model, target, rules) -> None:
    spill = _fully_screened_sector(model, rules)
    for sector in SECTORS:
        names = [s for s in model.weights if UNIVERSE[s].sector == sector]
        if not any(not _blocked(s, rules) for s in names):
            continue
        before, after = (
            _sector_weight(model.weights, sector),
            _sector_weight(target.weights, sector),
        )
        if spill:  # it may receive a fully screened sector's weight, never lose any
            assert after >= before
        else:
            assert after == before


@settings(max_examples=300, deadline=None)
@given(models(), screens)
def test_sector_weight_is_kept_when_the_sector_has_unscreened_names(model, rules):
    target = effective_target(model, securities=UNIVERSE, rules=rules)
    _check_sectors(model, target, rules)


@settings(max_examples=200, deadline=None)
@given(models(), screens, st.data())
def test_same_sector_substitutes_keep_sector_weights_too(model, rules, data):
    subs = {
        s: data.draw(
            st.lists(
                st.sampled_from([o for o in SYMBOLS if UNIVERSE[o].sector == UNIVERSE[s].sector]),
                max_size=2,
                unique=True,
            )
        )
        for s in model.weights
    }
    target = effective_target(model, securities=UNIVERSE, rules=rules, substitutes=subs)
    _check_sectors(model, target, rules)
