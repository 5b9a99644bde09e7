"""Custodian trade files: a custodian's open block orders written out, one line per allocation.

Layouts (``docs/custodian-files.md``, "Trade files"): our generic CSV, a Schwab-like and a
Fidelity-like file. Sells carry their lot instructions (specific identification: the lot's id,
or its open date, quantity and unit cost "versus purchase", as each layout allows) and the cost
basis method "Specified Lots"; the sells of an account that does not use specified lots carry
no instructions, and the method column names the account's lot method.

An order goes into at most one file: the open orders are locked (``select_for_update``) and
get their ``trade_file`` and ``sent`` status in the transaction that records the file, so
generating twice, or after a worker died mid-run, never writes an allocation twice. The file
itself is written to the firm's storage first; if the transaction then fails, an unreferenced
file is left behind (harmless, never offered for download).
"""

import hashlib
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.access.services import audit_event_record
from apps.accounts.custodians import FIDELITY_QUANTITY_PLACES
from apps.accounts.models import TaxLot
from apps.common.csv_out import SafeCsvWriter
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO
from apps.common.tenancy import require_tenant_schema
from apps.trading.models import (
    Order,
    OrderAllocation,
    OrderQuantityType,
    OrderStatus,
    TradeFile,
    TradeFileLayout,
    TradeSide,
)
from apps.trading.services.orders import OrdersErrorCode

GENERIC_COLUMNS = (
    "allocation_id",
    "order_id",
    "custodian",
    "account_number",
    "side",
    "symbol",
    "shares",
    "lot_instructions",
    "cost_basis_method",
    "quantity_type",
    "amount",
)
# Schwab Advisor Services web trading: an allocation names the account, action, quantity and
# security; a sell's lot instruction names the lot by open date and quantity ("versus purchase",
# Schwab's "Specified Lots" cost basis method). Column names are ours (see the docs).
SCHWAB_COLUMNS = (
    "Account Number",
    "Action",
    "Quantity",
    "Symbol",
    "Order Type",
    "Time In Force",
    "Cost Basis Method",
    "VSP Open Date",
    "VSP Quantity",
    "VSP Unit Cost",
    "Client Reference",
    "Quantity Type",
    "Amount",
)
# Fidelity Wealthscape "Import Orders": columns A-H as the public help lists them, then our
# lot-instruction columns (the public import specification has none).
FIDELITY_COLUMNS = (
    "Account Number",
    "Account Type",
    "Order Action",
    "Quantity",
    "Symbol",
    "Price Type",
    "Time In Force",
    "Stop Price/Limit Price",
    "Cost Basis Method",
    "Tax Lot Acquired Date",
    "Tax Lot Quantity",
    "Tax Lot Unit Cost",
    "Client Reference",
    "Quantity Type",
    "Amount",
)
_UNIT_COST_QUANTUM = Decimal("0.000001")
SPECIFIED_LOTS = "Specified Lots"
# A lot method as each layout names it: Schwab's cost basis methods are FIFO, LIFO, High Cost
# (StreetSmart Edge help, "Cost Basis Method"); the generic file uses the ledger's names.
_METHOD_NAMES = {
    TradeFileLayout.GENERIC: {"FIFO": "FIFO", "LIFO": "LIFO", "HIFO": "HIFO"},
    TradeFileLayout.SCHWAB: {"FIFO": "FIFO", "LIFO": "LIFO", "HIFO": "High Cost"},
    TradeFileLayout.FIDELITY: {"FIFO": "FIFO", "LIFO": "LIFO", "HIFO": "High Cost"},
}


# How each layout names an allocation's quantity type (``OrderQuantityType``): funds traded at
# NAV go by dollar amount, a sale of the whole position by "all shares" (docs/custodian-files.md).
_QUANTITY_NAMES = {
    TradeFileLayout.GENERIC: {
        OrderQuantityType.SHARES: "shares",
        OrderQuantityType.AMOUNT: "amount",
        OrderQuantityType.ALL: "all",
    },
    TradeFileLayout.SCHWAB: {
        OrderQuantityType.SHARES: "Shares",
        OrderQuantityType.AMOUNT: "Dollars",
        OrderQuantityType.ALL: "All Shares",
    },
    TradeFileLayout.FIDELITY: {
        OrderQuantityType.SHARES: "Shares",
        OrderQuantityType.AMOUNT: "Dollars",
        OrderQuantityType.ALL: "All Shares",
    },
}


@dataclass(frozen=True, slots=True)
class LotFacts:
    """What a custodian needs to find a lot: open date, open shares, cost per share."""

    acquired_on: date
    shares: Decimal
    unit_cost: Decimal | None


def allocation_reference(allocation: OrderAllocation) -> str:
    """The client reference written for an allocation and read back from fills (``A<id>``)."""
    return f"A{allocation.pk}"


