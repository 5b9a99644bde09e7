"""Custodian file imports into the books of record: all or nothing, every problem by line.

A file is parsed whole (``import_layouts``), every row is checked against the books (unknown
accounts and symbols, external ids already imported with other content, oversells found by
replaying each household's history plus the new rows through the tax-lot engine), and only a
clean file is applied: new ledger entries in bulk, one ``ledger_rebuild`` per household and
one audit row, inside one transaction. Re-importing a file changes nothing. Layouts, sources
and conventions: ``docs/custodian-files.md``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum

from apps.access.services import audit_event_record
from apps.accounts.errors import AccountsErrorCode
from apps.accounts.layouts import LAYOUTS, CustodianLayout, ImportKind
from apps.accounts.models import (
    Account,
    BudgetKind,
    FilingStatus,
    Household,
    LotMethod,
    LotSelection,
    RealizedGain,
    Registration,
    TaxLot,
    Transaction,
    TransactionKind,
    WashSaleMatch,
    WithdrawalFrequency,
)
from apps.accounts.services.accounts import transition_start_changes
from apps.accounts.services.import_layouts import (
    CASH_SYMBOL,
    AccountRow,
    ParsedFile,
    PositionRow,
    TransactionRow,
    parse_file,
)
from apps.accounts.services.ledger import (
    LedgerInconsistentError,
    engine_id,
    household_replay,
    ledger_rebuild,
    lot_method_record,
)
from apps.common.bulk import statistics_refresh
from apps.common.exceptions import ApplicationError, TenantContextError
from apps.common.money import ZERO
from apps.common.tenancy import firm_today, require_tenant_schema
from apps.ingest.problems import FileRejectedError, Problem, ProblemLines, problems_sorted
from apps.securities.selectors import security_map_get

__all__ = ["ImportKind", "ImportReport", "custodian_file_import"]

# Engine field -> our field (reported under the layout's column, ``problem_field``).
_ENGINE_FIELDS = {
    "quantity": "shares",
    "amount": "amount",
    "date": "trade_date",
    "symbol": "symbol",
    "id": "external_id",
    "holding_period_start": "holding_period_start",
    "wash_adjustment": "wash_adjustment",
}
_ENGINE_PROBLEM_RE = re.compile(r"trade (?P<id>\S+) \(trades\[\d+\]\): (?P<rest>.*)", re.DOTALL)
_ENGINE_FIELD_RE = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]]*): (?P<message>.*)", re.DOTALL)
# Account columns an import may not change: they decide identity and tax treatment.
_ACCOUNT_FIXED_FIELDS = ("registration", "currency")
# Ledger rows in one import from which the planner statistics of the ledger's tables are
# refreshed before the commit (``common.bulk.statistics_refresh``).
STATISTICS_AFTER_ROWS = 10_000


@dataclass(frozen=True)
class ImportReport(ProblemLines):
    """What an import did (or, for a dry run or a rejected file, would have done).

    ``created`` counts new rows (ledger entries, or households + accounts for accounts files),
    ``updated`` accounts whose profile changed, ``unchanged`` rows already in the books with
    identical content (and positions that reconcile), ``skipped`` rows ignored on purpose
    (custodian totals and footers, cash sweeps, exact duplicates inside the file).
    """

    kind: str
    layout: str
    filename: str
    sha256: str
    is_dry_run: bool
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: tuple[Problem, ...] = ()
    is_applied: bool = False
    households: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line of counts for people."""
        verb = "would change" if self.is_dry_run else "applied"
        return (
            f"{self.filename}: {self.kind} ({self.layout}) {verb}: created {self.created}, "
            f"updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped}"
        )


