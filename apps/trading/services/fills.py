"""Fills: a custodian's executions read back, booked in the ledger, lots updated by the engine.

A fills file is checked whole and applied all or nothing, with every problem reported as
``line N: field: reason`` (the custodian import's convention). Each fill of an allocation
becomes a ledger ``Transaction`` (external id ``fill:<allocation id>:<n>``); a sell carries
``lot_picks`` from the allocation's lot instructions, so the tax-lot engine relieves exactly the
instructed lots (specific identification); a sell without instructions (an account that does not
use specified lots) records the allocation's lot method, by which the custodian relieves it. Each
affected household is replayed before anything is written (an oversell is a problem on its line)
and rebuilt after (``ledger_rebuild``).

Idempotent: the file's sha256 is unique on ``FillImport``; the same bytes again are a no-op.
A worker killed mid-import leaves nothing: everything happens in one transaction.
Layouts and sources: ``docs/custodian-files.md``, "Fills".
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from apps.access.services import audit_event_record
from apps.accounts.models import Account, Household, Transaction, TransactionKind
from apps.accounts.services.ledger import (
    LedgerInconsistentError,
    engine_id,
    household_replay,
    ledger_rebuild,
    lot_method_record,
)
from apps.common.exceptions import ApplicationError, TenantContextError
from apps.common.limits import (
    PRICE_MAX_INTEGER_DIGITS,
)
from apps.common.money import ZERO, round_money
from apps.common.tenancy import firm_today, require_tenant_schema
from apps.ingest import fields
from apps.ingest.problems import FileRejectedError, Problem, ProblemLines, problems_sorted
from apps.ingest.reading import Column, Header, Layout, Reading, Row, rows_read
from apps.trading.models import (
    FillImport,
    Order,
    OrderAllocation,
    OrderStatus,
    TradeFileLayout,
    TradeSide,
)
from apps.trading.orders.selectors import FILL_ENTRY_PREFIX
from apps.trading.services.orders import (
    AMOUNT_FILL_TOLERANCE,
    OrdersErrorCode,
    order_status_for,
    proposals_close,
)

_FILLABLE = (OrderStatus.SENT, OrderStatus.PARTIALLY_FILLED)
_SHARES_PLACES = 6
_PRICE_PLACES = 6
_NUMBER_RE = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", re.ASCII)  # no sign: fills are positive
_REFERENCE_RE = re.compile(r"A?([0-9]{1,18})", re.ASCII)
_ENGINE_ID_RE = re.compile(r"trade (?P<id>\S+) \(trades\[\d+\]\): (?P<rest>.*)", re.DOTALL)


@dataclass(frozen=True)
class _FillsLayout:
    """A fills layout: our field -> the file's column, side codes, date format."""

    layout: Layout
    sides: Mapping[str, str]
    us_dates: bool


# Our fields, in the order the layouts below name their columns; the allocation id (and, in
# ours, the custodian) may be left out.
_FIELDS = ("account_number", "symbol", "side", "shares", "price", "trade_date", "allocation_id")
_OPTIONAL = frozenset({"allocation_id", "custodian", "amount"})
_BUY_SELL = {"buy": TradeSide.BUY, "sell": TradeSide.SELL}


def _fills_layout(
    *names: str, sides: Mapping[str, str], us_dates: bool, amount: str
) -> _FillsLayout:
    """Declare a fills layout: the file's columns for ``_FIELDS`` (then ``custodian``).

    ``amount``: the optional column of a fill's dollar amount (amount orders of funds traded at
    NAV; without it, a fill's amount is its shares × price).
    """
    columns = {
        field_name: Column(name, required=field_name not in _OPTIONAL)
        for field_name, name in zip((*_FIELDS, "custodian"), names, strict=False)
    }
    columns["amount"] = Column(amount, required=False)
    return _FillsLayout(Layout(columns, header=Header.FIRST), sides, us_dates)


_LAYOUTS = {
    TradeFileLayout.GENERIC: _fills_layout(
        *_FIELDS, "custodian", sides=_BUY_SELL, us_dates=False, amount="amount"
    ),
    TradeFileLayout.SCHWAB: _fills_layout(
        "Account Number",
        "Symbol",
        "Action",
        "Quantity",
        "Price",
        "Trade Date",
        "Client Reference",
        sides=_BUY_SELL,
        us_dates=True,
        amount="Amount",
    ),
    TradeFileLayout.FIDELITY: _fills_layout(
        "Account Number",
        "Symbol",
        "Order Action",
        "Quantity",
        "Average Price",
        "Trade Date",
        "Client Reference",
        sides={"b": TradeSide.BUY, "s": TradeSide.SELL},
        us_dates=True,
        amount="Amount",
    ),
}