def number_text(value: Decimal) -> str:
    """A plain decimal without exponent or trailing zeros (``10``, ``2.5``)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def _lot_facts(allocations: Sequence[OrderAllocation]) -> dict[tuple[int, str], LotFacts]:
    """Open lots named by the sells' instructions, summed over their basis pieces."""
    wanted = {
        (a.account_id, str(pick["lot_id"])) for a in allocations for pick in a.lot_instructions
    }
    if not wanted:
        return {}
    pieces: dict[tuple[int, str], list[TaxLot]] = defaultdict(list)
    for lot in TaxLot.objects.filter(
        account_id__in={a for a, _ in wanted}, lot_key__in={k for _, k in wanted}
    ):
        pieces[(lot.account_id, lot.lot_key)].append(lot)
    facts = {}
    for key, lots in pieces.items():
        if key not in wanted:
            continue
        shares = sum((lot.shares for lot in lots), ZERO)
        has_basis = all(lot.has_basis for lot in lots)
        basis = sum(
            (
                lot.adjusted_basis_amount
                if lot.adjusted_basis_amount is not None
                else lot.cost_basis_amount
                for lot in lots
            ),
            ZERO,
        )
        facts[key] = LotFacts(
            acquired_on=min(lot.acquired_on for lot in lots),
            shares=shares,
            unit_cost=(basis / shares).quantize(_UNIT_COST_QUANTUM, rounding=ROUND_HALF_EVEN)
            if has_basis and shares
            else None,
        )
    return facts


def _check(
    allocations: Sequence[OrderAllocation],
    lots: dict[tuple[int, str], LotFacts],
    layout: TradeFileLayout,
) -> list[str]:
    problems = []
    for allocation in allocations:
        number = allocation.account.number
        for pick in allocation.lot_instructions:
            facts = lots.get((allocation.account_id, str(pick["lot_id"])))
            if facts is None or facts.shares < Decimal(str(pick["shares"])):
                held = number_text(facts.shares) if facts else "0"
                problems.append(
                    f"allocation {allocation.pk}: lot {pick['lot_id']} of account {number} holds "
                    f"{held} shares, the instruction sells {pick['shares']}"
                )
        if layout is TradeFileLayout.FIDELITY and not allocation.is_amount_order:
            exponent = allocation.shares.normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > FIDELITY_QUANTITY_PLACES:
                problems.append(
                    f"allocation {allocation.pk}: {number_text(allocation.shares)} shares has "
                    f"more than {FIDELITY_QUANTITY_PLACES} decimal places (Fidelity's limit)"
                )
    return problems


def _method(allocation: OrderAllocation, layout: TradeFileLayout) -> str:
    """A sell's cost basis method: specified lots, or the lot method the custodian applies."""
    if allocation.order.side != TradeSide.SELL:
        return ""
    if allocation.lot_instructions:
        return SPECIFIED_LOTS
    return _METHOD_NAMES[layout][allocation.lot_method or allocation.account.lot_method]


def _us_date(value: date) -> str:
    return value.strftime("%m/%d/%Y")


def _quantity(allocation: OrderAllocation, shares: Decimal, layout: TradeFileLayout) -> list[str]:
    """A line's quantity cells: its shares (empty for an amount order), then type and amount.

    An amount order leaves the shares empty: a reader of the shares column alone never takes
    dollars for shares (nor the estimate for the order).
    """
    is_amount = allocation.is_amount_order
    amount = allocation.order_amount
    return [
        "" if is_amount else number_text(shares),
        _QUANTITY_NAMES[layout][OrderQuantityType(allocation.quantity_type)],
        f"{amount:.2f}" if is_amount and amount is not None else "",
    ]


def _rows(
    allocations: Sequence[OrderAllocation],
    lots: dict[tuple[int, str], LotFacts],
    layout: TradeFileLayout,
) -> tuple[tuple[str, ...], list[list[str]]]:
    rows: list[list[str]] = []
    if layout is TradeFileLayout.GENERIC:
        for a in allocations:
            instructions = ";".join(
                f"{p['lot_id']}:{number_text(Decimal(str(p['shares'])))}"
                for p in a.lot_instructions
            )
            shares, quantity_type, amount = _quantity(a, a.shares, layout)
            rows.append(
                [
                    str(a.pk),
                    str(a.order_id),
                    a.order.custodian,
                    a.account.number,
                    a.order.side,
                    a.order.symbol,
                    shares,
                    instructions,
                    _method(a, layout),
                    quantity_type,
                    amount,
                ]
            )
        return GENERIC_COLUMNS, rows

    is_schwab = layout is TradeFileLayout.SCHWAB
    for a in allocations:
        is_sell = a.order.side == TradeSide.SELL
        if is_schwab:
            action = "Sell" if is_sell else "Buy"
            head = [a.account.number, action, "", a.order.symbol, "Market", "Day"]
        else:
            action = "S" if is_sell else "B"
            head = [a.account.number, "", action, "", a.order.symbol, "M", "D", ""]
        method = _method(a, layout)
        quantity_at = 2 if is_schwab else 3
        picks = a.lot_instructions or [None]
        for pick in picks:
            row = list(head)
            if pick is None:
                row[quantity_at], *quantity_cells = _quantity(a, a.shares, layout)
                lot_cells = ["", "", ""]
            else:
                lot_shares = Decimal(str(pick["shares"]))
                # Several lots in one allocation: one line per lot, same client reference.
                row[quantity_at], *quantity_cells = _quantity(
                    a, lot_shares if len(picks) > 1 else a.shares, layout
                )
                facts = lots[(a.account_id, str(pick["lot_id"]))]
                lot_cells = [
                    _us_date(facts.acquired_on),
                    number_text(lot_shares),
                    number_text(facts.unit_cost) if facts.unit_cost is not None else "",
                ]
            rows.append([*row, method, *lot_cells, allocation_reference(a), *quantity_cells])
    return (SCHWAB_COLUMNS if is_schwab else FIDELITY_COLUMNS), rows


