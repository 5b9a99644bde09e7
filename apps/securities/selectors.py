"""Reads of the securities master used by other apps (optimizer adapter, restrictions, API)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the venv
from django.db.models import OuterRef, Q, QuerySet, Subquery

from apps.common.arrays import array_row
from apps.common.bulk import sql_table
from apps.common.sets import merge_overlapping
from apps.securities.models import (
    DOLLAR_TRADED_KINDS,
    FUND_KINDS,
    FundHolding,
    Price,
    Security,
    SecurityKind,
)


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The latest close on or before ``as_of``; ``priced_on`` tells how old it is."""

    symbol: str
    close_price: Decimal
    priced_on: date
    as_of: date
    is_synthetic: bool
    source: str

    @property
    def age_days(self) -> int:
        """Calendar days between the close and ``as_of`` (0 when priced on ``as_of``)."""
        return (self.as_of - self.priced_on).days

    def is_stale(self, *, max_age_days: int) -> bool:
        """Whether the close is older than ``max_age_days`` calendar days."""
        return self.age_days > max_age_days


def security_map_get(*, symbols: Iterable[str]) -> dict[str, Security]:
    """Securities by symbol, in one query; unknown symbols are absent from the result."""
    return {
        security.symbol: security for security in Security.objects.filter(symbol__in=set(symbols))
    }


def security_get(*, symbol: str) -> Security | None:
    """One security by symbol (case-insensitive), or None."""
    return Security.objects.filter(symbol=symbol.strip().upper()).first()


def price_history_reaches(*, as_of: date) -> bool:
    """Whether any close is on record on or before ``as_of`` (the price history covers it)."""
    return Price.objects.filter(priced_on__lte=as_of).exists()


def price_map_get(*, symbols: Iterable[str], as_of: date) -> dict[str, PriceQuote]:
    """The latest close on or before ``as_of`` of each symbol, in one query.

    Symbols with no close on or before ``as_of`` are absent: callers decide whether that is an
    error. Check ``PriceQuote.age_days`` to detect stale prices (a halted or delisted name).
    """
    # One correlated LIMIT 1 subquery per column: each is a backward scan of the
    # (security_id, priced_on) unique index, so the cost grows with the number of symbols, not
    # with the length of their history (DISTINCT ON over all rows <= as_of was 20x slower).
    latest = Price.objects.filter(security=OuterRef("pk"), priced_on__lte=as_of).order_by(
        "-priced_on"
    )
    rows = (
        Security.objects.filter(symbol__in=set(symbols))
        .annotate(
            latest_on=Subquery(latest.values("priced_on")[:1]),
            latest_close=Subquery(latest.values("close_price")[:1]),
            latest_is_synthetic=Subquery(latest.values("is_synthetic")[:1]),
            latest_source=Subquery(latest.values("source")[:1]),
        )
        .filter(latest_on__isnull=False)
        .values_list("symbol", "latest_close", "latest_on", "latest_is_synthetic", "latest_source")
    )
    return {
        symbol: PriceQuote(symbol, close_price, priced_on, as_of, is_synthetic, source)
        for symbol, close_price, priced_on, is_synthetic, source in rows
    }


def synthetic_symbols_get(*, symbols: Iterable[str], as_of: date) -> frozenset[str]:
    """The symbols whose latest close on or before ``as_of`` is synthetic (not market data)."""
    return frozenset(
        symbol
        for symbol, quote in price_map_get(symbols=symbols, as_of=as_of).items()
        if quote.is_synthetic
    )


def price_history_get(*, symbols: Iterable[str], start: date, end: date) -> pd.DataFrame:
    """Daily closes as a dates x symbols frame (float64, NaN where a close is missing), one query.

    Floats are for statistics (returns, covariances), never for money. Columns follow the order of
    ``symbols``; the index holds every date on which any of them has a close.
    """
    ordered = list(dict.fromkeys(symbols))
    # One row of arrays (``common.arrays``): 500 names x 2 years are 250,000 closes, which as
    # ORM rows with Decimals cost most of a book run's start. ``close_price::float8`` is the
    # correctly rounded double of the numeric.
    sql = (
        "SELECT array_agg(p.priced_on - DATE '0001-01-01' + 1), array_agg(w.position), "  # noqa: S608 - table names are the models' own, quoted  # nosec B608
        "array_agg(p.close_price::float8) "
        "FROM unnest(%s::text[]) WITH ORDINALITY AS w(symbol, position) "
        f"JOIN {sql_table(Security)} s ON s.symbol = w.symbol "
        f"JOIN {sql_table(Price)} p ON p.security_id = s.id "
        "AND p.priced_on >= %s AND p.priced_on <= %s"
    )
    row = array_row(sql, [ordered, start, end])
    days, positions, closes = row if row is not None and row[0] is not None else ([], [], [])
    if not len(days):
        return pd.DataFrame(index=pd.Index([], name="priced_on"), columns=ordered, dtype="float64")
    dates, date_index = np.unique(days, return_inverse=True)
    history = np.full((len(dates), len(ordered)), np.nan)
    history[date_index, positions - 1] = closes  # WITH ORDINALITY counts from 1
    index = pd.Index([date.fromordinal(int(d)) for d in dates], name="priced_on")
    return pd.DataFrame(history, index=index, columns=ordered)