@dataclass(frozen=True)
class FillReport(ProblemLines):
    """What a fills import did (or, rejected, why nothing was done)."""

    filename: str
    layout: str
    sha256: str
    rows_read: int = 0
    fills_applied: int = 0
    allocations_touched: int = 0
    orders_touched: int = 0
    households: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    is_applied: bool = False
    is_duplicate: bool = False

    def summary(self) -> str:
        """One line for people."""
        if self.is_duplicate:
            return f"{self.filename}: already applied (same sha256); nothing changed"
        return (
            f"{self.filename}: {self.fills_applied} fill(s) booked on "
            f"{self.allocations_touched} allocation(s) of {self.orders_touched} order(s)"
        )


@dataclass
class _Row:
    line: int
    allocation_id: int | None
    custodian: str
    account_number: str
    symbol: str
    side: str
    shares: Decimal
    price: Decimal
    trade_on: date
    amount: Decimal | None = None  # the custodian's dollar amount, when the row carries one


@dataclass
class _Plan:
    fills_layout: _FillsLayout
    reading: Reading = field(default_factory=Reading)

    @property
    def problems(self) -> list[Problem]:
        return self.reading.problems

    def problem(self, line: int, name: str, reason: str) -> None:
        self.problems.append(Problem(line, self.fills_layout.layout.column_name(name), reason))


# --- parsing -----------------------------------------------------------------------------------


def _trade_on(plan: _Plan, row: Row, today: date | None) -> date | None:
    read = fields.us_date if plan.fills_layout.us_dates else fields.iso_date
    value = read(row, "trade_date")
    if value is not None and today is not None and value > today:
        row.error("trade_date", f"{value.isoformat()} is in the future")
        return None
    return value


def _parse(plan: _Plan, content: bytes, today: date | None) -> list[_Row]:
    sides = plan.fills_layout.sides
    rows: list[_Row] = []
    for row in rows_read(content, plan.fills_layout.layout, plan.reading):
        before = len(row.problems)
        allocation_id = None
        reference = row.text("allocation_id")
        if reference:
            matched = _REFERENCE_RE.fullmatch(reference)
            if matched is None:
                row.error("allocation_id", f"{reference[:40]!r} is not an allocation id")
            else:
                allocation_id = int(matched[1])
        account_number = fields.identifier(row, "account_number")
        symbol = fields.symbol(row, "symbol")
        side = sides.get(row.text("side").lower(), "")
        if not side:
            allowed = "/".join(k.upper() if len(k) == 1 else k.title() for k in sides)
            row.error("side", f"{row.text('side')[:40]!r} is not {allowed}")
        shares = fields.shares(row, "shares", custodian_format=True, signed=False)
        fields.positive(row, "shares", shares)
        price = fields.decimal(
            row,
            "price",
            places=_PRICE_PLACES,
            max_integer_digits=PRICE_MAX_INTEGER_DIGITS,
            custodian_format=True,
            signed=False,
        )
        fields.positive(row, "price", price)
        amount = fields.money(row, "amount", custodian_format=True, required=False, signed=False)
        if amount is not None:
            fields.positive(row, "amount", amount)
        trade_on = _trade_on(plan, row, today)
        if len(row.problems) > before:
            continue
        assert account_number and symbol and shares and price and trade_on  # noqa: S101, PT018 - the row has no problems  # nosec B101
        rows.append(
            _Row(
                line=row.line,
                allocation_id=allocation_id,
                custodian=row.text("custodian").lower(),
                account_number=account_number,
                symbol=symbol,
                side=side,
                shares=shares,
                price=price,
                trade_on=trade_on,
                amount=amount,
            )
        )
    return rows


# --- matching rows to allocations --------------------------------------------------------------


@dataclass
class _Fill:
    line: int
    allocation: OrderAllocation
    shares: Decimal
    price: Decimal
    trade_on: date
    amount: Decimal | None = None  # amount orders: the dollars this fill counts
    entry: Transaction | None = None