def trade_file_render(
    *, allocations: Sequence[OrderAllocation], layout: TradeFileLayout | str
) -> tuple[bytes, int]:
    """Write allocations in a layout (no database writes).

    Returns:
        The file's bytes (UTF-8 CSV, CRLF line ends, header first) and its data line count.

    Raises:
        ApplicationError: a sell's lot is no longer open with the instructed shares, or a
            quantity the layout cannot carry.
    """
    layout = TradeFileLayout(layout)
    lots = _lot_facts(allocations)
    problems = _check(allocations, lots, layout)
    if problems:
        raise ApplicationError(
            f"{len(problems)} allocation(s) cannot be sent; cancel or fix them first",
            code=OrdersErrorCode.LOT_NOT_OPEN,
            extra={"problems": problems},
        )
    columns, rows = _rows(allocations, lots, layout)
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8"), len(rows)


@transaction.atomic
def trade_file_generate(
    *, custodian: str, layout: TradeFileLayout | str, acting_user: User | None
) -> TradeFile:
    """Write the custodian's open orders to a trade file in the firm's storage; mark them sent.

    Args:
        custodian: the accounts' custodian (as stored on ``Account.custodian``).
        layout: ``generic``, ``schwab`` or ``fidelity``.
        acting_user: the trader (None for the system).

    Returns:
        The recorded file (``storage_name`` in the firm's storage).

    Raises:
        ApplicationError: unknown layout; no open order for the custodian; a sell's lot is no
            longer open (every such allocation is listed; nothing is sent).
    """
    require_tenant_schema()
    try:
        layout = TradeFileLayout(layout)
    except ValueError as exc:
        raise ApplicationError(f"unknown layout {layout!r}", code=OrdersErrorCode.INVALID) from exc
    orders = list(
        Order.objects.select_for_update()
        .filter(custodian=custodian, status=OrderStatus.OPEN, trade_file__isnull=True)
        .order_by("symbol", "side", "pk")
    )
    if not orders:
        raise ApplicationError(
            f"no open order for custodian {custodian!r}", code=OrdersErrorCode.NOTHING_TO_SEND
        )
    rank = {order.pk: i for i, order in enumerate(orders)}
    allocations = sorted(
        OrderAllocation.objects.filter(order__in=orders).select_related("account", "order"),
        key=lambda a: (rank[a.order_id], a.account.number, a.pk),
    )
    content, lines = trade_file_render(allocations=allocations, layout=layout)
    now = timezone.now()
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    filename = f"trades-{slugify(custodian) or 'custodian'}-{layout.value}-{stamp}.csv"
    storage_name = default_storage.save(f"trade-files/{filename}", ContentFile(content))
    trade_file = TradeFile(
        custodian=custodian,
        layout=layout,
        storage_name=storage_name,
        filename=filename,
        sha256=hashlib.sha256(content).hexdigest(),
        line_count=lines,
        order_count=len(orders),
        created_by=acting_user,
    )
    trade_file.full_clean()
    trade_file.save()
    for order in orders:
        order.trade_file, order.status, order.sent_at = trade_file, OrderStatus.SENT, now
    Order.objects.bulk_update(orders, ["trade_file", "status", "sent_at"])
    audit_event_record(
        action="trade_file.generate",
        acting_user=acting_user,
        obj=trade_file,
        payload={
            "custodian": custodian,
            "layout": layout.value,
            "file": storage_name,
            "sha256": trade_file.sha256,
            "lines": lines,
            "order_ids": [o.pk for o in orders],
        },
    )
    return trade_file


def trade_file_content(*, trade_file: TradeFile) -> bytes:
    """The stored bytes of one of this firm's trade files.

    Raises:
        FileNotFoundError: the file is gone from storage.
    """
    require_tenant_schema()
    with default_storage.open(trade_file.storage_name, "rb") as handle:
        data: bytes = handle.read()
    return data
