"""Generated tax-replay and carryforward files (hypothesis): a result or the format's own error.

Whatever the input (arbitrary text or bytes, other encodings, valid documents damaged the ways
issue #10 lists: truncated, fields deleted or retyped, huge numbers, duplicated ids, unknown
accounts, oversells, far-away dates, two households mixed), ``replay_document`` and
``carryforward_document`` return a valid output document or raise ``ReplayError`` /
``CarryforwardError`` whose every problem says where (a JSON path, or ``input`` with the line
and column); never another exception. The commands print those lines, exit 2 and leave the
output file untouched. Generated valid documents replay faithfully and deterministically.

Pure (no database). Derandomized, so CI sees the same inputs every run; each property prints
how many inputs it tried.
"""

from __future__ import annotations

import codecs
import copy
import dataclasses
import datetime as dt
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from apps.accounts.management.commands import tax_carryforward, tax_replay
from apps.taxlots.engine import LotMethod, ReplayParams, Side, Trade, replay
from apps.taxlots.errors import CarryforwardError, ReplayError, TaxLotInputError
from apps.taxlots.replay_format import (
    carryforward_document,
    dumps,
    loads,
    replay_document,
    serialize_carryforward,
    serialize_replay_result,
)
from apps.taxlots.rules import FilingStatus, YearInput, capital_loss_limit, carryforward
from tests.unit.taxlots.builders import ACCOUNTS
from tests.unit.taxlots.test_properties import histories


def fuzz(examples: int) -> settings:
    """Bounded, derandomized hypothesis settings: CI sees the same inputs on every run.

    Failures are not shrunk: shrinking these documents was seen to take over 5 minutes; the
    failing input is printed as generated.
    """
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        # filter_too_much: the documents whose sells name lots are drawn by a filter on purpose;
        # under load hypothesis's generation budget can run out before 10 pass (seen once).
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# ------------------------------------------------------------------------------ rendering


@dataclasses.dataclass(frozen=True)
class Raw:
    """JSON text inserted verbatim: numbers JSON cannot hold, deep nesting, bad constants."""

    text: str