@dataclass
class _Plan:
    """What the checks decided: problems, or the writes that make the books match the file."""

    layout: CustodianLayout
    problems: list[Problem] = field(default_factory=list)
    entries: list[Transaction] = field(default_factory=list)
    households: dict[int, Household] = field(default_factory=dict)
    new_households: list[Household] = field(default_factory=list)
    new_accounts: list[Account] = field(default_factory=list)
    updated_accounts: list[tuple[Account, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    broken_accounts: set[tuple[str, str]] = field(default_factory=set)
    tainted_accounts: set[int] = field(default_factory=set)

    def taint(self, accounts: dict[tuple[str, str], Account]) -> None:
        """Accounts with a row that did not parse: skip their holdings checks (echoes)."""
        self.tainted_accounts = {
            accounts[key].pk for key in self.broken_accounts if key in accounts
        }

    def problem(self, line: int, field_name: str, reason: str) -> None:
        self.problems.append(Problem(line, self.layout.problem_field(field_name), reason))

    @property
    def created(self) -> int:
        return len(self.entries) + len(self.new_households) + len(self.new_accounts)


def custodian_file_import(
    *,
    kind: ImportKind | str,
    layout: CustodianLayout | str,
    content: bytes,
    filename: str,
    acting_user: User | None,
    dry_run: bool = False,
    as_of: date | None = None,
) -> ImportReport:
    """Import one custodian file into the current firm's books, all or nothing.

    Args:
        kind: ``positions``, ``lots``, ``transactions`` or ``accounts`` (generic only).
        layout: a layout of ``apps.accounts.layouts`` or its name (``generic``, ``schwab``, ...).
        content: the file's bytes: UTF-8 (BOM allowed), at most 50 MB.
        filename: shown in the report and stored in the audit row and on each entry.
        acting_user: the firm user importing (None for the system).
        dry_run: check everything, write nothing (no audit row either).
        as_of: the date of a positions snapshot when the file carries none (default: the
            firm's today); used for opening lots and cash adjustments.

    Returns:
        The report: counts of created, updated, unchanged and skipped rows.

    Raises:
        FileRejectedError: any problem (encoding, header, a bad value, an unknown account or
            symbol, a conflicting external id, an oversell, a positions mismatch); every one
            is listed with its line and field, and nothing was written.
        ApplicationError: unknown kind or layout.
    """
    require_tenant_schema()
    try:
        kind = ImportKind(kind)
    except ValueError as exc:
        raise ApplicationError(str(exc), code=AccountsErrorCode.INVALID) from exc
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            raise ApplicationError(
                f"{layout!r} is not a layout ({', '.join(LAYOUTS)})", code=AccountsErrorCode.INVALID
            )
        layout = LAYOUTS[layout]
    report = ImportReport(
        kind=kind.value,
        layout=layout.name,
        filename=filename,
        sha256=hashlib.sha256(content).hexdigest(),
        is_dry_run=dry_run,
    )
    parsed = parse_file(
        kind=kind,
        layout=layout,
        content=content,
        account_choices={
            "registration": Registration.values,
            "filing_status": FilingStatus.values,
            "budget_kind": BudgetKind.values,
            "withdrawal_frequency": WithdrawalFrequency.values,
            "lot_method": LotMethod.values,
            "lot_selection": LotSelection.values,
        },
    )
    report = replace(report, rows_read=parsed.reading.data_lines, skipped=parsed.reading.skipped)
    if parsed.reading.is_file_broken:
        raise _rejected(report, parsed.problems)

    with transaction.atomic():
        # Rows that parsed are still checked against the books, so one pass reports everything.
        plan = _Plan(
            layout=layout,
            problems=list(parsed.problems),
            broken_accounts=parsed.broken_accounts(layout.custodian),
        )
        if kind is ImportKind.ACCOUNTS:
            _plan_accounts(plan, parsed.rows)
        elif kind is ImportKind.POSITIONS:
            _plan_positions(plan, parsed, as_of=as_of, filename=filename)
        else:
            _plan_entries(plan, parsed.rows, filename=filename)
        report = replace(
            report,
            created=plan.created,
            updated=len(plan.updated_accounts),
            unchanged=plan.unchanged,
            skipped=report.skipped + plan.skipped,
            households=tuple(sorted(h.external_id for h in plan.households.values())),
        )
        if plan.problems:
            raise _rejected(report, plan.problems)
        if dry_run:
            return report
        _apply(plan, report=report, acting_user=acting_user)
    return replace(report, is_applied=True)


def _rejected(report: ImportReport, problems: Iterable[Problem]) -> FileRejectedError:
    """The file's rejection: every problem once, sorted, on the report and the error."""
    report = replace(report, problems=problems_sorted(problems))
    return FileRejectedError(
        report.problems,
        message=f"{len(report.problems)} problem(s) in {report.filename}; nothing was imported",
        code=AccountsErrorCode.IMPORT_REJECTED,
        report=report,
    )


# --- accounts and symbols ----------------------------------------------------------------------


def _accounts_locked(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """The firm's accounts by (custodian, number), locked for this import (custodian: any case)."""
    wanted = set(keys)
    numbers = {number for _, number in wanted}
    found: dict[tuple[str, str], Account] = {}
    for account in (
        Account.objects.select_for_update(of=("self",))
        .select_related("household")
        .filter(number__in=numbers)
        .order_by("pk")
    ):
        key = (account.custodian.lower(), account.number)
        if key in wanted:
            found[key] = account
    return found


def _check_symbols(plan: _Plan, rows: Sequence[Any]) -> set[int]:
    """Report unknown symbols; return the lines that have one."""
    symbols = {row.symbol for row in rows if row.symbol and row.symbol != CASH_SYMBOL}
    known = security_map_get(symbols=symbols)
    bad: set[int] = set()
    for row in rows:
        if row.symbol and row.symbol != CASH_SYMBOL and row.symbol not in known:
            plan.problem(row.line, "symbol", f"unknown symbol {row.symbol}")
            bad.add(row.line)
    return bad


# --- transactions and lots ---------------------------------------------------------------------


def _content(entry: Transaction, *, booked_method: str = "") -> tuple[Any, ...]:
    """What makes two entries with the same external id the same entry.

    ``booked_method``: the lot method recorded on the booked entry, which a row naming none
    matches (the method in force when it was booked was recorded, ``lot_method_record``).
    """
    picks = tuple((str(p["lot_id"]), Decimal(str(p["shares"]))) for p in entry.lot_picks or ())
    return (
        entry.kind,
        entry.trade_on,
        entry.symbol,
        entry.shares,
        entry.amount,
        entry.lot_method or booked_method,
        picks,
        entry.is_opening_lot,
        entry.is_basis_unknown,
        entry.holding_period_start_on,
        entry.wash_adjustment_amount,
    )


_CONTENT_FIELDS = (
    "kind",
    "trade date",
    "symbol",
    "shares",
    "amount",
    "lot method",
    "lots",
    "opening lot",
    "unknown basis",
    "holding period start",
    "wash adjustment",
)


def _differences(a: Transaction, b: Transaction, *, booked_method: str = "") -> str:
    return ", ".join(
        name
        for name, x, y in zip(
            _CONTENT_FIELDS, _content(a), _content(b, booked_method=booked_method), strict=True
        )
        if x != y
    )


def _entry_of(row: TransactionRow, account: Account, filename: str) -> Transaction:
    return Transaction(
        account=account,
        external_id=row.external_id,
        kind=row.kind,
        trade_on=row.trade_on,
        symbol=row.symbol,
        shares=row.shares,
        amount=row.amount,
        lot_method=row.lot_method,
        lot_picks=[{"lot_id": lot_id, "shares": str(shares)} for lot_id, shares in row.lot_picks],
        is_opening_lot=row.is_opening_lot,
        is_basis_unknown=row.is_basis_unknown,
        holding_period_start_on=row.holding_period_start_on,
        wash_adjustment_amount=row.wash_adjustment_amount,
        source=filename[:200],
    )


def _plan_entries(plan: _Plan, rows: Sequence[TransactionRow], *, filename: str) -> None:
    accounts = _accounts_locked((r.custodian, r.account_number) for r in rows)
    plan.taint(accounts)
    bad_lines = _check_symbols(plan, rows)
    candidates: list[tuple[TransactionRow, Transaction]] = []
    for row in rows:
        account = accounts.get((row.custodian, row.account_number))
        if account is None:
            plan.problem(
                row.line, "account_number", f"unknown account {row.custodian} {row.account_number}"
            )
            continue
        candidates.append((row, _entry_of(row, account, filename)))
    tainted = {
        (entry.account_id, entry.symbol) for row, entry in candidates if row.line in bad_lines
    }
    _plan_new_entries(plan, [(r, e) for r, e in candidates if r.line not in bad_lines], tainted)


def _plan_new_entries(
    plan: _Plan,
    candidates: Sequence[tuple[TransactionRow, Transaction]],
    tainted: set[tuple[int, str]],
) -> None:
    """Drop duplicates and entries already in the books; sequence and replay the new ones."""
    first: dict[tuple[int, str], tuple[TransactionRow, Transaction]] = {}
    fresh: list[tuple[TransactionRow, Transaction]] = []
    for row, entry in candidates:
        key = (entry.account_id, entry.external_id)
        if key in first:
            earlier_row, earlier = first[key]
            if _content(earlier) == _content(entry):
                plan.skipped += 1
            else:
                plan.problem(
                    row.line,
                    "external_id",
                    f"{entry.external_id} repeats line {earlier_row.line} with a different "
                    f"{_differences(earlier, entry)}",
                )
                tainted.add((entry.account_id, entry.symbol))
            continue
        first[key] = (row, entry)
        fresh.append((row, entry))

    existing = {
        (t.account_id, t.external_id): t
        for t in Transaction.objects.filter(
            account_id__in={e.account_id for _, e in fresh},
            external_id__in={e.external_id for _, e in fresh},
        )
    }
    new: list[tuple[TransactionRow, Transaction]] = []
    for row, entry in fresh:
        stored = existing.get((entry.account_id, entry.external_id))
        if stored is None:
            new.append((row, entry))
        elif _content(stored) == _content(entry, booked_method=stored.lot_method):
            plan.unchanged += 1
        else:
            plan.problem(
                row.line,
                "external_id",
                f"{entry.external_id} was imported before with a different "
                f"{_differences(stored, entry, booked_method=stored.lot_method)}",
            )
            tainted.add((entry.account_id, entry.symbol))
    _assign_sequences(new)
    lot_method_record(entries=(entry for _, entry in new))
    for _, entry in new:
        plan.households[entry.account.household_id] = entry.account.household
    plan.entries.extend(entry for _, entry in new)
    _replay_check(plan, new, tainted)


def _assign_sequences(new: Sequence[tuple[TransactionRow, Transaction]]) -> None:
    """Same-date entries of a household follow the file's order, after those already booked."""
    if not new:
        return
    households = {entry.account.household_id for _, entry in new}
    dates = {entry.trade_on for _, entry in new}
    booked = {
        (row["account__household_id"], row["trade_on"]): row["top"]
        for row in Transaction.objects.filter(
            account__household_id__in=households, trade_on__in=dates
        )
        .values("account__household_id", "trade_on")
        .annotate(top=Max("sequence"))
    }
    groups: dict[tuple[int, date], list[tuple[TransactionRow, Transaction]]] = defaultdict(list)
    for row, entry in new:
        groups[(entry.account.household_id, entry.trade_on)].append((row, entry))
    for key, members in groups.items():
        start = booked[key] + 1 if key in booked else 0
        for offset, (_, entry) in enumerate(sorted(members, key=lambda m: m[0].order)):
            entry.sequence = start + offset


def _replay_check(
    plan: _Plan,
    new: Sequence[tuple[TransactionRow, Transaction]],
    tainted: set[tuple[int, str]],
) -> None:
    """Replay each household with its new entries; map the engine's problems to file lines."""
    by_household: dict[int, list[tuple[TransactionRow, Transaction]]] = defaultdict(list)
    for row, entry in new:
        if entry.kind in (TransactionKind.BUY, TransactionKind.SELL):
            by_household[entry.account.household_id].append((row, entry))
    for household_id, members in by_household.items():
        household = plan.households[household_id]
        lines = {
            engine_id(account_id=e.account_id, external_id=e.external_id): (r, e)
            for r, e in members
        }
        try:
            household_replay(household=household, extra=[e for _, e in members])
        except LedgerInconsistentError as exc:
            numbers = dict(household.accounts.values_list("pk", "number"))
            for text in exc.extra.get("problems", []):
                _map_engine_problem(plan, str(text), lines, numbers, tainted, household)


def _map_engine_problem(
    plan: _Plan,
    text: str,
    lines: dict[str, tuple[TransactionRow, Transaction]],
    numbers: dict[int, str],
    tainted: set[tuple[int, str]],
    household: Household,
) -> None:
    def readable(message: str) -> str:
        message = re.sub(r"\b\d+\.\d{6}\b", lambda m: f"{Decimal(m[0]).normalize():f}", message)
        for account_id, number in numbers.items():
            message = re.sub(rf"(?<=[\s']){account_id}:", "", message)
            message = re.sub(rf"\baccount {account_id}\b", f"account {number}", message)
        return message

    matched = _ENGINE_PROBLEM_RE.fullmatch(text)
    if matched is None:
        plan.problem(0, "ledger", f"household {household.external_id}: {readable(text)}")
        return
    engine_key, rest = matched["id"], matched["rest"]
    found = _ENGINE_FIELD_RE.fullmatch(rest)
    engine_field, message = (found["field"], found["message"]) if found else ("", rest)
    if engine_key not in lines:
        account_id, _, external_id = engine_key.partition(":")
        if account_id.isdigit() and int(account_id) in plan.tainted_accounts:
            return
        number = numbers.get(int(account_id), account_id) if account_id.isdigit() else account_id
        plan.problem(
            0,
            "ledger",
            f"the books' entry {external_id} of account {number} would become invalid: "
            f"{readable(message)}",
        )
        return
    row, entry = lines[engine_key]
    if (entry.account_id, entry.symbol) in tainted or entry.account_id in plan.tainted_accounts:
        return  # an echo of a problem already reported on another line of this file
    if engine_field.startswith("lots"):
        name = "lot_ids"
    else:
        name = _ENGINE_FIELDS.get(engine_field, engine_field or "row")
    plan.problem(row.line, name, readable(message))


# --- positions ---------------------------------------------------------------------------------


def _books_cash(account_ids: Iterable[int]) -> dict[int, Decimal]:
    """Cash derived from the ledger per account (as ``ledger_rebuild`` derives it)."""
    sign = {
        TransactionKind.BUY: -1,
        TransactionKind.SELL: 1,
        TransactionKind.DEPOSIT: 1,
        TransactionKind.WITHDRAWAL: -1,
        TransactionKind.DIVIDEND: 1,
        TransactionKind.FEE: -1,
    }
    cash: dict[int, Decimal] = defaultdict(lambda: ZERO)
    totals = (
        Transaction.objects.filter(account_id__in=set(account_ids), is_opening_lot=False)
        .values_list("account_id", "kind")
        .annotate(total=Sum("amount"))
    )
    for account_id, kind, total in totals:
        cash[account_id] += sign[TransactionKind(kind)] * total
    return cash


def _resolve_as_of(as_of: date | None) -> date | None:
    if as_of is not None:
        return as_of
    try:
        return firm_today()
    except TenantContextError:
        return None


def _plan_positions(plan: _Plan, parsed: ParsedFile, *, as_of: date | None, filename: str) -> None:
    rows: list[PositionRow] = parsed.rows
    accounts = _accounts_locked((r.custodian, r.account_number) for r in rows)
    plan.taint(accounts)
    bad_lines = _check_symbols(plan, rows)
    default_as_of = parsed.as_of or (
        _resolve_as_of(as_of) if any(r.as_of is None for r in rows) else None
    )
    # Sum rows per (account, symbol): custodians list a symbol once per lot type or cash fund.
    merged: dict[tuple[int, str], list[PositionRow]] = defaultdict(list)
    for row in rows:
        account = accounts.get((row.custodian, row.account_number))
        if account is None:
            plan.problem(
                row.line, "account_number", f"unknown account {row.custodian} {row.account_number}"
            )
        elif row.line not in bad_lines:
            merged[(account.pk, row.symbol)].append(row)
        if (row.as_of or default_as_of) is None:
            plan.problem(row.line, "as_of", "the file has no as-of date; give one")
    if plan.problems:
        return  # reconciling a partly read snapshot would only report echoes
    by_pk = {a.pk: a for a in accounts.values()}
    holdings = _holdings(plan, {a.household_id: a.household for a in by_pk.values()})
    if holdings is None:
        return
    cash = _books_cash(pk for pk, symbol in merged if symbol == CASH_SYMBOL)
    candidates: list[tuple[TransactionRow, Transaction]] = []
    for (account_pk, symbol), group in merged.items():
        account, line = by_pk[account_pk], group[0].line
        snapshot_on = group[0].as_of or default_as_of
        assert snapshot_on is not None  # checked above  # noqa: S101  # nosec B101
        custodian_says = sum((r.shares for r in group), ZERO)
        if symbol == CASH_SYMBOL:
            entry = _plan_cash(plan, account, line, snapshot_on, custodian_says, cash, filename)
            if entry is not None:
                candidates.append(entry)
            continue
        books_say = holdings.get((account_pk, symbol), ZERO)
        if books_say:
            if books_say == custodian_says:
                plan.unchanged += 1
            else:
                plan.problem(
                    line,
                    "shares",
                    f"{symbol}: custodian says {custodian_says.normalize():f}, "
                    f"books say {books_say.normalize():f}",
                )
            continue
        external_id = f"pos:{symbol}:{snapshot_on.isoformat()}"
        if Transaction.objects.filter(account=account, external_id=external_id).exists():
            plan.problem(
                line,
                "shares",
                f"{symbol}: custodian says {custodian_says.normalize():f}, books say 0 (the "
                f"opening lot {external_id} was booked and has been sold since)",
            )
            continue
        bases = [r.cost_basis for r in group if r.cost_basis is not None]
        basis = sum(bases, ZERO) if len(bases) == len(group) else None
        opening = TransactionRow(
            line=line,
            order=line,
            custodian=account.custodian,
            account_number=account.number,
            external_id=external_id,
            kind=TransactionKind.BUY,
            trade_on=snapshot_on,
            symbol=symbol,
            shares=custodian_says,
            amount=basis if basis is not None else ZERO,
            is_opening_lot=True,
            is_basis_unknown=basis is None,
        )
        candidates.append((opening, _entry_of(opening, account, filename)))
    # Symbols the books hold that the custodian's file omits for an account it lists.
    listed = {pk for pk, _ in merged}
    first_line: dict[int, int] = {}
    for (pk, _), group in merged.items():
        first_line[pk] = min(first_line.get(pk, group[0].line), group[0].line)
    for (account_pk, symbol), shares in sorted(holdings.items()):
        if account_pk in listed and (account_pk, symbol) not in merged and shares:
            plan.problem(
                first_line[account_pk],
                "symbol",
                f"{symbol}: books say {shares.normalize():f}, the custodian's file lists none "
                f"for account {by_pk[account_pk].number}",
            )
    _plan_new_entries(plan, candidates, set())


def _holdings(
    plan: _Plan, households: dict[int, Household]
) -> dict[tuple[int, str], Decimal] | None:
    """Open shares per (account, symbol) by replaying each household's books."""
    held: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for household in households.values():
        try:
            result, _ = household_replay(household=household)
        except LedgerInconsistentError as exc:
            problems = "; ".join(str(p) for p in exc.extra.get("problems", []))
            plan.problem(
                0,
                "ledger",
                f"the books of household {household.external_id} are invalid: {problems}",
            )
            continue
        for lot in result.lots_open:
            held[(int(lot.account), lot.symbol)] += lot.quantity
    return None if plan.problems else held


def _plan_cash(
    plan: _Plan,
    account: Account,
    line: int,
    snapshot_on: date,
    custodian_says: Decimal,
    cash: dict[int, Decimal],
    filename: str,
) -> tuple[TransactionRow, Transaction] | None:
    """Book a deposit/withdrawal so derived cash equals the custodian's (``cash-adj:<date>``)."""
    difference = custodian_says - cash[account.pk]
    if difference == 0:
        plan.unchanged += 1
        return None
    row = TransactionRow(
        line=line,
        order=line,
        custodian=account.custodian,
        account_number=account.number,
        external_id=f"cash-adj:{snapshot_on.isoformat()}",
        kind=TransactionKind.DEPOSIT if difference > 0 else TransactionKind.WITHDRAWAL,
        trade_on=snapshot_on,
        amount=abs(difference),
    )
    if Transaction.objects.filter(account=account, external_id=row.external_id).exists():
        plan.problem(
            line,
            "shares",
            f"cash: custodian says {custodian_says}, books say {cash[account.pk]}, and the "
            f"cash adjustment of {snapshot_on.isoformat()} is already booked",
        )
        return None
    return row, _entry_of(row, account, filename)


# --- accounts files ----------------------------------------------------------------------------


def _plan_accounts(plan: _Plan, rows: Sequence[AccountRow]) -> None:
    names: dict[str, tuple[str, int]] = {}
    for row in rows:
        seen = names.setdefault(row.household_id, (row.household_name, row.line))
        if seen[0] != row.household_name:
            plan.problem(
                row.line,
                "household_name",
                f"household {row.household_id} is {seen[0]!r} on line {seen[1]}",
            )
    households = {
        h.external_id: h
        for h in Household.objects.select_for_update().filter(external_id__in=set(names))
    }
    for household_id, (name, line) in names.items():
        booked = households.get(household_id)
        if booked is not None and booked.name != name:
            plan.problem(
                line,
                "household_name",
                f"household {household_id} is {booked.name!r} in the books; rename it there",
            )
        elif booked is None:
            household = Household(external_id=household_id, name=name)
            _validate(plan, household, line, exclude=())
            households[household_id] = household
            plan.new_households.append(household)
    accounts = _accounts_locked((r.custodian, r.account_number) for r in rows)
    first: dict[tuple[str, str], AccountRow] = {}
    for row in rows:
        key = (row.custodian, row.account_number)
        if key in first:
            if first[key].values == row.values and first[key].household_id == row.household_id:
                plan.skipped += 1
            else:
                plan.problem(
                    row.line, "account_number", f"repeats line {first[key].line} differently"
                )
            continue
        first[key] = row
        household = households[row.household_id]
        stored = accounts.get(key)
        if stored is None:
            account = Account(
                household=household, custodian=row.custodian, number=row.account_number
            )
            for name, value in transition_start_changes(account, row.values).items():
                setattr(account, name, value)
            _validate(plan, account, row.line, exclude=("household",))
            plan.new_accounts.append(account)
            continue
        if stored.household.external_id != row.household_id:
            plan.problem(
                row.line,
                "household_id",
                f"account {row.account_number} belongs to household "
                f"{stored.household.external_id}; moving accounts is not an import",
            )
            continue
        fixed = [f for f in _ACCOUNT_FIXED_FIELDS if f in row.values]
        for name in fixed:
            if getattr(stored, name) != row.values[name]:
                plan.problem(
                    row.line,
                    name,
                    f"is {getattr(stored, name)!r} in the books and cannot change by import",
                )
        changed = [
            name
            for name, value in row.values.items()
            if name not in _ACCOUNT_FIXED_FIELDS and getattr(stored, name) != value
        ]
        if not changed:
            plan.unchanged += 1
            continue
        updates = transition_start_changes(stored, {n: row.values[n] for n in changed})
        for name, value in updates.items():
            setattr(stored, name, value)
        changed = list(updates)
        _validate(plan, stored, row.line, exclude=())
        plan.updated_accounts.append((stored, changed))


def _validate(plan: _Plan, obj: Any, line: int, *, exclude: Sequence[str]) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                plan.problem(line, "row" if name == "__all__" else name, message)


# --- apply -------------------------------------------------------------------------------------


def _apply(plan: _Plan, *, report: ImportReport, acting_user: User | None) -> None:
    """Write the plan (already inside the import's transaction)."""
    payload = {
        "filename": report.filename,
        "kind": report.kind,
        "layout": report.layout,
        "sha256": report.sha256,
        "rows_read": report.rows_read,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "households": list(report.households),
    }
    if not (plan.created or plan.updated_accounts):
        audit_event_record(action="custodian_import.noop", acting_user=acting_user, payload=payload)
        return
    if plan.new_households:
        Household.objects.bulk_create(plan.new_households)
    if plan.new_accounts:
        Account.objects.bulk_create(plan.new_accounts)
    for account, changed in plan.updated_accounts:
        account.save(update_fields=changed)
    if plan.entries:
        Transaction.objects.bulk_create(plan.entries)
    for household in plan.households.values():
        try:
            ledger_rebuild(household=household)
        except LedgerInconsistentError as exc:  # checked by the replay: a race or a bug
            problems = (Problem(0, "ledger", str(t)) for t in exc.extra.get("problems", []))
            raise _rejected(report, problems) from exc
    if len(plan.entries) >= STATISTICS_AFTER_ROWS:  # an onboarding import: a book in one file
        statistics_refresh(Transaction, TaxLot, RealizedGain, WashSaleMatch)
    audit_event_record(action="custodian_import.apply", acting_user=acting_user, payload=payload)