def _candidates(rows: list[_Row]) -> dict[int, OrderAllocation]:
    """Allocations the rows may name (by id, or by account number), locked for this import."""
    ids = {r.allocation_id for r in rows if r.allocation_id is not None}
    numbers = {r.account_number for r in rows}
    allocations = (
        OrderAllocation.objects.select_for_update(of=("self",))
        .select_related("account__household", "order")
        .filter(account__number__in=numbers, order__status__in=_FILLABLE)
    )
    found = {a.pk: a for a in allocations.order_by("pk")}
    if ids - set(found):
        # Named allocations of orders not taking fills: read only, to say why on their line.
        others = OrderAllocation.objects.select_related("account__household", "order")
        found.update({a.pk: a for a in others.filter(pk__in=ids - set(found))})
    return found


def _match(plan: _Plan, rows: list[_Row], allocations: dict[int, OrderAllocation]) -> list[_Fill]:
    """Each row's shares onto allocations: the one it names, or the open ones in id order."""
    remaining = {pk: a.remaining_shares for pk, a in allocations.items()}
    remaining_amount = {pk: a.remaining_amount for pk, a in allocations.items()}
    fills: list[_Fill] = []
    for row in rows:
        if row.allocation_id is not None:
            allocation = allocations.get(row.allocation_id)
            if allocation is None:
                plan.problem(row.line, "allocation_id", f"unknown allocation {row.allocation_id}")
                continue
            wrong = [
                (name, theirs, ours)
                for name, theirs, ours in (
                    ("account_number", row.account_number, allocation.account.number),
                    ("symbol", row.symbol, allocation.order.symbol),
                    ("side", row.side, allocation.order.side),
                )
                if theirs != ours
            ]
            for name, theirs, ours in wrong:
                plan.problem(
                    row.line, name, f"{theirs} does not match allocation {allocation.pk} ({ours})"
                )
            if wrong:
                continue
            targets = [allocation]
        else:
            targets = [
                a
                for a in allocations.values()
                if a.account.number == row.account_number
                and a.order.symbol == row.symbol
                and a.order.side == row.side
                and (not row.custodian or a.order.custodian.lower() == row.custodian)
            ]
            if not targets:
                plan.problem(
                    row.line,
                    "account_number",
                    f"no allocation of account {row.account_number} to {row.side} {row.symbol}",
                )
                continue
            custodians = {a.order.custodian for a in targets}
            if len(custodians) > 1:
                plan.problem(
                    row.line,
                    "account_number",
                    f"account {row.account_number} exists at {', '.join(sorted(custodians))}; "
                    "give the allocation id (or the custodian)",
                )
                continue
        not_sent = [a for a in targets if a.order.status not in _FILLABLE]
        if len(not_sent) == len(targets):
            status = targets[0].order.status
            plan.problem(
                row.line,
                "allocation_id" if row.allocation_id is not None else "account_number",
                f"order {targets[0].order_id} is {status}; only sent orders take fills",
            )
            continue
        targets = [a for a in targets if a.order.status in _FILLABLE]
        if targets[0].is_amount_order:  # a fund traded at NAV: filled by amount
            fills += _match_amount(
                plan, row, [a for a in targets if a.is_amount_order], remaining_amount
            )
            continue
        targets = [a for a in targets if not a.is_amount_order]
        open_shares = sum((remaining[a.pk] for a in targets), ZERO)
        if row.shares > open_shares:
            plan.problem(
                row.line,
                "shares",
                f"overfill: {_text(row.shares)} shares, but only {_text(open_shares)} of "
                f"{row.side} {row.symbol} remain to fill for account {row.account_number}",
            )
            continue
        # Funds traded at NAV come in fractions in every account.
        whole = not (targets[0].account.is_fractional_shares or targets[0].order.is_dollar_traded)
        # A whole-share account sells a fractional lot entirely (docs/tax-rules.md): the fill
        # that completes such an order carries the order's own fraction, and only that one.
        fraction = row.shares - row.shares.to_integral_value(rounding=ROUND_DOWN)
        open_fraction = open_shares - open_shares.to_integral_value(rounding=ROUND_DOWN)
        if whole and fraction and fraction != open_fraction:
            plan.problem(
                row.line,
                "shares",
                f"{_text(row.shares)}: account {row.account_number} trades whole shares",
            )
            continue
        left = row.shares
        for allocation in targets:
            take = min(left, remaining[allocation.pk])
            if take <= 0:
                continue
            remaining[allocation.pk] -= take
            left -= take
            fills.append(_Fill(row.line, allocation, take, row.price, row.trade_on))
    return fills