def emit(value: object, *, pretty: bool, depth: int = 0) -> str:
    """Render a document as JSON text; ``Decimal`` as its exact text, ``Raw`` verbatim."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Decimal):
        return str(value)
    indent = "\n" + "  " * (depth + 1) if pretty else ""
    close = "\n" + "  " * depth if pretty else ""
    if isinstance(value, dict):
        items = [
            f"{indent}{json.dumps(key)}: {emit(item, pretty=pretty, depth=depth + 1)}"
            for key, item in value.items()
        ]
        return "{" + ",".join(items) + (close if items else "") + "}"
    if isinstance(value, list):
        items = [f"{indent}{emit(item, pretty=pretty, depth=depth + 1)}" for item in value]
        return "[" + ",".join(items) + (close if items else "") + "]"
    return json.dumps(value)


# ------------------------------------------------------------------------ valid documents


@st.composite
def numbers(draw: st.DrawFn, value: Decimal) -> object:
    """One of the spellings the format accepts for a number: integer, exact decimal, string."""
    spellings: list[object] = [value, str(value)]
    if value == value.to_integral_value():
        spellings.append(int(value))
    return draw(st.sampled_from(spellings))


@st.composite
def trade_items(draw: st.DrawFn, trade: Trade) -> dict[str, object]:
    """A trade as the format spells it, keys in any order, with optional informational keys."""
    item: dict[str, object] = {
        "id": trade.id,
        "date": trade.date.isoformat(),
        "account": trade.account,
        "symbol": trade.symbol,
        "side": draw(st.sampled_from([trade.side.value, trade.side.value.upper()])),
        "quantity": draw(numbers(trade.quantity)),
        "amount": draw(numbers(trade.amount)),
    }
    if trade.lots is not None:
        item["lots"] = [
            {"lot_id": pick.lot_id, "quantity": draw(numbers(pick.quantity))} for pick in trade.lots
        ]
    if trade.lot_method is not None:
        item["lot_method"] = draw(st.sampled_from([trade.lot_method.value, trade.lot_method]))
    for key in ("buy_group", "holding_period_start", "wash_adjustment"):
        value = getattr(trade, key)
        if isinstance(value, dt.date):
            item[key] = value.isoformat()
        elif isinstance(value, Decimal):
            item[key] = draw(numbers(value))
        elif value is not None:
            item[key] = value
    if draw(st.integers(0, 4)) == 0:
        item["note"] = draw(st.sampled_from(["Café – 5 €", "split 2:1", ""]))
    keys = draw(st.permutations(list(item)))
    return {key: item[key] for key in keys}


@st.composite
def opening_lots(draw: st.DrawFn, trades: list[Trade]) -> list[Trade]:
    """Give some buys the fields of lots imported without history (earlier start, adjustment)."""
    out = []
    for trade in trades:
        if trade.side is Side.BUY and draw(st.integers(0, 5)) == 0:
            days = draw(st.integers(0, 800))
            adjustment = Decimal(draw(st.integers(0, 5000))) / 100
            trade = dataclasses.replace(
                trade,
                holding_period_start=trade.date - dt.timedelta(days=days),
                wash_adjustment=draw(st.sampled_from([None, adjustment])),
            )
        out.append(trade)
    return out


@dataclasses.dataclass(frozen=True)
class ReplayCase:
    """A valid history, its params, and two independent spellings of it as a document."""

    trades: list[Trade]
    params: ReplayParams
    document: dict[str, Any]
    respelt: dict[str, Any]


@st.composite
def replay_cases(draw: st.DrawFn, longest: int = 40) -> ReplayCase:
    """Valid tax-replay documents built from ``histories()`` (no oversells, valid picks).

    Args:
        longest: most trades kept (a history's first trades are a valid history too).
    """
    trades = draw(histories())[: draw(st.integers(1, longest))]
    trades = draw(opening_lots(trades))
    params = ReplayParams(
        lot_method=draw(st.sampled_from(LotMethod)),
        wash_sale_window_days=draw(st.sampled_from([30, 30, 0, 7, 61])),
        long_term_months=draw(st.sampled_from([12, 12, 1, 3, 24])),
    )
    # The histories' picks were chosen with FIFO relief: state it on every sell naming no method.
    trades = [
        dataclasses.replace(trade, lot_method=LotMethod.FIFO)
        if trade.side is Side.SELL and trade.lots is None and trade.lot_method is None
        else trade
        for trade in trades
    ]

    def spell() -> dict[str, Any]:
        document: dict[str, Any] = {}
        if params != ReplayParams() or draw(st.booleans()):
            document["params"] = {
                "lot_method": draw(st.sampled_from([params.lot_method.value, params.lot_method])),
                "wash_sale_window_days": params.wash_sale_window_days,
                "long_term_months": params.long_term_months,
            }
        accounts = [{"id": a.id, "type": a.type.value} for a in ACCOUNTS]
        document["accounts"] = draw(st.permutations(accounts))
        document["trades"] = [draw(trade_items(trade)) for trade in trades]
        if draw(st.booleans()):
            document["description"] = "generated"
        return document

    return ReplayCase(trades, params, spell(), spell())


money = st.integers(-(10**9), 10**9).map(lambda cents: Decimal(cents) / 100)


@st.composite
def carryforward_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid ``tax_carryforward`` documents: consecutive years, carryovers in on the first only."""
    first = draw(st.integers(1990, 2060))
    years: list[dict[str, object]] = []
    for index in range(draw(st.integers(1, 6))):
        year: dict[str, object] = {
            "year": first + index,
            "short_term_net": draw(money.flatmap(numbers)),
            "long_term_net": draw(money.flatmap(numbers)),
        }
        if index == 0 and draw(st.booleans()):
            year["carryover_in_short_term"] = draw(money.map(abs).flatmap(numbers))
            year["carryover_in_long_term"] = draw(money.map(abs).flatmap(numbers))
        years.append(year)
    return {"filing_status": draw(st.sampled_from(FilingStatus)).value, "years": years}


# ------------------------------------------------------------------------------ damage


# Values a field may be given instead of its own, by what the field holds; extremes are drawn
# as often as all the other numbers together.
EXTREME_NUMBERS: list[object] = [
    10**40, Decimal("1E+400"), Decimal("1E+999999999999999999"), Decimal("1E-999999999999999999"),
    10**18, Decimal("999999999999999999.99"), 10**14, Decimal("99999999999999.999999"), 10**9,
    Raw("1" * 4400), Raw("-" + "9" * 5000), Raw("NaN"), Raw("-Infinity"),
]  # fmt: skip
OTHER_NUMBERS: list[object] = [
    0, -1, Decimal("-0.01"), Decimal("-0"), Decimal("0.001"), Decimal("0.0000001"), 2**63,
    Decimal("1E-400"), Decimal("123456789012345678.99"), Raw("1" * 5000 + ".5e-3"), "1e400",
    "NaN", "Infinity", "sNaN", "1,000", "0x10", " 12 ", "١٢", 36525, 36526,
]  # fmt: skip
DATES_DAMAGED: list[object] = [
    "0001-01-01", "9999-12-31", "2023-02-30", "2023-13-01", "20230101", "2023-1-5", "2024-02-29",
    "٢٠٢٣-٠١-٠١", 20230101,
]  # fmt: skip
TEXTS_DAMAGED: list[object] = [
    "", " ", "nope", "a\nb", "x\u2028y", "\r", "\ud800", "Café", "x" * 10_000, "FIFO", "hifo",
    "Buy", "SELL", "taxable", "roth_ira", "married_filing_separately", 12,
]  # fmt: skip
ANY_DAMAGED: list[object] = [
    None, True, [], {}, [1, "a", None, [2]], {"a": {"b": []}},
    Raw("[" * 3000 + "]" * 3000), Raw('{"a":' * 1500 + "1" + "}" * 1500),
]  # fmt: skip
damaged_numbers = st.one_of(
    st.sampled_from(EXTREME_NUMBERS), st.sampled_from(OTHER_NUMBERS + ANY_DAMAGED)
)
nasty = st.one_of(
    damaged_numbers,
    st.sampled_from(DATES_DAMAGED + TEXTS_DAMAGED + ANY_DAMAGED),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
NUMBER_FIELDS = {
    "quantity", "amount", "wash_adjustment", "wash_sale_window_days", "long_term_months",
    "short_term_net", "long_term_net", "carryover_in_short_term", "carryover_in_long_term", "year",
}  # fmt: skip
DATE_FIELDS = {"date", "holding_period_start"}
EXTRA_KEYS = ["qty", "Quantity", "note", "lots", "id", "", "lot_method", "price", "a\nb"]


def field_damage(field: str) -> st.SearchStrategy[object]:
    """Wrong values for one field of the formats: wrong kind, wrong size, wrong spelling."""
    if field in NUMBER_FIELDS:
        return damaged_numbers
    if field in DATE_FIELDS:
        return st.sampled_from(DATES_DAMAGED + ANY_DAMAGED)
    return st.sampled_from(TEXTS_DAMAGED + ANY_DAMAGED)


Path_ = tuple[str | int, ...]


def nodes(value: object, path: Path_ = ()) -> list[Path_]:
    """Every path in a document, root first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nodes(item, (*path, index))
    return found


def at(document: Any, path: Path_) -> Any:
    for step in path:
        document = document[step]
    return document


def items_of(document: Any, key: str) -> list[Any]:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, list) else []


@st.composite
def damage(draw: st.DrawFn, document: Any, domain: Callable[..., None]) -> Any:
    """Damage ``document`` once, in place; returns it (a new value when the root is replaced).

    Mostly one field given a wrong value (the field chosen by name, so that every field of the
    format is damaged as often), or damage only this format can have (``domain``).
    """
    kind = draw(
        st.sampled_from(
            ["field", "field", "field", "domain", "domain", "key", "delete", "duplicate", "swap",
             "replace"]
        )
    )  # fmt: skip
    if kind == "domain":
        domain(draw, document)
        return document
    paths = nodes(document)
    if kind == "field":
        fields = [path for path in paths if path and isinstance(path[-1], str)]
        if not fields:
            return document
        name = draw(st.sampled_from(sorted({str(path[-1]) for path in fields})))
        path = draw(st.sampled_from([path for path in fields if path[-1] == name]))
        at(document, path[:-1])[name] = draw(field_damage(name))
        return document
    path = draw(st.sampled_from(paths))
    if not path:
        return draw(nasty) if kind == "replace" else document
    parent, last = at(document, path[:-1]), path[-1]
    if kind == "replace":
        parent[last] = draw(nasty)
    elif kind == "delete":
        del parent[last]
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(draw(st.integers(0, len(parent))), copy.deepcopy(parent[last]))
    elif kind == "swap" and isinstance(parent, list):
        other = draw(st.integers(0, len(parent) - 1))
        parent[last], parent[other] = parent[other], parent[last]
    elif kind == "key" and isinstance(parent, dict):
        parent[draw(st.sampled_from(EXTRA_KEYS))] = draw(nasty)
    return document


@st.composite
def damaged_tree(
    draw: st.DrawFn, document: Any, domain: Callable[..., None], *, most: int = 3
) -> Any:
    """A copy of ``document`` damaged 1 to ``most`` times."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, most))):
        document = draw(damage(document, domain))
    return document


def move_to_end(document: Any, end: str, days: int) -> None:
    """Move a history's trades to ``days`` from the first or last date a file can name
    (0001-01-01, 9999-12-31), keeping the days between them; a holding-period start that
    would fall before 0001-01-01 becomes 0001-01-01."""
    found = [
        (trade, key)
        for trade in items_of(document, "trades")
        for key in ("date", "holding_period_start")
        if isinstance(trade, dict)
        and isinstance(trade.get(key), str)
        and re.fullmatch(r"\d{4}-\d\d-\d\d", trade[key])
    ]
    dates = [dt.date.fromisoformat(trade[key]) for trade, key in found if key == "date"]
    if not dates:
        return
    if end == "first":
        delta = dt.date.min + dt.timedelta(days=days) - min(dates)
    else:
        delta = dt.date.max - dt.timedelta(days=days) - max(dates)
    for trade, key in found:
        day = dt.date.fromisoformat(trade[key])
        trade[key] = (day + max(delta, dt.date.min - day)).isoformat()


def replay_damage(draw: st.DrawFn, document: Any) -> None:
    """Damage only a tax-replay file can have; every one keeps the JSON well formed."""
    trades = [t for t in items_of(document, "trades") if isinstance(t, dict)]
    kind = draw(st.sampled_from(["edge", "edge", "params", "mixed", "account", "oversell", "pick"]))
    if kind == "edge":
        move_to_end(document, draw(st.sampled_from(["first", "last"])), draw(st.integers(0, 40)))
    elif kind == "params":
        params = document.setdefault("params", {})
        if isinstance(params, dict):
            key = draw(st.sampled_from(["wash_sale_window_days", "long_term_months"]))
            params[key] = draw(damaged_numbers)
    elif kind == "mixed":  # another household's file appended: same ids, own dates
        other = draw(replay_cases()).document
        prefix = draw(st.sampled_from(["", "firm-b-"]))
        for account in other["accounts"]:
            account["id"] = prefix + account["id"]
        for trade in other["trades"]:
            trade["account"] = prefix + trade["account"]
        for key in ("accounts", "trades"):
            if isinstance(document.get(key), list):
                document[key] += other[key]
    elif trades:
        trade = draw(st.sampled_from(trades))
        if kind == "account":
            trade["account"] = draw(st.sampled_from(["nope", "", "TAXABLE", "firm-b-taxable"]))
        elif kind == "oversell":
            factor = draw(st.sampled_from([2, 10, 10**6]))
            for item in [trade, *(p for p in items_of(trade, "lots") if isinstance(p, dict))]:
                if isinstance(item.get("quantity"), int | Decimal):
                    item["quantity"] = item["quantity"] * factor
        else:  # a pick of a lot that is not an earlier buy of this account and symbol
            other_ids = [t.get("id") for t in trades]
            trade["lots"] = [{"lot_id": draw(st.sampled_from(other_ids)), "quantity": 1}]


def carryforward_damage(draw: st.DrawFn, document: Any) -> None:
    """Damage only a carryforward file can have: gaps, edge years, a wrong filing status."""
    years = [y for y in items_of(document, "years") if isinstance(y, dict)]
    if not years:
        return
    if draw(st.booleans()):
        draw(st.sampled_from(years))["year"] = draw(st.sampled_from([0, -1, 1, 9999, 10**40]))
    else:
        document["filing_status"] = draw(st.sampled_from(["SINGLE", "married", "", None]))


@st.composite
def rendered(draw: st.DrawFn, document: Any, *, cut: bool = True) -> str:
    """JSON text of a (maybe damaged) document: compact or indented, maybe truncated."""
    text = emit(document, pretty=draw(st.booleans()))
    if cut and draw(st.integers(0, 4)) == 0:
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["trades", "accounts", "years", "id", "x"]), children)
    ),
    max_leaves=12,
)
arbitrary_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet='{}[]":,0123456789eE.+- \ntruefalsn', max_size=120),
    json_values.map(json.dumps),
)


