"""Funds' look-through holdings: the CSV import and the one writer of ``FundHolding`` rows.

A file (or the demo's baskets) lists ``fund,as_of,symbol,weight``; every (fund, as_of) it names
is replaced whole by the file's lines for it, and nothing else changes, so re-importing a file
changes nothing. All or nothing: every bad line is reported and nothing is written.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TextIO

from django.db import transaction
from django.db.models import Q

from apps.common.money import WEIGHT
from apps.ingest import fields
from apps.ingest.problems import Problem
from apps.ingest.reading import Layout, columns
from apps.securities.models import FUND_KINDS, FundHolding, Security
from apps.securities.services.master import file_rejected, file_rows

FUND_HOLDINGS_LAYOUT = Layout(columns("fund", "as_of", "symbol", "weight"))
_FUND_KIND_NAMES = ", ".join(sorted(FUND_KINDS))


@dataclass(frozen=True, slots=True)
class FundHoldingLine:
    """One holding of a fund on a date, with the line it came from (1 = the header)."""

    line: int
    fund: str
    as_of: date
    symbol: str
    weight: Decimal


@dataclass(frozen=True, slots=True)
class FundHoldingsReport:
    """What a holdings import did, by (fund, as_of) basket and by holding row."""

    rows_read: int
    baskets_replaced: int
    baskets_unchanged: int
    holdings_created: int
    holdings_deleted: int
    seconds: float = 0.0
    problems: tuple[Problem, ...] = ()  # a rejected file's, by line: nothing was written


def _parsed_lines(source: TextIO | bytes) -> tuple[list[FundHoldingLine], list[Problem], int]:
    rows, reading = file_rows(source, FUND_HOLDINGS_LAYOUT)
    lines: list[FundHoldingLine] = []
    for raw in rows:
        before = len(reading.problems)
        fund = fields.symbol(raw, "fund")
        as_of = fields.iso_date(raw, "as_of")
        symbol = fields.symbol(raw, "symbol")
        weight = fields.decimal(
            raw,
            "weight",
            places=WEIGHT["decimal_places"],
            max_integer_digits=WEIGHT["max_digits"] - WEIGHT["decimal_places"],
        )
        if len(reading.problems) == before:
            assert fund and as_of and symbol and weight is not None  # noqa: S101, PT018 -- checked above  # nosec B101
            lines.append(FundHoldingLine(raw.line, fund, as_of, symbol, weight))
    return lines, reading.problems, reading.data_lines


def _line_problems(lines: Sequence[FundHoldingLine]) -> list[Problem]:
    """Every rule a holding line breaks, on its line; weights summing above 1 on each line."""
    kinds = dict(
        Security.objects.filter(
            symbol__in={x.fund for x in lines} | {x.symbol for x in lines}
        ).values_list("symbol", "kind")
    )
    problems: list[Problem] = []
    first: dict[tuple[str, date, str], int] = {}
    baskets: dict[tuple[str, date], list[FundHoldingLine]] = defaultdict(list)
    for x in lines:
        fund_kind = kinds.get(x.fund)
        if fund_kind is None:
            problems.append(Problem(x.line, "fund", f"unknown fund {x.fund}"))
        elif fund_kind not in FUND_KINDS:
            problems.append(
                Problem(
                    x.line, "fund", f"{x.fund} is a {fund_kind}, not a fund ({_FUND_KIND_NAMES})"
                )
            )
        holding_kind = kinds.get(x.symbol)
        if holding_kind is None:
            problems.append(Problem(x.line, "symbol", f"unknown security {x.symbol}"))
        elif holding_kind in FUND_KINDS:
            problems.append(
                Problem(
                    x.line,
                    "symbol",
                    f"{x.symbol} is itself a fund: look-through is one level, so list what "
                    f"{x.symbol} holds instead",
                )
            )
        is_weight = 0 < x.weight <= 1
        if not is_weight:
            problems.append(Problem(x.line, "weight", f"{x.weight} is not in (0, 1]"))
        key = (x.fund, x.as_of, x.symbol)
        if key in first:
            problems.append(
                Problem(
                    x.line,
                    "symbol",
                    f"{x.symbol} in {x.fund} on {x.as_of} repeats line {first[key]}",
                )
            )
            continue
        first[key] = x.line
        if is_weight:
            baskets[x.fund, x.as_of].append(x)
    for (fund, as_of), members in baskets.items():
        total = sum((x.weight for x in members), Decimal(0))
        if total > 1:
            problems.extend(
                Problem(
                    x.line, "weight", f"the weights of {fund} on {as_of} sum to {total}, above 1"
                )
                for x in members
            )
    return problems


def _baskets_write(lines: Sequence[FundHoldingLine]) -> tuple[int, int, int, int]:
    """Replace each (fund, as_of) of ``lines`` by its lines; an identical basket is left alone.

    Returns:
        Baskets replaced, baskets unchanged, holdings created, holdings deleted.
    """
    wanted: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(dict)
    for x in lines:
        wanted[x.fund, x.as_of][x.symbol] = x.weight
    if not wanted:
        return 0, 0, 0, 0
    ids = dict(
        Security.objects.filter(
            symbol__in={fund for fund, _ in wanted} | {x.symbol for x in lines}
        ).values_list("symbol", "pk")
    )
    in_file = Q()
    for fund, as_of in wanted:
        in_file |= Q(fund_id=ids[fund], as_of=as_of)
    existing: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(dict)
    for fund, as_of, symbol, weight in FundHolding.objects.filter(in_file).values_list(
        "fund__symbol", "as_of", "holding__symbol", "weight"
    ):
        existing[fund, as_of][symbol] = weight
    changed = [key for key, basket in wanted.items() if existing.get(key) != basket]
    deleted = 0
    if changed:
        stale = Q()
        for fund, as_of in changed:
            stale |= Q(fund_id=ids[fund], as_of=as_of)
        deleted, _ = FundHolding.objects.filter(stale).delete()
    created = FundHolding.objects.bulk_create(
        [
            FundHolding(fund_id=ids[fund], as_of=as_of, holding_id=ids[symbol], weight=weight)
            for fund, as_of in changed
            for symbol, weight in wanted[fund, as_of].items()
        ],
        batch_size=2000,
    )
    return len(changed), len(wanted) - len(changed), len(created), deleted


def _checked_write(
    lines: Sequence[FundHoldingLine], problems: list[Problem], *, read: int, started: float
) -> FundHoldingsReport:
    problems = problems + _line_problems(lines)
    if problems:
        rejected = file_rejected(problems)
        rejected.report = FundHoldingsReport(read, 0, 0, 0, 0, problems=rejected.problems)
        raise rejected
    replaced, unchanged, created, deleted = _baskets_write(lines)
    return FundHoldingsReport(
        read, replaced, unchanged, created, deleted, time.perf_counter() - started
    )


@transaction.atomic
def fund_holdings_set(*, lines: Sequence[FundHoldingLine]) -> FundHoldingsReport:
    """Replace the holdings of each (fund, as_of) in ``lines``; nothing else changes.

    The one writer of ``FundHolding`` rows (the import and the demo baskets both use it).

    Raises:
        FileRejectedError: any line breaks a rule (unknown or non-fund fund, unknown holding,
            a holding that is itself a fund, weight not in (0, 1], a repeated holding, weights
            of one (fund, as_of) above 1); nothing was written.
    """
    return _checked_write(lines, [], read=len(lines), started=time.perf_counter())


@transaction.atomic
def fund_holdings_import(*, source: TextIO | bytes) -> FundHoldingsReport:
    """Import funds' look-through holdings from a CSV ``fund,as_of,symbol,weight``.

    Format and rules in docs/reference-data.md. Each (fund, as_of) the file names is replaced
    by the file's lines for it; re-importing the same file changes nothing.

    Raises:
        FileRejectedError: any line is bad (every one reported by line); nothing was written.
    """
    started = time.perf_counter()
    lines, problems, read = _parsed_lines(source)
    return _checked_write(lines, problems, read=read, started=started)