def _match_amount(
    plan: _Plan, row: _Row, targets: list[OrderAllocation], remaining: dict[int, Decimal]
) -> list[_Fill]:
    """A row's dollars onto amount orders in id order; its shares (amount / NAV) pro rata.

    The row's amount is its ``amount`` column when given, else its shares × price to the cent;
    the shares are the custodian's (what the amount bought or sold at the NAV).
    """
    amount = row.amount if row.amount is not None else round_money(row.shares * row.price)
    open_amount = sum((remaining[a.pk] for a in targets), ZERO)
    if amount > open_amount + AMOUNT_FILL_TOLERANCE:
        plan.problem(
            row.line,
            "amount" if row.amount is not None else "shares",
            f"overfill: {amount:,.2f} dollars, but only {open_amount:,.2f} of {row.side} "
            f"{row.symbol} remain to fill for account {row.account_number}",
        )
        return []
    open_targets = [a for a in targets if remaining[a.pk] > 0]
    fills = []
    left_amount, left_shares = amount, row.shares
    for position, allocation in enumerate(open_targets):
        is_last = position == len(open_targets) - 1
        take = left_amount if is_last else min(left_amount, remaining[allocation.pk])
        if take <= 0:
            break
        shares = (
            left_shares
            if is_last or take == left_amount
            else (row.shares * take / amount).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
        )
        remaining[allocation.pk] -= take
        left_amount -= take
        left_shares -= shares
        fills.append(_Fill(row.line, allocation, shares, row.price, row.trade_on, amount=take))
    return fills


def _text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


# --- ledger entries ----------------------------------------------------------------------------


def _picked_before(allocations: list[OrderAllocation]) -> dict[tuple[int, str], Decimal]:
    """Shares of each instructed lot already relieved by earlier fills of the allocation."""
    picked: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    sells = [a for a in allocations if a.lot_instructions]
    if not sells:
        return picked
    entries = Transaction.objects.filter(
        account_id__in={a.account_id for a in sells}, external_id__startswith="fill:"
    ).values_list("external_id", "lot_picks")
    wanted = {a.pk for a in sells}
    for external_id, lot_picks in entries:
        allocation_id = int(external_id.split(":")[1])
        if allocation_id in wanted:
            for pick in lot_picks or ():
                picked[(allocation_id, str(pick["lot_id"]))] += Decimal(str(pick["shares"]))
    return picked


def _lot_picks(
    allocation: OrderAllocation, shares: Decimal, picked: dict[tuple[int, str], Decimal]
) -> list[dict[str, str]]:
    """The instructed lots this fill relieves, in instruction order (partial fills take turns)."""
    picks = []
    left = shares
    for instruction in allocation.lot_instructions:
        lot_id = str(instruction["lot_id"])
        room = Decimal(str(instruction["shares"])) - picked[(allocation.pk, lot_id)]
        take = min(left, room)
        if take > 0:
            picks.append({"lot_id": lot_id, "shares": str(take)})
            picked[(allocation.pk, lot_id)] += take
            left -= take
        if left <= 0:
            break
    if left > 0 and allocation.is_amount_order and allocation.lot_instructions:
        # An amount sold at a NAV below the proposal's price relieves more shares than the
        # instruction's estimate, from the last lot instructed (a lot sold whole goes by
        # shares, so it holds them; the replay reports a lot that does not).
        lot_id = str(allocation.lot_instructions[-1]["lot_id"])
        if picks and picks[-1]["lot_id"] == lot_id:
            picks[-1]["shares"] = str(Decimal(picks[-1]["shares"]) + left)
        else:
            picks.append({"lot_id": lot_id, "shares": str(left)})
        picked[(allocation.pk, lot_id)] += left
    return picks