# ------------------------------------------------------------------------------ checks

WHERE = re.compile(
    r"input|params"
    r"|accounts\[\d+\]|account .+ \(accounts\[(?P<account>\d+)\]\)"
    r"|trades\[\d+\]|trade .+ \(trades\[(?P<trade>\d+)\]\)"
    r"|years\[\d+\]|year .+ \(years\[\d+\]\)",
    re.DOTALL,
)
WHERE_LINE = re.compile(rf"(?:{WHERE.pattern}): \S")
JSON_POSITION = re.compile(r"line (\d+) column (\d+)")


def check_problems(exc: TaxLotInputError, text: str | bytes) -> None:
    """Every problem says where: a JSON path, or ``input`` with a line and column."""
    assert exc.problems
    assert exc.lines() == [str(problem) for problem in exc.problems]
    lines = (text.count("\n") if isinstance(text, str) else text.count(b"\n")) + 1
    for problem in exc.problems:
        assert WHERE.fullmatch(problem.where), problem
        assert problem.message, problem
        assert len(str(problem).splitlines()) == 1, problem  # one line per problem
        if problem.where == "input" and not problem.field:
            position = JSON_POSITION.search(problem.message)
            if problem.message.startswith("must be an object"):
                continue
            assert position, problem
            assert 1 <= int(position[1]) <= lines, problem


