"""Report fixtures: the trading run book, rebalanced synchronously, with its trades filled.

Trades are filled through the real workflow (approve, block orders, trade file, fills file):
the taxes-saved method reads the ledger the fills book, and only filled quantities count.
"""

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from apps.accounts.models import Account, Household
from apps.accounts.services.ledger import ledger_rebuild
from apps.models.services import model_assign
from apps.restrictions.models import Restriction
from apps.trading.models import (
    Order,
    OrderAllocation,
    OrderStatus,
    Proposal,
    ProposalStatus,
    RunMode,
    RunScope,
)
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import orders_create_from_approved
from apps.trading.services.review import proposals_decide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from apps.trading.services.trade_files import trade_file_generate
from tests.conftest import ARTIFACTS_DIR
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import (  # noqa: F401 - fixtures
    AS_OF,
    SECTORS,
    priced_universe,
    run_book,
)

REPORTS_ARTIFACTS = ARTIFACTS_DIR / "reports"
YEAR = AS_OF.year


def execute(proposals, acting_user, *, side: str | None = None, on: date = AS_OF) -> int:
    """Approve the proposals with trades, order them and import fills at the proposed prices.

    ``side`` ("buy" or "sell") fills only that side's allocations (the rest stay open). Returns
    the number of fills booked.
    """
    ids = [
        p.pk for p in proposals if p.status == ProposalStatus.PENDING_APPROVAL and p.trades.exists()
    ]
    if not ids:
        return 0
    proposals_decide(proposal_ids=ids, approve=True, acting_user=acting_user)
    orders_create_from_approved(acting_user=acting_user)
    custodians = set(
        Order.objects.filter(status=OrderStatus.OPEN).values_list("custodian", flat=True)
    )
    for custodian in sorted(custodians):
        trade_file_generate(custodian=custodian, layout="generic", acting_user=acting_user)
    allocations = OrderAllocation.objects.filter(
        proposed_trade__proposal_id__in=ids, filled_shares=0
    ).select_related("account", "order", "proposed_trade")
    if side is not None:
        allocations = allocations.filter(order__side=side)
    lines = ["allocation_id,account_number,symbol,side,shares,price,trade_date\n"]
    lines += [
        f"{a.pk},{a.account.number},{a.order.symbol},{a.order.side},{a.shares},"
        f"{a.proposed_trade.price},{on}\n"
        for a in allocations.order_by("pk")
    ]
    if len(lines) == 1:  # nothing of that side: the orders stay open, unfilled
        return 0
    fills_import(
        content="".join(lines).encode(),
        filename=f"fills-{on}-{ids[0]}.csv",
        acting_user=acting_user,
    )
    return len(lines) - 1


def run_model(model, as_of=AS_OF) -> list[Proposal]:
    """Rebalance the model's accounts in this process; return the proposals."""
    run = rebalance_run_create(
        scope=RunScope.MODEL,
        scope_ids=[model.pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=as_of,
        requested_by=None,
        enqueue=False,
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    return list(Proposal.objects.filter(run=run).order_by("account_id"))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Trade files are written to the firm's storage: a temporary one."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def report_book(run_book, firms):  # noqa: F811 - the trading fixture
    """The run book plus a long-lot account and a restriction, rebalanced and filled."""
    from apps.access.roles import Role

    admin = firms["a"].users[Role.FIRM_ADMIN]
    legacy = run_book["legacy"]
    Account.objects.filter(pk=legacy.pk).update(
        name="Evelyn Hartley Trust",
        opened_on=date(2020, 1, 2),
        short_term_rate=Decimal("0.35"),
        long_term_rate=Decimal("0.15"),
        state_rate=Decimal("0.05"),
        fee_rate=Decimal("0.0075"),
        withdrawal_amount=Decimal("500"),
        withdrawal_frequency="monthly",
        next_withdrawal_on=date(2024, 7, 15),
    )
    household = Household.objects.create(external_id="H-LONG", name="Okafor household")
    many = Account.objects.create(
        household=household,
        custodian="schwab",
        number="L1",
        name="Okafor Joint",
        registration="taxable",
        opened_on=date(2019, 3, 1),
    )
    entry(many, "dep", "deposit", date(2019, 3, 1), amount="400000")
    k = 0
    for month in range(1, 13):
        for symbol in SECTORS:
            k += 1
            entry(
                many, f"b-{k}", "buy", date(2023, month, 3), symbol, "10", str(400 + (k % 9) * 20)
            )
    ledger_rebuild(household=household)
    model_assign(account=many, model=run_book["model"], acting_user=admin)
    Restriction.objects.create(
        scope="account",
        account_id=legacy.pk,
        kind="never_buy",
        value="HHH",
        starts_on=date(2024, 1, 1),
        reason="Client works for HHH's main competitor",
    )
    proposals = run_model(run_book["model"])
    execute(proposals, firms["a"].users[Role.TRADER])
    legacy.refresh_from_db()
    many.refresh_from_db()
    return {**run_book, "legacy": legacy, "many": many, "proposals": proposals}


def record_timing(name: str, elapsed_ms: float, pages: int) -> None:
    """Append a rendering time to artifacts/reports/timings.txt (quoted in the notes)."""
    REPORTS_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (REPORTS_ARTIFACTS / "timings.txt").open("a") as handle:
        handle.write(f"{name}\t{elapsed_ms:.0f} ms\t{pages} pages\n")


def save_pages(pdf: bytes, name: str) -> list[Path]:
    """Write the PDF and its pages as PNGs under artifacts/reports/ (for people to look at)."""
    REPORTS_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf_path = REPORTS_ARTIFACTS / f"{name}.pdf"
    pdf_path.write_bytes(pdf)
    for old in REPORTS_ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(pdf_path), str(REPORTS_ARTIFACTS / name)],
        check=True,
    )
    return sorted(REPORTS_ARTIFACTS.glob(f"{name}-*.png"))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """pdftotext of the PDF, layout kept."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """pdftotext per page (form feed separated)."""
    return pdf_text(pdf, tmp_path).split("\f")