def _entries(fills: list[_Fill], filename: str) -> None:
    """Build (unsaved) ledger entries for the fills, sequenced after the day's booked entries."""
    allocations = list({f.allocation.pk: f.allocation for f in fills}.values())
    picked = _picked_before(allocations)
    counts = {a.pk: a.fill_count for a in allocations}
    households = {f.allocation.account.household_id for f in fills}
    dates = {f.trade_on for f in fills}
    booked = {
        (row["account__household_id"], row["trade_on"]): row["top"]
        for row in Transaction.objects.filter(
            account__household_id__in=households, trade_on__in=dates
        )
        .values("account__household_id", "trade_on")
        .annotate(top=Max("sequence"))
    }
    next_sequence: dict[tuple[int, date], int] = {}
    # Sells first within a day: their proceeds fund the day's buys, as in the proposal.
    ordered = sorted(fills, key=lambda f: (f.allocation.order.side != TradeSide.SELL, f.line))
    for fill in ordered:
        allocation = fill.allocation
        counts[allocation.pk] += 1
        key = (allocation.account.household_id, fill.trade_on)
        sequence = next_sequence.get(key, booked[key] + 1 if key in booked else 0)
        next_sequence[key] = sequence + 1
        is_sell = allocation.order.side == TradeSide.SELL
        fill.entry = Transaction(
            account=allocation.account,
            external_id=f"{FILL_ENTRY_PREFIX}{allocation.pk}:{counts[allocation.pk]}",
            kind=TransactionKind.SELL if is_sell else TransactionKind.BUY,
            trade_on=fill.trade_on,
            sequence=sequence,
            symbol=allocation.order.symbol,
            shares=fill.shares,
            amount=fill.amount
            if fill.amount is not None
            else round_money(fill.shares * fill.price),
            lot_picks=_lot_picks(allocation, fill.shares, picked) if is_sell else [],
            lot_method=allocation.lot_method,
            source=f"fills:{filename}"[:200],
        )
    # A sell without lot instructions is relieved by the lot method its trade file named
    # (allocations ordered before allocations recorded one: the account's).
    lot_method_record(entries=(f.entry for f in fills if f.entry is not None))


def _replay(plan: _Plan, fills: list[_Fill]) -> None:
    """Replay each household with its new entries; report the engine's problems by line."""
    by_household: dict[int, list[_Fill]] = defaultdict(list)
    for fill in fills:
        by_household[fill.allocation.account.household_id].append(fill)
    for members in by_household.values():
        household = members[0].allocation.account.household
        lines = {
            engine_id(account_id=f.entry.account_id, external_id=f.entry.external_id): f.line
            for f in members
            if f.entry is not None
        }
        try:
            household_replay(household=household, extra=[f.entry for f in members if f.entry])
        except LedgerInconsistentError as exc:
            for text in exc.extra.get("problems", []):
                matched = _ENGINE_ID_RE.fullmatch(str(text))
                if matched and matched["id"] in lines:
                    plan.problem(lines[matched["id"]], "shares", matched["rest"])
                else:
                    plan.problem(0, "ledger", f"household {household.external_id}: {text}")


# --- the service -------------------------------------------------------------------------------


def _today() -> date | None:
    try:
        return firm_today()
    except TenantContextError:
        return None


def fills_import(
    *,
    content: bytes,
    filename: str,
    acting_user: User | None,
    layout: TradeFileLayout | str = TradeFileLayout.GENERIC,
) -> FillReport:
    """Book a custodian's fills file, all or nothing; re-importing the same bytes is a no-op.

    Args:
        content: the file (UTF-8 CSV, BOM allowed).
        filename: shown in the report, stored on the entries' ``source`` and the import row.
        acting_user: the trader importing (None for the system).
        layout: ``generic`` (ours), ``schwab`` or ``fidelity`` (``docs/custodian-files.md``).

    Returns:
        The report: fills booked, allocations and orders touched, households rebuilt; or,
        for a file already applied, ``is_duplicate`` and nothing changed.

    Raises:
        FileRejectedError: any problem (every one listed by line; nothing was booked).
        ApplicationError: unknown layout.
    """
    require_tenant_schema()
    try:
        layout = TradeFileLayout(layout)
    except ValueError as exc:
        raise ApplicationError(f"unknown layout {layout!r}", code=OrdersErrorCode.INVALID) from exc
    sha256 = hashlib.sha256(content).hexdigest()
    report = FillReport(filename=filename, layout=layout.value, sha256=sha256)
    plan = _Plan(fills_layout=_LAYOUTS[layout])
    with transaction.atomic():
        previous = FillImport.objects.select_for_update().filter(sha256=sha256).first()
        if previous is not None:
            audit_event_record(
                action="fills_import.noop",
                acting_user=acting_user,
                obj=previous,
                payload={"filename": filename, "sha256": sha256},
            )
            return replace(report, is_duplicate=True, rows_read=previous.rows_read)
        rows = _parse(plan, content, _today())
        report = replace(report, rows_read=plan.reading.data_lines)
        fills = _match(plan, rows, _candidates(rows)) if rows else []
        if fills and not plan.problems:
            _entries(fills, filename)
            _replay(plan, fills)
        if not plan.problems and not fills:
            plan.problem(1, "file", "has no fill rows")
        if plan.problems:
            report = replace(report, problems=problems_sorted(plan.problems))
            raise FileRejectedError(
                report.problems,
                message=f"{len(report.problems)} problem(s) in {filename}; no fill was booked",
                code=OrdersErrorCode.FILLS_REJECTED,
                report=report,
            )
        return _apply(fills, report=report, content=content, acting_user=acting_user)