def check_indexes(exc: TaxLotInputError, document: Any) -> None:
    """A problem's ``trades[i]`` / ``accounts[i]`` is an element the file has."""
    for problem in exc.problems:
        match = WHERE.fullmatch(problem.where)
        assert match
        for group, key in (("trade", "trades"), ("account", "accounts")):
            if match[group] is not None:
                assert int(match[group]) < len(items_of(document, key)), problem


def _strict_json(text: str) -> Any:
    def no_constant(name: str) -> None:
        raise AssertionError(f"{name} in the output")

    return json.loads(text, parse_constant=no_constant)


# The output's amounts are JSON numbers written from binary floats: exact to the cent up to 15
# significant digits, i.e. below 10**13 USD; sums of larger amounts are compared only that far.
EXACT_BELOW = Decimal(10**13)


def exact(*amounts: Decimal) -> bool:
    return all(amount.copy_abs() < EXACT_BELOW for amount in amounts)


def check_replay_output(out: dict[str, Any]) -> None:
    """Valid JSON with finite numbers; totals are the sums of the rows (cents)."""
    assert _strict_json(dumps(out)) == out
    assert list(out) == ["realized", "lots_open", "wash_matches", "totals"]
    cents = [Decimal(str(row["reportable_gain_loss"])) for row in out["realized"]]
    terms = [row["term"] for row in out["realized"]]
    for term, total in (("short", "short_term"), ("long", "long_term")):
        expected = sum((c for c, t in zip(cents, terms, strict=True) if t == term), Decimal(0))
        if exact(expected, *cents):
            assert Decimal(str(out["totals"][total])) == expected