def security_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Security]:
    """Securities matching the filters, ordered by symbol.

    Args:
        filters: any of ``symbol`` (exact, case-insensitive; a comma-separated list allowed),
            ``sector``, ``industry`` (case-insensitive), ``esg_tag`` (securities carrying it),
            ``kind``, ``is_active`` (default: active only; ``None`` for all), ``search`` (name or
            symbol contains).
    """
    filters = dict(filters or {})
    queryset = Security.objects.all()
    is_active = filters.get("is_active", True)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    if symbol := filters.get("symbol"):
        symbols = [part.strip().upper() for part in str(symbol).split(",") if part.strip()]
        queryset = queryset.filter(symbol__in=symbols)
    if sector := filters.get("sector"):
        queryset = queryset.filter(sector__iexact=sector)
    if industry := filters.get("industry"):
        queryset = queryset.filter(industry__iexact=industry)
    if esg_tag := filters.get("esg_tag"):
        queryset = queryset.filter(esg_tags__contains=[esg_tag])
    if kind := filters.get("kind"):
        queryset = queryset.filter(kind=kind)
    if search := filters.get("search"):
        queryset = queryset.filter(name__icontains=search) | queryset.filter(
            symbol__icontains=search
        )
    return queryset.order_by("symbol")


@dataclass(frozen=True, slots=True)
class ShareClassGroup:
    """Stocks of one issuer in the security master (share classes), and how they were found."""

    symbols: frozenset[str]
    source: str


CUSIP_ISSUER_LENGTH = 6  # a CUSIP's first six characters number its issuer (CUSIP Global Services)
_CLASS_SUFFIX = re.compile(r"\b(class|cl|series)\s+[a-z0-9]\b")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def issuer_name_key(name: str) -> str:
    """An issuer name as compared across share classes.

    Lower case, without "Class A" and punctuation: "Alphabet Inc. Class C" and "Alphabet Inc."
    both give "alphabet inc".
    """
    text = _CLASS_SUFFIX.sub(" ", name.casefold())
    return _NOT_WORD.sub(" ", text).strip()


def share_class_groups() -> list[ShareClassGroup]:
    """Stocks of the security master issued by one issuer (share classes), one query.

    The same CUSIP issuer number (its first six characters), or the same issuer name
    (``issuer_name_key``) where that does not join two different known issuer numbers. Groups
    are ordered by their first symbol.

    The loaded S&P 500 master leaves CUSIPs blank for share classes (their ISINs are ambiguous
    in the source: ``reference_data.cusip_from_isins``), so names find GOOG/GOOGL, FOX/FOXA and
    NWS/NWSA there; an imported master with CUSIPs groups by issuer number.
    """
    rows = Security.objects.filter(kind=SecurityKind.STOCK).values_list("symbol", "cusip", "name")
    by_issuer: dict[str, set[str]] = defaultdict(set)
    by_name: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for symbol, cusip, name in rows:
        issuer = cusip[:CUSIP_ISSUER_LENGTH] if len(cusip) == 9 else ""
        if issuer:
            by_issuer[issuer].add(symbol)
        key = issuer_name_key(name)
        if key:
            by_name[key].append((symbol, issuer, name))
    sources: list[tuple[frozenset[str], str]] = [
        (frozenset(symbols), f"security master: same CUSIP issuer number {issuer}")
        for issuer, symbols in sorted(by_issuer.items())
        if len(symbols) > 1
    ]
    for _, members in sorted(by_name.items()):
        issuers = {issuer for _, issuer, _ in members if issuer}
        if len(members) > 1 and len(issuers) <= 1:
            name = min(members)[2]
            symbols = frozenset(symbol for symbol, _, _ in members)
            sources.append((symbols, f"security master: same issuer name ({name})"))
    groups = []
    for symbols in merge_overlapping(group for group, _ in sources):
        found = sorted({text for group, text in sources if group <= symbols})
        groups.append(ShareClassGroup(symbols=symbols, source="; ".join(found)))
    return sorted(groups, key=lambda g: sorted(g.symbols))