def _apply(
    fills: list[_Fill], *, report: FillReport, content: bytes, acting_user: User | None
) -> FillReport:
    """Write the entries, the allocations' and orders' fill totals, rebuild the households."""
    Transaction.objects.bulk_create([f.entry for f in fills if f.entry is not None])
    allocations = {f.allocation.pk: f.allocation for f in fills}
    for fill in fills:
        allocation = fill.allocation
        assert fill.entry is not None  # noqa: S101 - _match gives every fill an entry  # nosec B101
        allocation.filled_shares += fill.shares
        allocation.fill_amount += fill.entry.amount
        allocation.fill_count += 1
        allocation.is_open = (
            allocation.remaining_amount > AMOUNT_FILL_TOLERANCE
            if allocation.is_amount_order
            else allocation.filled_shares < allocation.shares
        )
    OrderAllocation.objects.bulk_update(
        allocations.values(), ["filled_shares", "fill_amount", "fill_count", "is_open"]
    )
    proposals_close(allocation_ids=list(allocations))
    orders = list(
        Order.objects.select_for_update().filter(pk__in={a.order_id for a in allocations.values()})
    )
    for order in orders:
        order.filled_shares = order.filled_shares + sum(
            (f.shares for f in fills if f.allocation.order_id == order.pk), ZERO
        )
        order.fill_amount = order.fill_amount + sum(
            (f.entry.amount for f in fills if f.allocation.order_id == order.pk and f.entry),
            ZERO,
        )
        order.status = order_status_for(
            total_shares=order.total_shares, filled_shares=order.filled_shares, current=order.status
        )
        if order.is_dollar_traded:  # amount orders: filled when no allocation is left open
            is_open = OrderAllocation.objects.filter(order=order, is_open=True).exists()
            order.status = OrderStatus.PARTIALLY_FILLED if is_open else OrderStatus.FILLED
    Order.objects.bulk_update(orders, ["filled_shares", "fill_amount", "status"])
    households: dict[int, Household] = {}
    for allocation in allocations.values():
        account: Account = allocation.account
        households[account.household_id] = account.household
    for household in households.values():
        ledger_rebuild(household=household)
    storage_name = default_storage.save(f"fills/{report.sha256}.csv", ContentFile(content))
    report = replace(
        report,
        fills_applied=len(fills),
        allocations_touched=len(allocations),
        orders_touched=len(orders),
        households=tuple(sorted(h.external_id for h in households.values())),
        is_applied=True,
    )
    fill_import = FillImport(
        filename=report.filename[:200],
        layout=report.layout,
        sha256=report.sha256,
        storage_name=storage_name,
        rows_read=report.rows_read,
        fills_applied=report.fills_applied,
        allocations_touched=report.allocations_touched,
        households=list(report.households),
        applied_by=acting_user,
    )
    fill_import.full_clean()
    fill_import.save()
    audit_event_record(
        action="fills_import.apply",
        acting_user=acting_user,
        obj=fill_import,
        payload={
            "filename": report.filename,
            "layout": report.layout,
            "sha256": report.sha256,
            "rows_read": report.rows_read,
            "fills": [
                {
                    "allocation_id": f.allocation.pk,
                    "external_id": f.entry.external_id if f.entry else "",
                    "shares": str(f.shares),
                    "price": str(f.price),
                    "trade_date": f.trade_on.isoformat(),
                }
                for f in fills
            ],
            "households": list(report.households),
        },
    )
    return report