def check_carryforward_output(out: dict[str, Any]) -> None:
    """Valid JSON; each year's deduction within the limit, the rest of the loss carried."""
    assert _strict_json(dumps(out)) == out
    limit = capital_loss_limit(FilingStatus(out["filing_status"]))
    previous = None
    for year in out["years"]:
        amount = {key: Decimal(str(value)) for key, value in year.items() if key != "year"}
        deduction = amount["deduction_against_ordinary_income"]
        carried = amount["carryover_out_short_term"] + amount["carryover_out_long_term"]
        assert Decimal(0) <= deduction <= limit
        if exact(*amount.values(), amount["net_short_term"] + amount["net_long_term"]):
            assert amount["net_capital"] == amount["net_short_term"] + amount["net_long_term"]
            assert deduction + carried == max(-amount["net_capital"], Decimal(0))
        if previous is not None:
            assert amount["carryover_in_short_term"] == previous["carryover_out_short_term"]
            assert amount["carryover_in_long_term"] == previous["carryover_out_long_term"]
        previous = amount


def outcome(
    run: Callable[[str], dict[str, Any]],
    error: type[TaxLotInputError],
    check_output: Callable[[dict[str, Any]], None],
    text: str,
) -> tuple[str, TaxLotInputError | None]:
    """Run one input: only a result or the format's own error may come out."""
    try:
        out = run(text)
    except error as exc:
        check_problems(exc, text)
        return "error", exc
    check_output(out)
    return "result", None


def report(capsys: pytest.CaptureFixture[str], name: str, tried: Counter[str]) -> None:
    with capsys.disabled():
        print(f"\n{name}: {tried.total()} inputs tried ({dict(sorted(tried.items()))})")


# --------------------------------------------------------------------- valid documents