def fund_holdings_get(*, funds: Iterable[str], as_of: date) -> dict[str, dict[str, Decimal]]:
    """Look-through weights of the given funds on ``as_of`` (their latest holdings on or before).

    Returns:
        ``{fund symbol: {holding symbol: weight}}`` (weights are fractions of the fund); funds
        with no holdings on or before ``as_of`` are absent.
    """
    wanted = sorted(set(funds))
    if not wanted:
        return {}
    latest = (
        FundHolding.objects.filter(fund__symbol=OuterRef("fund__symbol"), as_of__lte=as_of)
        .order_by("-as_of")
        .values("as_of")[:1]
    )
    rows = (
        FundHolding.objects.filter(fund__symbol__in=wanted, as_of=Subquery(latest))
        .values_list("fund__symbol", "holding__symbol", "weight")
        .order_by("fund__symbol", "-weight", "holding__symbol")
    )
    holdings: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for fund, holding, weight in rows:
        holdings[fund][holding] = weight
    return dict(holdings)


@dataclass(frozen=True, slots=True)
class FundIndexGroup:
    """Funds of the security master that track one index."""

    tracked_index: str
    symbols: frozenset[str]


def fund_index_groups(*, excluding: Iterable[str] | QuerySet[Any] = ()) -> list[FundIndexGroup]:
    """Indexes tracked by two or more funds, with their funds, one query; ordered by index.

    Args:
        excluding: symbols left out before counting (a list, or a subquery of symbols: a
            firm's opt-outs), so an index left with one fund forms no group.
    """
    rows = (
        Security.objects.filter(kind__in=FUND_KINDS)
        .exclude(tracked_index="")
        .exclude(symbol__in=excluding)
        .values_list("tracked_index", "symbol")
    )
    by_index: dict[str, set[str]] = defaultdict(set)
    for index, symbol in rows:
        by_index[index].add(symbol)
    return [
        FundIndexGroup(index, frozenset(symbols))
        for index, symbols in sorted(by_index.items())
        if len(symbols) > 1
    ]


@dataclass(frozen=True, slots=True)
class FundHoldingsView:
    """A fund's holdings on their latest date on or before the day asked, largest first."""

    as_of: date
    count: int  # every holding that day
    total_weight: Decimal  # their weights' sum (the rest is what the master does not hold)
    top: tuple[tuple[str, str, Decimal], ...]  # (symbol, name, weight), at most ``limit``


def fund_holdings_view(*, fund: str, as_of: date, limit: int = 20) -> FundHoldingsView | None:
    """The fund's latest holdings on or before ``as_of`` for display (two queries), or None."""
    rows = FundHolding.objects.filter(fund__symbol=fund, as_of__lte=as_of)
    latest = rows.order_by("-as_of").values_list("as_of", flat=True).first()
    if latest is None:
        return None
    held = list(
        rows.filter(as_of=latest)
        .order_by("-weight", "holding__symbol")
        .values_list("holding__symbol", "holding__name", "weight")
    )
    return FundHoldingsView(
        as_of=latest,
        count=len(held),
        total_weight=sum((weight for _, _, weight in held), Decimal(0)),
        top=tuple(held[:limit]),
    )


@dataclass(frozen=True)
class FundTradingTerms:
    """How a fund trades: in dollars at NAV (mutual and money-market funds), and its lock.

    ``min_holding_days``: the fund's short-term redemption rule (a purchase is not sold
    before this many days), None when it has none.
    """

    is_dollar_traded: bool
    min_holding_days: int | None


def fund_trading_terms_get(*, symbols: Iterable[str]) -> dict[str, FundTradingTerms]:
    """The trading terms of the given names that are dollar-traded or have a minimum holding.

    One query; names traded like stocks (stocks, ETFs) with no minimum holding are absent.
    """
    wanted = set(symbols)
    if not wanted:
        return {}
    rows = Security.objects.filter(
        Q(kind__in=DOLLAR_TRADED_KINDS) | Q(min_holding_days__isnull=False), symbol__in=wanted
    ).values_list("symbol", "kind", "min_holding_days")
    return {
        symbol: FundTradingTerms(kind in DOLLAR_TRADED_KINDS, min_days)
        for symbol, kind, min_days in rows
    }
