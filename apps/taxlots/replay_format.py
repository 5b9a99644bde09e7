"""The tax-replay JSON format (``docs/formats/tax-replay.md``): parse, validate, serialize.

Files are UTF-8 (a leading byte-order mark is ignored, as RFC 8259 section 8.1 allows). Input
numbers are read as ``Decimal`` straight from their JSON text (never through ``float``);
numeric strings are accepted too. Output amounts are JSON numbers rounded half-even to cents,
quantities are JSON integers when whole. Every problem in a file is reported, one per line,
with the trade (id and index), the field and why; a file with any problem yields no result.

Unknown keys: ignored at the top level (a case file may carry ``description`` or ``expected``);
inside ``params``, ``accounts``, ``trades`` and ``lots`` they are errors, so that a misspelt
field cannot silently change a tax result, except the informational keys in
:data:`INFORMATIONAL_KEYS`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TypeVar

from apps.taxlots.engine import (
    AccountSpec,
    AccountType,
    LotMethod,
    LotPick,
    ReplayParams,
    ReplayResult,
    Side,
    Trade,
    replay_checked,
)
from apps.taxlots.errors import (
    CarryforwardError,
    Problem,
    ReplayError,
    TaxLotInputError,
    shortened,
)
from apps.taxlots.rules import FilingStatus, YearInput, YearResult, carryforward

__all__ = [
    "INFORMATIONAL_KEYS",
    "ReplayInput",
    "carryforward_document",
    "dumps",
    "loads",
    "parse_carryforward_input",
    "parse_replay_input",
    "replay_document",
    "serialize_carryforward",
    "serialize_replay_result",
]

CENT = Decimal("0.01")
#: Keys allowed anywhere for people's benefit; they never change a result.
INFORMATIONAL_KEYS = frozenset({"note", "notes", "comment", "description", "source", "price"})

_PARAMS_KEYS = {
    "lot_method",
    "wash_sale_window_days",
    "long_term_months",
    "substantially_identical",
}
_ACCOUNT_KEYS = {"id", "type"}
_TRADE_KEYS = {
    "id",
    "date",
    "account",
    "symbol",
    "side",
    "quantity",
    "amount",
    "lots",
    "lot_method",
    "buy_group",
    "holding_period_start",
    "wash_adjustment",
}
_PICK_KEYS = {"lot_id", "quantity"}
_YEAR_KEYS = {
    "year",
    "short_term_net",
    "long_term_net",
    "carryover_in_short_term",
    "carryover_in_long_term",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Integers at or above this in size are out of range anywhere in the format.
_HUGE = Decimal(10**18)

_T = TypeVar("_T")


class _BadJSONError(ValueError):
    def __init__(self, constant: str) -> None:
        super().__init__(constant)
        self.constant = constant


def _reject_constant(name: str) -> object:
    raise _BadJSONError(name)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object's members, refusing a name given twice (JSON would keep the last silently)."""
    members: dict[str, object] = {}
    for key, value in pairs:
        if key in members:
            raise _DuplicateKeyError(key)
        members[key] = value
    return members


def _integer(text: str) -> int | Decimal:
    # Python refuses int() of more than 4,300 digits; such a number is reported where it is.
    return int(text) if len(text) <= 4000 else Decimal(text)


_OTHER_UNICODE = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decode(data: bytes, error: type[TaxLotInputError]) -> str:
    """Return a UTF-8 file's text, or raise ``error`` naming the line and column of a bad byte."""
    for mark, name in _OTHER_UNICODE:
        if data.startswith(mark):
            message = f"not UTF-8 text at line 1 column 1: the file is {name}; save it as UTF-8"
            raise error([Problem("input", "", message)])
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        message = (
            f"not UTF-8 text at line {line} column {column}: byte 0x{data[exc.start]:02x} "
            f"({exc.reason}); save the file as UTF-8"
        )
        raise error([Problem("input", "", message)]) from exc