def test_valid_replay_documents_replay_faithfully(capsys: pytest.CaptureFixture[str]) -> None:
    """Any spelling of a valid history gives the engine's own result, the same every time."""
    tried: Counter[str] = Counter()

    @fuzz(80)
    @given(case=replay_cases(), pretty=st.booleans())
    def check(case: ReplayCase, pretty: bool) -> None:
        text = emit(case.document, pretty=pretty)
        out = replay_document(text)
        check_replay_output(out)
        assert out == serialize_replay_result(replay(ACCOUNTS, case.trades, case.params))
        assert dumps(replay_document(emit(case.respelt, pretty=not pretty))) == dumps(out)
        tried["wash sales" if out["wash_matches"] else "no wash sale"] += 1

    check()
    report(capsys, "valid tax_replay documents", tried)
    assert tried["wash sales"] and tried["no wash sale"]


def test_valid_carryforward_documents(capsys: pytest.CaptureFixture[str]) -> None:
    """Valid carryforward files: the rules' own result, deterministic, losses all accounted."""
    tried: Counter[str] = Counter()

    @fuzz(150)
    @given(document=carryforward_documents(), pretty=st.booleans())
    def check(document: dict[str, Any], pretty: bool) -> None:
        out = carryforward_document(emit(document, pretty=pretty))
        check_carryforward_output(out)
        years = [
            YearInput(
                y["year"],
                Decimal(str(y["short_term_net"])),
                Decimal(str(y["long_term_net"])),
                Decimal(str(y.get("carryover_in_short_term", 0))),
                Decimal(str(y.get("carryover_in_long_term", 0))),
            )
            for y in document["years"]
        ]
        status = document["filing_status"]
        assert out == serialize_carryforward(status, carryforward(status, years))
        assert dumps(carryforward_document(emit(document, pretty=not pretty))) == dumps(out)
        carried = any(y["carryover_out_long_term"] or y["carryover_out_short_term"]
                      for y in out["years"])  # fmt: skip
        tried["loss carried" if carried else "nothing carried"] += 1

    check()
    report(capsys, "valid tax_carryforward documents", tried)
    assert tried["loss carried"] and tried["nothing carried"]


# ------------------------------------------------------------------------- bad documents


def test_any_text_is_a_result_or_located_problems(capsys: pytest.CaptureFixture[str]) -> None:
    tried: Counter[str] = Counter()

    @fuzz(300)
    @given(text=arbitrary_text)
    def check(text: str) -> None:
        replay_outcome, _ = outcome(replay_document, ReplayError, check_replay_output, text)
        carry_outcome, _ = outcome(
            carryforward_document, CarryforwardError, check_carryforward_output, text
        )
        tried[f"replay {replay_outcome}"] += 1
        tried[f"carryforward {carry_outcome}"] += 1

    check()
    report(capsys, "arbitrary text", tried)
    assert tried["replay error"] and tried["carryforward error"]


# What issue #10 lists a field may hold instead of its value.
WRONG_VALUES: list[object] = [
    None, True, "x", "", [1, "a", None, [2]], {}, -1, 0, 10**40, Decimal("1E+400"),
    Decimal("1E+999999999999999999"), Raw("1" * 4400), "NaN", Raw("NaN"), "0001-01-01",
    "9999-12-31", "2023-02-30", "a\nb",
]  # fmt: skip
REPLAY_FIELDS: list[tuple[str, str]] = [
    *(
        ("trades", key)
        for key in ("id", "date", "account", "symbol", "side", "quantity", "amount", "lots",
                    "lot_method", "buy_group", "holding_period_start", "wash_adjustment")
    ),
    ("lots", "lot_id"), ("lots", "quantity"), ("accounts", "id"), ("accounts", "type"),
    ("params", "lot_method"), ("params", "wash_sale_window_days"), ("params", "long_term_months"),
    ("params", "substantially_identical"),
    ("input", "params"), ("input", "accounts"), ("input", "trades"),
]  # fmt: skip
CARRYFORWARD_FIELDS: list[tuple[str, str]] = [
    ("years", "year"), ("years", "short_term_net"), ("years", "long_term_net"),
    ("years", "carryover_in_short_term"), ("years", "carryover_in_long_term"),
    ("input", "filing_status"), ("input", "years"),
]  # fmt: skip


def holders(document: Any, where: str) -> list[dict[str, Any]]:
    """The objects of a document that hold the fields of ``where`` (``input``: the root)."""
    if where == "input":
        return [document]
    if where == "params":
        return [document.setdefault("params", {})]
    if where == "lots":
        return [pick for trade in document["trades"] for pick in trade.get("lots", [])]
    return list(document[where])


def drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` values of ``strategy``, the same on every run."""
    found: list[Any] = []

    @fuzz(count)
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


@pytest.mark.parametrize("fields", ["tax_replay", "tax_carryforward"])
def test_every_field_given_every_wrong_value(
    fields: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each field of the format given each wrong value of the issue's list, in turn, in drawn
    valid documents (a different one, and a different holder of the field, for each pair)."""
    if fields == "tax_replay":
        pairs = list(itertools.product(REPLAY_FIELDS, WRONG_VALUES))
        pool = [case.document for case in drawn(replay_cases(longest=8), 40)]
        # Documents whose sells name lots, drawn as such: whether 40 free draws hold one depends
        # on the platform's generation (none did on Debian's Python 3.11.2).
        with_picks = [
            case.document
            for case in drawn(
                replay_cases(longest=8).filter(lambda c: holders(c.document, "lots")), 10
            )
        ]
        run, error, check_output = replay_document, ReplayError, check_replay_output
    else:
        pairs = list(itertools.product(CARRYFORWARD_FIELDS, WRONG_VALUES))
        pool = drawn(carryforward_documents(), 40)
        with_picks: list[dict[str, Any]] = []  # the carryforward format has no lot picks
        run, error, check_output = (
            carryforward_document,
            CarryforwardError,
            check_carryforward_output,
        )
    tried: Counter[str] = Counter()
    for number, ((where, key), value) in enumerate(pairs):
        documents = with_picks if where == "lots" else pool
        document = copy.deepcopy(documents[number % len(documents)])
        targets = holders(document, where)
        targets[number % len(targets)][key] = value
        text = emit(document, pretty=True)
        result, exc = outcome(run, error, check_output, text)
        if exc is not None and exc.problems[0].where != "input":
            check_indexes(exc, loads(text))
        tried[result] += 1
    report(capsys, f"{fields}: every field given every wrong value", tried)
    assert tried["error"] > tried["result"] > 0


@pytest.mark.parametrize("end", ["first", "last"])
def test_histories_at_the_ends_of_the_calendar(
    end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid histories moved to 0001-01-01 or 9999-12-31, where windows and holding periods
    reach past the calendar: the same amounts as where they were, or (first date only) the
    problem that a tacked holding period would start before 0001-01-01, naming the trade.

    At the first date every buy is an opening lot held since 0001-01-01: a replacement bought
    before such a lot's loss sale would have to start holding before that day."""
    tried: Counter[str] = Counter()

    def amounts(out: dict[str, Any]) -> Counter[tuple[str, str, str]]:
        # Per (sell, lot) and amount: holding periods move and may split rows differently.
        found: Counter[tuple[str, str, str]] = Counter()
        for row in out["realized"]:
            for key in ("quantity", "proceeds", "cost_basis", "wash_sale_disallowed"):
                found[(row["sell_id"], row["lot_id"], key)] += Decimal(str(row[key]))
        return found

    @fuzz(200 if end == "first" else 100)
    @given(case=replay_cases(longest=20), days=st.integers(0, 5 if end == "first" else 40))
    def check(case: ReplayCase, days: int) -> None:
        base = copy.deepcopy(case.document)  # with the statute's window: more wash sales
        base["params"] = {**base.get("params", {}), "wash_sale_window_days": 30}
        document = copy.deepcopy(base)
        move_to_end(document, end, days)
        for trade in document["trades"] if end == "first" else ():
            if trade["side"].lower() == "buy":
                trade["holding_period_start"] = dt.date.min.isoformat()
        try:
            out = replay_document(emit(document, pretty=False))
        except ReplayError as exc:
            assert end == "first"
            for problem in exc.problems:
                assert problem.field == "date", problem
                assert problem.message.endswith("would start before 0001-01-01"), problem
            check_indexes(exc, document)
            tried["error: tacked before 0001-01-01"] += 1
            return
        check_replay_output(out)
        assert amounts(out) == amounts(replay_document(emit(base, pretty=False)))
        tried["result: same amounts"] += 1

    check()
    report(capsys, f"histories at the {end} date", tried)
    assert tried["result: same amounts"]
    assert tried["error: tacked before 0001-01-01"] or end == "last"


DAMAGES = pytest.mark.parametrize(
    ("most", "cut"), [(1, False), (3, True)], ids=["one damage", "several, maybe truncated"]
)


@DAMAGES
def test_damaged_replay_documents(most: int, cut: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """Damaged valid files: a result, or every problem with its trade (an index the file has)."""
    tried: Counter[str] = Counter()

    @fuzz(300 if most == 1 else 150)
    @given(data=st.data(), case=replay_cases(longest=12))
    def check(data: st.DataObject, case: ReplayCase) -> None:
        document = data.draw(damaged_tree(case.document, replay_damage, most=most))
        text = data.draw(rendered(document, cut=cut))
        result, exc = outcome(replay_document, ReplayError, check_replay_output, text)
        if exc is not None and exc.problems[0].where != "input":
            check_indexes(exc, loads(text))
        tried[result] += 1

    check()
    report(capsys, f"tax_replay documents, {'one damage' if most == 1 else 'damaged'}", tried)
    assert tried["error"] > tried["result"] > 0


@DAMAGES
def test_damaged_carryforward_documents(
    most: int, cut: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    tried: Counter[str] = Counter()

    @fuzz(300 if most == 1 else 150)
    @given(data=st.data(), document=carryforward_documents())
    def check(data: st.DataObject, document: dict[str, Any]) -> None:
        damaged = data.draw(damaged_tree(document, carryforward_damage, most=most))
        text = data.draw(rendered(damaged, cut=cut))
        result, _ = outcome(
            carryforward_document, CarryforwardError, check_carryforward_output, text
        )
        tried[result] += 1

    check()
    report(capsys, f"tax_carryforward, {'one damage' if most == 1 else 'damaged'}", tried)
    assert tried["error"] > tried["result"] > 0


# ----------------------------------------------------------------------------- commands

ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]
SENTINEL = "an earlier result, to be kept\n"


@st.composite
def file_bytes(draw: st.DrawFn, text: str) -> bytes:
    """``text`` saved in some encoding, maybe cut (even inside a character) or with junk."""
    content = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if draw(st.integers(0, 4)) == 0:
        content = content[: draw(st.integers(0, len(content)))]
    if draw(st.integers(0, 5)) == 0:
        content += draw(st.binary(min_size=1, max_size=6))
    return content


def run_command(
    command: str, content: bytes, folder: Path, *, to_file: bool
) -> tuple[str, list[str]]:
    """Run a command on ``content``; returns ("result", []) or ("error", its stderr lines)."""
    source, target = folder / "in.json", folder / "out.json"
    source.write_bytes(content)
    target.write_text(SENTINEL, encoding="utf-8")
    module = tax_replay if command == "tax_replay" else tax_carryforward
    args = [str(source), *(["-o", str(target)] if to_file else [])]
    out, err = StringIO(), StringIO()
    status: int | str | None = 0
    try:
        call_command(module.Command(), *args, stdout=out, stderr=err)
    except SystemExit as exited:  # anything else (a traceback) fails the property
        status = exited.code
    if status:
        assert status == 2
        assert out.getvalue() == ""  # no result, not even part of one
        assert target.read_text(encoding="utf-8") == SENTINEL  # the output file untouched
        lines = err.getvalue().splitlines()
        assert lines
        assert all(WHERE_LINE.match(line) for line in lines), lines
        return "error", lines
    assert err.getvalue() == ""
    printed = target.read_text(encoding="utf-8") if to_file else out.getvalue()
    assert (out.getvalue() == "") == to_file
    result = _strict_json(printed)
    if command == "tax_replay":
        check_replay_output(result)
    else:
        check_carryforward_output(result)
    assert set(folder.iterdir()) == {source, target}  # no temporary file left behind
    return "result", []


@pytest.mark.parametrize("command", ["tax_replay", "tax_carryforward"])
def test_commands_on_any_file(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any bytes, any encoding, any damage: JSON out (exit 0) or located lines (exit 2)."""
    tried: Counter[str] = Counter()
    if command == "tax_replay":
        documents = replay_cases().flatmap(
            lambda case: st.one_of(
                st.just(case.document), damaged_tree(case.document, replay_damage)
            )
        )
    else:
        documents = carryforward_documents().flatmap(
            lambda doc: st.one_of(st.just(doc), damaged_tree(doc, carryforward_damage))
        )
    contents = st.one_of(
        st.binary(max_size=200),
        documents.flatmap(rendered).flatmap(file_bytes),
    )

    @fuzz(150)
    @given(content=contents, to_file=st.booleans() if command == "tax_replay" else st.just(False))
    def check(content: bytes, to_file: bool) -> None:
        result, lines = run_command(command, content, tmp_path, to_file=to_file)
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            result = "refused: UTF-16/32"
            name = "UTF-32" if content.startswith(codecs.BOM_UTF32_LE) else "UTF-16"
            assert lines == [f"input: not UTF-8 text at line 1 column 1: the file is {name}; "
                             "save it as UTF-8"]  # fmt: skip
        tried[result] += 1

    check()
    report(capsys, f"{command} on generated files", tried)
    assert tried["error"] and tried["result"] and tried["refused: UTF-16/32"]
