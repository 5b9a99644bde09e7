"""Custodian files read into plain internal rows, by the layouts of ``apps.accounts.layouts``.

No database here: ``apps.ingest`` decodes the file and yields its rows by the declared layout;
this module turns each row into a ledger, position or account row. Our layout has its own row
makers; every custodian export (Schwab-like, Fidelity-like, any layout added) is read by the
same three functions, driven by its declaration. ``imports.py`` checks the rows against the
books and applies them. The layouts, their sources and our assumptions are in
``docs/custodian-files.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from apps.accounts.layouts import AsOf, CustodianLayout, ImportKind
from apps.accounts.layouts.generic import ACCOUNT_PROFILE_COLUMNS
from apps.common.csv_out import formula_leading, formula_leading_message
from apps.common.limits import US_DATE_RE, date_in_range
from apps.ingest import fields
from apps.ingest.problems import Problem
from apps.ingest.reading import Reading, Row, norm, rows_read

CASH_SYMBOL = "CASH"
_RATE_PLACES = 8
_EXTERNAL_ID_MAX = 128 - len("lot:")
_DOWNLOADED_RE = re.compile(
    r"date downloaded\s+([A-Za-z]{3})-(\d{1,2})-(\d{4})", re.IGNORECASE | re.ASCII
)


@dataclass(frozen=True, slots=True)
class TransactionRow:
    """A ledger entry read from a file (transactions, or an opening lot from a lots file).

    ``amount`` is positive (a buy's total cost, a sell's net proceeds); ``order`` ranks rows of
    the same date in the order they happened.
    """

    line: int
    order: int
    custodian: str
    account_number: str
    external_id: str
    kind: str
    trade_on: date
    symbol: str = ""
    shares: Decimal | None = None
    amount: Decimal = Decimal(0)
    lot_method: str = ""
    lot_picks: tuple[tuple[str, Decimal], ...] = ()
    is_opening_lot: bool = False
    is_basis_unknown: bool = False
    holding_period_start_on: date | None = None
    wash_adjustment_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A custodian's holding of one symbol (shares) or of cash (``CASH``: the amount in USD)."""

    line: int
    custodian: str
    account_number: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal | None = None
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account (and its household) to create or update; ``values`` are model field values."""

    line: int
    household_id: str
    household_name: str
    custodian: str
    account_number: str
    values: dict[str, Any]


@dataclass
class ParsedFile:
    """What reading a file gave: its rows, the reading (problems, skipped rows), its as-of."""

    rows: list[Any] = field(default_factory=list)
    reading: Reading = field(default_factory=Reading)
    as_of: date | None = None

    @property
    def problems(self) -> list[Problem]:
        """Every problem found reading the file."""
        return self.reading.problems

    def broken_accounts(self, custodian: str) -> set[tuple[str, str]]:
        """Accounts (custodian, number) with a row that did not parse.

        Their holdings checks would only echo that problem, so the service does not replay them.
        """
        found: set[tuple[str, str]] = set()
        for cells in self.reading.broken_rows:
            number = cells.get("account_number", "").strip()
            if number:
                found.add(((cells.get("custodian") or custodian).strip().lower(), number))
        return found


TRADE_KINDS = ("buy", "sell")
CASH_KINDS = ("deposit", "withdrawal", "dividend", "fee")
LOT_METHODS = ("FIFO", "LIFO", "HIFO")


def _account_key(row: Row) -> tuple[str, str] | None:
    number = fields.identifier(row, "account_number")
    custodian = fields.identifier(row, "custodian", max_length=32)
    if number is None or custodian is None:
        return None
    return custodian.lower(), number


def _lot_picks(row: Row, name: str) -> tuple[tuple[str, Decimal], ...] | None:
    """``b1:10;b2:5``: lot ids (the buys' external ids) and shares to relieve from each."""
    text = row.text(name)
    picks: list[tuple[str, Decimal]] = []
    for part in (p.strip() for p in text.split(";")):
        lot_id, sep, quantity = part.rpartition(":")
        if not part or not sep or not lot_id.strip():
            row.error(name, f"{part[:40]!r} is not lot_id:shares")
            return None
        if formula_leading(lot_id.strip()):
            row.error(name, formula_leading_message(lot_id.strip()))
            return None
        count = fields.shares(row, name, text=quantity)
        if count is None or not fields.positive(row, name, count):
            return None
        picks.append((lot_id.strip(), count))
    return tuple(picks)


def _generic_transaction(row: Row, index: int) -> TransactionRow | None:
    before = len(row.problems)
    key = _account_key(row)
    external_id = fields.identifier(row, "external_id", max_length=_EXTERNAL_ID_MAX, no_spaces=True)
    trade_on = fields.iso_date(row, "trade_date")
    kind = fields.choice(row, "kind", TRADE_KINDS + CASH_KINDS)
    is_trade = kind in TRADE_KINDS
    symbol = fields.symbol(row, "symbol", required=is_trade)
    if kind in ("deposit", "withdrawal", "fee") and symbol:
        row.error("symbol", f"a {kind} carries no symbol")
    shares: Decimal | None = None
    if is_trade:
        shares = fields.shares(row, "shares")
        fields.positive(row, "shares", shares)
    elif row.text("shares"):
        row.error("shares", f"a {kind} carries no shares")
    amount = fields.money(row, "amount")
    if amount is not None and amount < 0:
        row.error("amount", f"must be >= 0 (the kind gives the direction), got {amount}")
    lot_method = row.text("lot_method").upper()
    picks: tuple[tuple[str, Decimal], ...] | None = ()
    if lot_method and lot_method not in LOT_METHODS:
        row.error("lot_method", f"{lot_method[:40]!r} is not one of {', '.join(LOT_METHODS)}")
    if row.text("lot_ids"):
        picks = _lot_picks(row, "lot_ids")
    if kind != "sell" and (lot_method or row.text("lot_ids")):
        field_name = "lot_method" if lot_method else "lot_ids"
        row.error(field_name, "only a sell names a lot method or lots")
    if len(row.problems) > before:
        return None
    assert key is not None and external_id is not None and trade_on is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    assert kind is not None and amount is not None and picks is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return TransactionRow(
        line=row.line,
        order=index,
        custodian=key[0],
        account_number=key[1],
        external_id=external_id,
        kind=kind,
        trade_on=trade_on,
        symbol=symbol or "",
        shares=shares,
        amount=amount,
        lot_method=lot_method,
        lot_picks=picks,
    )


def _opening_lot(
    row: Row,
    *,
    index: int,
    key: tuple[str, str],
    lot_id: str,
    symbol: str,
    shares: Decimal,
    cost_basis: Decimal | None,
    acquired_on: date,
    holding_period_start_on: date | None = None,
    wash_adjustment_amount: Decimal | None = None,
) -> TransactionRow:
    return TransactionRow(
        line=row.line,
        order=index,
        custodian=key[0],
        account_number=key[1],
        external_id=f"lot:{lot_id}",
        kind="buy",
        trade_on=acquired_on,
        symbol=symbol,
        shares=shares,
        amount=cost_basis if cost_basis is not None else Decimal(0),
        is_opening_lot=True,
        is_basis_unknown=cost_basis is None,
        holding_period_start_on=holding_period_start_on,
        wash_adjustment_amount=wash_adjustment_amount,
    )


def _generic_lot(row: Row, index: int) -> TransactionRow | None:
    before = len(row.problems)
    key = _account_key(row)
    lot_id = fields.identifier(row, "lot_id", max_length=_EXTERNAL_ID_MAX, no_spaces=True)
    symbol = fields.symbol(row, "symbol")
    if symbol == CASH_SYMBOL:
        row.error("symbol", "cash has no lots")
    shares = fields.shares(row, "shares")
    fields.positive(row, "shares", shares)
    cost_basis = fields.money(row, "cost_basis", required=False)
    fields.positive(row, "cost_basis", cost_basis, allow_zero=True)
    acquired_on = fields.iso_date(row, "acquired_date")
    hps = fields.iso_date(row, "holding_period_start", required=False)
    wash = fields.money(row, "wash_adjustment", required=False)
    fields.positive(row, "wash_adjustment", wash, allow_zero=True)
    if hps is not None and acquired_on is not None and hps > acquired_on:
        row.error("holding_period_start", "must be on or before the acquired date")
    if wash is not None and cost_basis is None and row.text("cost_basis") == "":
        row.error("wash_adjustment", "needs a cost basis")
    if len(row.problems) > before:
        return None
    assert key and lot_id and symbol and shares is not None and acquired_on  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return _opening_lot(
        row,
        index=index,
        key=key,
        lot_id=lot_id,
        symbol=symbol,
        shares=shares,
        cost_basis=cost_basis,
        acquired_on=acquired_on,
        holding_period_start_on=hps,
        wash_adjustment_amount=wash,
    )


def _generic_position(row: Row, index: int) -> PositionRow | None:
    before = len(row.problems)
    key = _account_key(row)
    symbol = fields.symbol(row, "symbol")
    as_of = fields.iso_date(row, "as_of", required=False)
    if symbol == CASH_SYMBOL:
        # A cash row's "shares" is the cash balance in USD (one share of cash is one dollar).
        amount = fields.money(row, "shares")
        if row.text("cost_basis"):
            row.error("cost_basis", "cash has no cost basis")
        if len(row.problems) > before:
            return None
        assert key is not None and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        return PositionRow(row.line, key[0], key[1], CASH_SYMBOL, amount, None, as_of)
    shares = fields.shares(row, "shares")
    fields.positive(row, "shares", shares)
    cost_basis = fields.money(row, "cost_basis", required=False)
    fields.positive(row, "cost_basis", cost_basis, allow_zero=True)
    if len(row.problems) > before:
        return None
    assert key is not None and symbol and shares is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return PositionRow(row.line, key[0], key[1], symbol, shares, cost_basis, as_of)


# --- accounts (generic only) ------------------------------------------------------------------


def _account_row(row: Row, choices: dict[str, Sequence[str]]) -> AccountRow | None:
    before = len(row.problems)
    household_id = fields.identifier(row, "household_id")
    household_name = fields.identifier(row, "household_name", max_length=200)
    key = _account_key(row)
    values: dict[str, Any] = {
        "name": fields.identifier(row, "name", max_length=200),
        "registration": fields.choice(row, "registration", choices["registration"]),
    }
    for name, parser in ACCOUNT_PROFILE_COLUMNS.items():
        if name not in row.cells:
            continue  # column absent: keep the model default (create) or the stored value
        text = row.text(name)
        nullable = parser.endswith("?")
        if not text:
            if nullable:
                values[name] = None
            continue  # empty cell in a non-nullable column: not given
        kind = parser.rstrip("?")
        if kind == "rate":
            values[name] = fields.decimal(row, name, places=_RATE_PLACES, max_integer_digits=1)
        elif kind == "money":
            values[name] = fields.money(row, name)
        elif kind == "date":
            values[name] = fields.iso_date(row, name)
        elif kind == "bool":
            values[name] = fields.boolean(row, name)
        elif kind == "int":
            if not (text.isascii() and text.isdigit()) or len(text) > 4:
                row.error(name, f"{text[:40]!r} is not a whole number")
            else:
                values[name] = int(text)
        elif kind == "currency":
            if not re.fullmatch(r"[A-Z]{3}", text.upper()):
                row.error(name, f"{text[:40]!r} is not an ISO 4217 code")
            else:
                values[name] = text.upper()
        else:
            choice_of = kind.split(":", 1)[1]
            values[name] = fields.choice(
                row, name, choices[choice_of], upper=choice_of == "lot_method"
            )
    if len(row.problems) > before:
        return None
    assert household_id and household_name and key  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return AccountRow(row.line, household_id, household_name, key[0], key[1], values)


# --- custodian exports (every declared layout) --------------------------------------------------


def _signed_trade(row: Row, kind: str) -> tuple[Decimal | None, Decimal | None]:
    """Custodian signs: a buy pays cash (amount <= 0), a sell receives it (amount >= 0)."""
    quantity = fields.shares(row, "shares", custodian_format=True)
    amount = fields.money(row, "amount", custodian_format=True)
    if quantity is not None:
        if quantity == 0:
            row.error("shares", "must not be 0")
            quantity = None
        elif kind == "buy" and quantity < 0:
            row.error("shares", f"a buy must have a positive quantity, got {quantity}")
            quantity = None
        else:
            quantity = abs(quantity)  # sells: Schwab shows them positive, Fidelity negative
    if amount is not None:
        if kind == "buy" and amount > 0:
            row.error("amount", f"a buy pays cash: expected a negative amount, got {amount}")
            amount = None
        elif kind == "sell" and amount < 0:
            row.error("amount", f"a sell receives cash: expected >= 0, got {amount}")
            amount = None
        else:
            amount = abs(amount)
    return quantity, amount


def _signed_cash(row: Row, kind: str) -> tuple[str, Decimal] | None:
    amount = fields.money(row, "amount", custodian_format=True)
    if amount is None:
        return None
    if kind == "signed":
        if amount == 0:
            row.error("amount", "a transfer of 0 moves nothing")
            return None
        return ("deposit" if amount > 0 else "withdrawal"), abs(amount)
    if kind == "dividend" and amount < 0:
        row.error("amount", f"income must be positive, got {amount} (reversals unsupported)")
        return None
    if kind == "fee" and amount > 0:
        row.error("amount", f"a fee takes cash: expected a negative amount, got {amount}")
        return None
    return kind, abs(amount)


def _custodian_transactions(
    layout: CustodianLayout, rows: Iterator[Row], parsed: ParsedFile
) -> None:
    """Ledger entries from a custodian's transactions export (newest first, ids derived)."""
    seen: Counter[str] = Counter()
    for index, row in enumerate(rows):
        account_number = fields.identifier(row, "account_number")
        trade_on = fields.us_date(row, "trade_date", prefer_as_of=layout.date_prefers_as_of)
        action = row.text("action")
        kind = layout.kind_of(action)
        if kind is None:
            row.error("action", f"{action[:40]!r} is not a supported action")
            continue
        sweep = layout.is_sweep(row.text("symbol"))
        if kind == "sweep" or (sweep and kind in TRADE_KINDS):
            parsed.reading.skipped += 1
            continue
        before = len(row.problems)
        count: Decimal | None = None
        amount: Decimal | None
        ticker: str | None
        if kind in TRADE_KINDS:
            ticker = fields.symbol(row, "symbol")
            count, amount = _signed_trade(row, kind)
        else:
            ticker = "" if sweep else fields.symbol(row, "symbol", required=False)
            if kind == "signed" and fields.strip_money_format(row.text("shares")):
                row.error("shares", "security journals are not supported; import them as lots")
            cash = _signed_cash(row, kind)
            kind, amount = cash if cash else (kind, None)
            if kind in ("deposit", "withdrawal", "fee"):
                ticker = ""
        if len(row.problems) > before or trade_on is None or not account_number:
            continue  # a bad date or account was reported above
        assert ticker is not None and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        id_parts = [
            trade_on.isoformat(),
            account_number,
            layout.action_id(action),
            row.text("symbol").upper(),
            row.text("shares"),
            row.text("amount"),
        ]
        parsed.rows.append(
            TransactionRow(
                line=row.line,
                order=-index,  # custodian exports list the newest entry first
                custodian=layout.custodian,
                account_number=account_number,
                external_id=fields.derived_id(layout.custodian, id_parts, seen),
                kind=kind,
                trade_on=trade_on,
                symbol=ticker,
                shares=count,
                amount=amount,
            )
        )


def _custodian_lots(layout: CustodianLayout, rows: Iterator[Row], parsed: ParsedFile) -> None:
    """Open lots from a custodian's lot export; the lot id is symbol, open date, occurrence."""
    seen: Counter[str] = Counter()
    for index, row in enumerate(rows):
        before = len(row.problems)
        account_number = fields.identifier(row, "account_number")
        ticker = fields.symbol(row, "symbol")
        acquired_on = fields.us_date(row, "acquired_date")
        count = fields.shares(row, "shares", custodian_format=True)
        fields.positive(row, "shares", count)
        cost_basis = fields.money(row, "cost_basis", custodian_format=True, required=False)
        fields.positive(row, "cost_basis", cost_basis, allow_zero=True)
        if len(row.problems) > before:
            continue
        assert account_number and ticker and acquired_on and count is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        lot_key = f"{ticker}-{acquired_on:%Y%m%d}"
        seen[f"{account_number}|{lot_key}"] += 1
        parsed.rows.append(
            _opening_lot(
                row,
                index=index,
                key=(layout.custodian, account_number),
                lot_id=f"{lot_key}-{seen[f'{account_number}|{lot_key}']}",
                symbol=ticker,
                shares=count,
                cost_basis=cost_basis,
                acquired_on=acquired_on,
            )
        )


def _custodian_positions(layout: CustodianLayout, rows: Iterator[Row], parsed: ParsedFile) -> None:
    """Holdings from a custodian's positions export; its cash row is the balance in USD."""
    for row in rows:
        symbol_text = row.text("symbol")
        if norm(symbol_text) in layout.skip_symbols:
            parsed.reading.skipped += 1
            continue
        before = len(row.problems)
        account_number = fields.identifier(row, "account_number")
        if layout.is_cash_row(symbol_text):
            if "cash_value" not in row.cells:
                name = row.layout.column_name("cash_value")
                row.error("cash_value", f"the cash row needs the {name!r} column")
                continue
            amount = fields.money(row, "cash_value", custodian_format=True)
            if len(row.problems) > before:
                continue
            assert account_number and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
            parsed.rows.append(
                PositionRow(row.line, layout.custodian, account_number, CASH_SYMBOL, amount)
            )
            continue
        ticker = fields.symbol(row, "symbol")
        count = fields.shares(row, "shares", custodian_format=True)
        fields.positive(row, "shares", count)
        cost_basis = fields.money(row, "cost_basis", custodian_format=True, required=False)
        fields.positive(row, "cost_basis", cost_basis, allow_zero=True)
        if len(row.problems) > before:
            continue
        assert account_number and ticker and count is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        parsed.rows.append(
            PositionRow(row.line, layout.custodian, account_number, ticker, count, cost_basis)
        )


def _title_as_of(preamble: Sequence[Sequence[str]]) -> date | None:
    """A title line: ``"Positions for account ... as of 02:45 AM ET, 09/25/2020"``."""
    for cells in preamble:
        text = " ".join(cells)
        if "as of" not in text.lower():
            continue
        found = US_DATE_RE.findall(text.split("as of", 1)[-1])
        if found:
            month, day, year = found[-1]
            try:
                title_date = date(int(year), int(month), int(day))
            except ValueError:
                return None
            return title_date if date_in_range(title_date) else None
    return None


def _footer_as_of(footer_lines: Sequence[str]) -> date | None:
    """A footer line: ``"Date downloaded Apr-22-2026 9:29 p.m ET"`` (the last one wins)."""
    as_of: date | None = None
    for line in footer_lines:
        found = _DOWNLOADED_RE.search(line)
        if found:
            try:
                downloaded = datetime.strptime(  # noqa: DTZ007 - a calendar date only
                    f"{found[1]}-{found[2]}-{found[3]}", "%b-%d-%Y"
                ).date()
            except ValueError:
                downloaded = None
            as_of = downloaded if downloaded and date_in_range(downloaded) else None
    return as_of


# --- dispatch ----------------------------------------------------------------------------------


def _ours(
    make: Callable[[Row, int], Any],
) -> Callable[[CustodianLayout, Iterator[Row], ParsedFile], None]:
    def read(_layout: CustodianLayout, rows: Iterator[Row], parsed: ParsedFile) -> None:
        for index, row in enumerate(rows):
            made = make(row, index)
            if made is not None:
                parsed.rows.append(made)

    return read


def parse_file(
    *,
    kind: ImportKind,
    layout: CustodianLayout,
    content: bytes,
    account_choices: dict[str, Sequence[str]] | None = None,
) -> ParsedFile:
    """Decode and parse a custodian file into internal rows; never raises on bad input.

    Args:
        kind: what the file holds.
        layout: whose columns it follows.
        content: the raw bytes (UTF-8, BOM allowed).
        account_choices: allowed values of the account choice fields (accounts files).

    Returns:
        The rows that parsed, the reading (rows skipped on purpose: totals, footers, cash
        sweeps; blank lines are not counted) and every problem with its line and field.
    """
    parsed = ParsedFile()
    file_layout = layout.file_layout(kind)
    if file_layout is None:
        parsed.reading.file_problem(
            0, "kind", f"the {layout.name} layout has no {kind} files (generic only)"
        )
        return parsed
    readers: dict[ImportKind, Callable[[CustodianLayout, Iterator[Row], ParsedFile], None]]
    if layout.custodian:
        readers = {
            ImportKind.TRANSACTIONS: _custodian_transactions,
            ImportKind.LOTS: _custodian_lots,
            ImportKind.POSITIONS: _custodian_positions,
        }
    else:
        readers = {
            ImportKind.TRANSACTIONS: _ours(_generic_transaction),
            ImportKind.LOTS: _ours(_generic_lot),
            ImportKind.POSITIONS: _ours(_generic_position),
            ImportKind.ACCOUNTS: _ours(
                lambda row, _index: _account_row(row, account_choices or {})
            ),
        }
    readers[kind](layout, rows_read(content, file_layout, parsed.reading), parsed)
    if kind is ImportKind.POSITIONS and layout.as_of is AsOf.TITLE:
        parsed.as_of = _title_as_of(parsed.reading.preamble)
    elif kind is ImportKind.POSITIONS and layout.as_of is AsOf.FOOTER:
        parsed.as_of = _footer_as_of(parsed.reading.footer_lines)
    if not parsed.problems and not parsed.rows and not parsed.reading.skipped:
        parsed.problems.append(Problem(1, "file", "has a header but no data rows"))
    return parsed