def _outside_strings(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield (index, line, column) of every character of JSON text outside its strings."""
    in_string, escaped, line, line_start = False, False, 1, 0
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        yield index, line, index - line_start + 1
        if char == '"':
            in_string = True
        elif char == "\n":
            line, line_start = line + 1, index + 1


def _deepest(text: str) -> tuple[int, int, int]:
    """Return the deepest nesting of arrays and objects in JSON text, and its line and column."""
    deepest, level = (0, 1, 1), 0
    for index, line, column in _outside_strings(text):
        if text[index] in "[{":
            level += 1
            if level > deepest[0]:
                deepest = (level, line, column)
        elif text[index] in "]}":
            level -= 1
    return deepest


def _position_of(text: str, token: str) -> tuple[int, int]:
    """Return the line and column of ``token``'s first occurrence outside JSON strings."""
    for index, line, column in _outside_strings(text):
        if text.startswith(token, index):
            return line, column
    return 1, 1  # not reached: the parser found the token


def loads(text: str | bytes, *, error: type[TaxLotInputError] = ReplayError) -> object:
    """Parse JSON text (or a UTF-8 file's bytes) with every non-integer number a ``Decimal``.

    Raises:
        TaxLotInputError: (``error``) with one problem, naming the line and column, when the
            bytes are not UTF-8 or the text is not valid JSON.
    """
    if isinstance(text, bytes):
        text = _decode(text, error)
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=_integer,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise error(
            [
                Problem(
                    "input", "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
                )
            ]
        ) from exc
    except _BadJSONError as exc:
        line, column = _position_of(text, exc.constant)
        message = f"invalid JSON at line {line} column {column}: {exc.constant} is not a number"
        raise error([Problem("input", "", message)]) from exc
    except _DuplicateKeyError as exc:
        message = (
            f"invalid JSON: an object gives {json.dumps(exc.key)} twice "
            "(each field once: which value was meant is unknown)"
        )
        raise error([Problem("input", "", message)]) from exc
    except RecursionError as exc:  # the parser recurses once per level of nesting
        depth, line, column = _deepest(text)
        message = (
            f"invalid JSON at line {line} column {column}: arrays and objects nested {depth} "
            "deep, too deep to read"
        )
        raise error([Problem("input", "", message)]) from exc


def _json_number(value: Decimal, *, money: bool) -> int | float:
    if money:
        value = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
        return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def dumps(document: Mapping[str, object]) -> str:
    """Serialize an output document as indented JSON text ending with a newline."""
    return json.dumps(document, indent=2) + "\n"


# ---------------------------------------------------------------------------------- reading


class _Reader:
    """Collects problems while reading typed fields out of JSON objects."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, where: str, field: str, message: str) -> None:
        self.problems.append(Problem(where, field, message))

    def mapping(self, value: object, where: str, field: str) -> Mapping[str, object] | None:
        if isinstance(value, dict):
            return value
        self.problem(where, field, f"must be an object, got {_kind(value)}")
        return None

    def array(self, value: object, where: str, field: str) -> Sequence[object] | None:
        if isinstance(value, list):
            return value
        self.problem(where, field, f"must be an array, got {_kind(value)}")
        return None

    def unknown_keys(self, obj: Mapping[str, object], allowed: set[str], where: str) -> None:
        for key in obj:
            if key not in allowed and key not in INFORMATIONAL_KEYS:
                self.problem(where, key, "unknown field (misspelt?)")

    def text(self, obj: Mapping[str, object], key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is None:
            self.problem(where, key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(where, key, f"must be a non-empty string, got {_kind(value)}")
            return None
        return value

    def optional_text(self, obj: Mapping[str, object], key: str, where: str) -> str | None:
        if obj.get(key) is None:
            return None
        return self.text(obj, key, where)

    def number(
        self, obj: Mapping[str, object], key: str, where: str, field: str = ""
    ) -> Decimal | None:
        """Read ``obj[key]`` as a number; problems name ``field`` (default: ``key``)."""
        field = field or key
        value = obj.get(key)
        if value is None:
            self.problem(where, field, "is required")
            return None
        if isinstance(value, bool):
            self.problem(where, field, "must be a number, got a boolean")
            return None
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                number = None
            if number is not None and number.is_finite():
                return number
        self.problem(where, field, f"must be a number, got {_kind(value)}")
        return None

    def optional_number(self, obj: Mapping[str, object], key: str, where: str) -> Decimal | None:
        if obj.get(key) is None:
            return None
        return self.number(obj, key, where)

    def integer(self, obj: Mapping[str, object], key: str, where: str, default: int) -> int:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, Decimal) and value == value.to_integral_value():
            if value.copy_abs() < _HUGE:  # abs() would round, and overflow
                return int(value)
            self.problem(where, key, f"is out of range: {_kind(value)}")
            return default
        self.problem(where, key, f"must be an integer, got {_kind(value)}")
        return default

    def date(self, obj: Mapping[str, object], key: str, where: str) -> dt.date | None:
        value = obj.get(key)
        if value is None:
            self.problem(where, key, "is required")
            return None
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError as exc:
                self.problem(where, key, f"{value!r} is not a valid date: {exc}")
                return None
        self.problem(where, key, f"must be a date as YYYY-MM-DD, got {_shown(value)}")
        return None

    def optional_date(self, obj: Mapping[str, object], key: str, where: str) -> dt.date | None:
        if obj.get(key) is None:
            return None
        return self.date(obj, key, where)

    def choice(
        self,
        obj: Mapping[str, object],
        key: str,
        where: str,
        parse: Callable[[str], _T],
        allowed: Sequence[str],
    ) -> _T | None:
        value = obj.get(key)
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        self.problem(where, key, f"must be one of {', '.join(allowed)}, got {_shown(value)}")
        return None


def _shown(value: object) -> str:
    """A value as a problem quotes it: a string in quotes, anything else by its kind."""
    return repr(shortened(value)) if isinstance(value, str) else _kind(value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return f"the number {shortened(str(value))}"
    if isinstance(value, str):
        return f"the string {shortened(value)!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _lot_method(value: str) -> LotMethod:
    return LotMethod(value.upper())


_LOT_METHODS = [m.value for m in LotMethod]


@dataclass(frozen=True, slots=True)
class ReplayInput:
    """A parsed tax-replay input file.

    Attributes:
        accounts: the household's accounts.
        trades: in file order; trades listed in ``unparsable`` are placeholders.
        params: replay settings (defaults for missing keys).
        unparsable: indexes of trades whose problems are already in ``problems``.
        problems: problems found while reading the file (empty when it is well formed).
    """

    accounts: tuple[AccountSpec, ...]
    trades: tuple[Trade, ...]
    params: ReplayParams
    unparsable: frozenset[int] = frozenset()
    problems: tuple[Problem, ...] = ()


def parse_replay_input(document: object) -> ReplayInput:
    """Read a tax-replay input document (already JSON-decoded) into engine types.

    Shape problems (missing or mistyped fields) are collected in ``ReplayInput.problems``
    rather than raised, so that :func:`replay_document` can report them together with the
    engine's own checks; call :func:`replay_document` for the whole pipeline.
    """
    reader = _Reader()
    root = reader.mapping(document, "input", "") or {}

    params = ReplayParams()
    raw_params = root.get("params")
    if raw_params is not None:
        params_obj = reader.mapping(raw_params, "input", "params")
        if params_obj is not None:
            reader.unknown_keys(params_obj, _PARAMS_KEYS, "params")
            method = LotMethod.FIFO
            if params_obj.get("lot_method") is not None:
                method = (
                    reader.choice(params_obj, "lot_method", "params", _lot_method, _LOT_METHODS)
                    or LotMethod.FIFO
                )
            params = ReplayParams(
                lot_method=method,
                wash_sale_window_days=reader.integer(
                    params_obj, "wash_sale_window_days", "params", 30
                ),
                long_term_months=reader.integer(params_obj, "long_term_months", "params", 12),
                substantially_identical=_read_groups(
                    reader, params_obj.get("substantially_identical")
                ),
            )

    accounts: list[AccountSpec] = []
    raw_accounts = reader.array(root.get("accounts"), "input", "accounts") or []
    for index, raw in enumerate(raw_accounts):
        where = f"accounts[{index}]"
        obj = reader.mapping(raw, where, "")
        if obj is None:
            continue
        reader.unknown_keys(obj, _ACCOUNT_KEYS, where)
        account_id = reader.text(obj, "id", where)
        account_type = reader.choice(
            obj, "type", where, AccountType, [t.value for t in AccountType]
        )
        if account_id is not None:
            accounts.append(AccountSpec(account_id, account_type or AccountType.TAXABLE))

    trades: list[Trade] = []
    unparsable: set[int] = set()
    raw_trades = reader.array(root.get("trades"), "input", "trades") or []
    for index, raw in enumerate(raw_trades):
        trade = _read_trade(reader, raw, index)
        if trade is None:
            unparsable.add(index)
            trade = _placeholder(raw)
        trades.append(trade)
    return ReplayInput(
        accounts=tuple(accounts),
        trades=tuple(trades),
        params=params,
        unparsable=frozenset(unparsable),
        problems=tuple(reader.problems),
    )


def _read_groups(reader: _Reader, raw: object) -> tuple[frozenset[str], ...]:
    """Read ``params.substantially_identical``: an array of arrays of symbols.

    A group with a malformed member (not a non-empty string, or named twice) is reported here
    and left out; the engine checks the rest (two symbols or more, no symbol in two groups).
    """
    if raw is None:
        return ()
    items = reader.array(raw, "params", "substantially_identical")
    if items is None:
        return ()
    groups: list[frozenset[str]] = []
    for index, raw_group in enumerate(items):
        field = f"substantially_identical[{index}]"
        members = reader.array(raw_group, "params", field)
        if members is None:
            continue
        symbols: list[str] = []
        ok = True
        for member_index, symbol in enumerate(members):
            where_in = f"{field}[{member_index}]"
            if not isinstance(symbol, str) or not symbol.strip():
                reader.problem(
                    "params", where_in, f"must be a non-empty symbol string, got {_kind(symbol)}"
                )
                ok = False
            elif symbol in symbols:
                reader.problem("params", where_in, f"{_shown(symbol)} is named twice")
                ok = False
            else:
                symbols.append(symbol)
        if ok:
            groups.append(frozenset(symbols))
    return tuple(groups)


def _read_trade(reader: _Reader, raw: object, index: int) -> Trade | None:
    """Read one trade; ``None`` when a field is missing or mistyped (already reported).

    An unknown key is reported but does not stop the trade being replayed, so that its
    holdings are still checked.
    """
    obj = reader.mapping(raw, f"trades[{index}]", "")
    if obj is None:
        return None
    trade_id = obj.get("id")
    where = (
        f"trade {trade_id} (trades[{index}])"
        if isinstance(trade_id, str) and trade_id
        else (f"trades[{index}]")
    )
    reader.unknown_keys(obj, _TRADE_KEYS, where)
    before = len(reader.problems)
    trade_id = reader.text(obj, "id", where)
    date = reader.date(obj, "date", where)
    account = reader.text(obj, "account", where)
    symbol = reader.text(obj, "symbol", where)
    side = reader.choice(obj, "side", where, lambda v: Side(v.lower()), [s.value for s in Side])
    quantity = reader.number(obj, "quantity", where)
    amount = reader.number(obj, "amount", where)
    lot_method = None
    if obj.get("lot_method") is not None:
        lot_method = reader.choice(obj, "lot_method", where, _lot_method, _LOT_METHODS)
    picks: tuple[LotPick, ...] | None = None
    raw_lots = obj.get("lots")
    if raw_lots is not None:
        picks = _read_picks(reader, raw_lots, where)
    buy_group = obj.get("buy_group")
    if buy_group is not None and not isinstance(buy_group, str):
        if isinstance(buy_group, int) and not isinstance(buy_group, bool):
            buy_group = str(buy_group)
        else:
            reader.problem(where, "buy_group", f"must be a string, got {_kind(buy_group)}")
            buy_group = None
    holding_period_start = reader.optional_date(obj, "holding_period_start", where)
    wash_adjustment = reader.optional_number(obj, "wash_adjustment", where)
    if (
        len(reader.problems) > before
        or trade_id is None
        or date is None
        or account is None
        or symbol is None
        or side is None
        or quantity is None
        or amount is None
    ):
        return None
    return Trade(
        id=trade_id,
        date=date,
        account=account,
        symbol=symbol,
        side=side,
        quantity=quantity,
        amount=amount,
        lots=picks,
        lot_method=lot_method,
        buy_group=buy_group,
        holding_period_start=holding_period_start,
        wash_adjustment=wash_adjustment,
    )


def _read_picks(reader: _Reader, raw_lots: object, where: str) -> tuple[LotPick, ...] | None:
    items = reader.array(raw_lots, where, "lots")
    if items is None:
        return None
    picks: list[LotPick] = []
    for pick_index, raw_pick in enumerate(items):
        field = f"lots[{pick_index}]"
        pick = reader.mapping(raw_pick, where, field)
        if pick is None:
            continue
        for key in pick:
            if key not in _PICK_KEYS and key not in INFORMATIONAL_KEYS:
                reader.problem(where, f"{field}.{key}", "unknown field (misspelt?)")
        lot_id = pick.get("lot_id")
        if not isinstance(lot_id, str) or not lot_id:
            reader.problem(where, f"{field}.lot_id", f"must be a lot id, got {_kind(lot_id)}")
            continue
        quantity = reader.number(pick, "quantity", where, f"{field}.quantity")
        if quantity is not None:
            picks.append(LotPick(lot_id, quantity))
    return tuple(picks)


def _placeholder(raw: object) -> Trade:
    """A stand-in for an unreadable trade: keeps its index, id, account and symbol if readable."""
    obj = raw if isinstance(raw, dict) else {}

    def text(key: str) -> str:
        value = obj.get(key)
        return value if isinstance(value, str) else ""

    raw_side = obj.get("side")
    side = Side.BUY if isinstance(raw_side, str) and raw_side.lower() == "buy" else Side.SELL
    return Trade(
        id=text("id"),
        date=dt.date.min,
        account=text("account"),
        symbol=text("symbol"),
        side=side,
        quantity=Decimal(0),
        amount=Decimal(0),
    )


# -------------------------------------------------------------------------------- writing


def serialize_replay_result(result: ReplayResult) -> dict[str, object]:
    """Return the tax-replay output document: amounts rounded to cents, dates ISO 8601."""
    return {
        "realized": [
            {
                "sell_id": row.sell_id,
                "lot_id": row.lot_id,
                "account": row.account,
                "symbol": row.symbol,
                "quantity": _json_number(row.quantity, money=False),
                "acquired_date": row.acquired_date.isoformat(),
                "holding_period_start": row.holding_period_start.isoformat(),
                "proceeds": _json_number(row.proceeds, money=True),
                "cost_basis": _json_number(row.cost_basis, money=True),
                "gain_loss": _json_number(row.gain_loss, money=True),
                "wash_sale_disallowed": _json_number(row.wash_sale_disallowed, money=True),
                "disallowed_quantity": _json_number(row.disallowed_quantity, money=False),
                "reportable_gain_loss": _json_number(row.reportable_gain_loss, money=True),
                "term": row.term.value,
                "form8949_code": row.form8949_code,
            }
            for row in result.realized
        ],
        "lots_open": [
            {
                "lot_id": lot.lot_id,
                "account": lot.account,
                "symbol": lot.symbol,
                "quantity": _json_number(lot.quantity, money=False),
                "acquired_date": lot.acquired_date.isoformat(),
                "holding_period_start": lot.holding_period_start.isoformat(),
                "cost_basis_unadjusted": _json_number(lot.cost_basis_unadjusted, money=True),
                "adjusted_basis": _json_number(lot.adjusted_basis, money=True),
                "wash_adjustment": _json_number(lot.wash_adjustment, money=True),
            }
            for lot in result.lots_open
        ],
        "wash_matches": [
            {
                "loss_sell_id": match.loss_sell_id,
                "loss_lot_id": match.loss_lot_id,
                "replacement_lot_id": match.replacement_lot_id,
                "quantity": _json_number(match.quantity, money=False),
                "disallowed_loss": _json_number(match.disallowed_loss, money=True),
                "kind": match.kind.value,
                "replacement_holding_period_start": (
                    match.replacement_holding_period_start.isoformat()
                ),
            }
            for match in result.wash_matches
        ],
        "totals": {
            "short_term": _json_number(result.totals.short_term, money=True),
            "long_term": _json_number(result.totals.long_term, money=True),
            "wash_disallowed_total": _json_number(result.totals.wash_disallowed_total, money=True),
        },
    }


def replay_document(text: str | bytes) -> dict[str, object]:
    """Parse a tax-replay input file (text, or UTF-8 bytes), replay it, return the output document.

    Raises:
        ReplayError: listing every problem of the file (reading and replaying), in file order.
    """
    parsed = parse_replay_input(loads(text, error=ReplayError))
    try:
        result = replay_checked(
            parsed.accounts, parsed.trades, parsed.params, unparsable=parsed.unparsable
        )
    except ReplayError as exc:
        raise ReplayError([*parsed.problems, *exc.problems]) from exc
    if parsed.problems:
        raise ReplayError(parsed.problems)
    return serialize_replay_result(result)


# ------------------------------------------------------------------------- carryforward


def parse_carryforward_input(document: object) -> tuple[str, list[YearInput]]:
    """Read a ``tax_carryforward`` input document into a filing status and years.

    Raises:
        CarryforwardError: listing every shape problem (missing or mistyped fields).
    """
    reader = _Reader()
    root = reader.mapping(document, "input", "") or {}
    status = reader.text(root, "filing_status", "input") or ""
    years: list[YearInput] = []
    for index, raw in enumerate(reader.array(root.get("years"), "input", "years") or []):
        where = f"years[{index}]"
        obj = reader.mapping(raw, where, "")
        if obj is None:
            continue
        reader.unknown_keys(obj, _YEAR_KEYS, where)
        year = obj.get("year")
        if isinstance(year, bool) or not isinstance(year, int):
            reader.problem(where, "year", f"must be an integer year, got {_kind(year)}")
            continue
        if not 1 <= year <= 9999:
            reader.problem(where, "year", f"must be from 1 to 9999, got {_kind(year)}")
            continue
        where = f"year {year} ({where})"
        short = reader.number(obj, "short_term_net", where)
        long = reader.number(obj, "long_term_net", where)
        carry_short = reader.optional_number(obj, "carryover_in_short_term", where)
        carry_long = reader.optional_number(obj, "carryover_in_long_term", where)
        if short is not None and long is not None:
            years.append(YearInput(year, short, long, carry_short, carry_long))
    if reader.problems:
        raise CarryforwardError(reader.problems)
    return status, years


def serialize_carryforward(filing_status: str, results: Sequence[YearResult]) -> dict[str, object]:
    """Return the ``tax_carryforward`` output document, amounts rounded to cents."""
    return {
        "filing_status": filing_status,
        "years": [
            {
                "year": result.year,
                "carryover_in_short_term": _json_number(result.carryover_in_short_term, money=True),
                "carryover_in_long_term": _json_number(result.carryover_in_long_term, money=True),
                "net_short_term": _json_number(result.net_short_term, money=True),
                "net_long_term": _json_number(result.net_long_term, money=True),
                "net_capital": _json_number(result.net_capital, money=True),
                "deduction_against_ordinary_income": _json_number(
                    result.deduction_against_ordinary_income, money=True
                ),
                "carryover_out_short_term": _json_number(
                    result.carryover_out_short_term, money=True
                ),
                "carryover_out_long_term": _json_number(result.carryover_out_long_term, money=True),
            }
            for result in results
        ],
    }


def carryforward_document(text: str | bytes) -> dict[str, object]:
    """Parse a ``tax_carryforward`` input file (text, or UTF-8 bytes), return the output document.

    Raises:
        CarryforwardError: listing every problem of the file.
    """
    status, years = parse_carryforward_input(loads(text, error=CarryforwardError))
    results = carryforward(status, years)
    return serialize_carryforward(FilingStatus(status).value, results)
