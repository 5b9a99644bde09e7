"""Reads of the books of record: accounts, lots, ledger, realized gains, the tax year so far."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from apps.accounts.models import (
    Account,
    BudgetKind,
    FilingStatus,
    Household,
    IdenticalGroup,
    IdenticalGroupMember,
    IdenticalIndexOptOut,
    RealizedGain,
    Registration,
    TaxLot,
    Term,
    Transaction,
)
from apps.common.bulk import sql_table
from apps.common.money import ZERO, round_money
from apps.common.sets import merge_overlapping
from apps.securities.selectors import fund_index_groups, share_class_groups
from apps.taxlots.estimate import budget_used, cap_used, estimated_tax
from apps.taxlots.rules import FilingStatus as TaxFilingStatus
from apps.taxlots.rules import schedule_d_year


def household_list(*, search: str = "") -> QuerySet[Household]:
    """Households with their account counts, optionally filtered by name or external id."""
    households = Household.objects.annotate(account_count=Count("accounts"))
    if search:
        households = households.filter(Q(name__icontains=search) | Q(external_id__iexact=search))
    return households


def account_list(
    *, search: str = "", household_id: int | None = None, registration: str = ""
) -> QuerySet[Account]:
    """Accounts with their household, filtered by name/number, household or registration.

    The search is a case-insensitive substring of the account's name or number or its
    household's name, each served by a trigram index (``accounts.0012``): the matching keys
    are the union of one indexed read per column, not a filter over every account's row.
    """
    accounts = Account.objects.select_related("household")
    if search:
        by_account = Account.objects.filter(Q(name__icontains=search) | Q(number__icontains=search))
        by_household = Account.objects.filter(
            household__in=Household.objects.filter(name__icontains=search).order_by().values("pk")
        )
        accounts = accounts.filter(
            pk__in=by_account.order_by().values("pk").union(by_household.order_by().values("pk"))
        )
    if household_id is not None:
        accounts = accounts.filter(household_id=household_id)
    if registration:
        accounts = accounts.filter(registration=registration)
    return accounts


# A form's <select> of every account (and household) took seconds of a page at 20,000
# accounts; above this many a form asks for the account's number instead.
ACCOUNT_OPTIONS_MAX = 1000


def is_account_list_short() -> bool:
    """Whether the firm's accounts are few enough to offer every one in a form's <select>."""
    return not Account.objects.order_by("pk")[ACCOUNT_OPTIONS_MAX:].exists()


def account_by_number(number: str) -> Account | None:
    """The account with this custodian's account number (None: none, or several custodians')."""
    found = list(Account.objects.filter(number=number.strip()).order_by("pk")[:2])
    return found[0] if len(found) == 1 else None


def tax_lot_list_open(*, account: Account) -> QuerySet[TaxLot]:
    """The account's open lots, by symbol and acquisition date."""
    return TaxLot.objects.filter(account=account)


def held_symbols() -> set[str]:
    """Every symbol with an open lot in the firm (a book run's holdings), in a few milliseconds.

    A loose index scan on the lots' symbol index: one index probe per distinct symbol, where
    ``SELECT DISTINCT`` read every lot (half a second for a 4 M-lot book).
    """
    table = sql_table(TaxLot)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE held(symbol) AS ("  # noqa: S608 - the model's own table, quoted  # nosec B608
            f"(SELECT symbol FROM {table} ORDER BY symbol LIMIT 1) UNION ALL "
            f"SELECT (SELECT t.symbol FROM {table} t WHERE t.symbol > held.symbol "
            "ORDER BY t.symbol LIMIT 1) FROM held WHERE held.symbol IS NOT NULL) "
            "SELECT symbol FROM held WHERE symbol IS NOT NULL"
        )
        return {symbol for (symbol,) in cursor.fetchall()}


def transaction_list(*, account: Account) -> QuerySet[Transaction]:
    """The account's ledger, newest first."""
    return Transaction.objects.filter(account=account).order_by("-trade_on", "-sequence", "-id")


def realized_gain_list(
    *,
    year: int,
    account: Account | None = None,
    term: str = "",
    symbol: str = "",
    search: str = "",
) -> QuerySet[RealizedGain]:
    """Form 8949 rows for a tax year (by sale date): of one account, or of the firm.

    Optionally of one term and symbol, and of accounts whose name or number contains
    ``search``; with their account.
    """
    gains = RealizedGain.objects.filter(sold_on__year=year).select_related("account")
    if account is not None:
        gains = gains.filter(account=account)
    if term:
        gains = gains.filter(term=term)
    if symbol:
        gains = gains.filter(symbol=symbol.upper())
    if search:
        gains = gains.filter(Q(account__name__icontains=search) | Q(account__number=search))
    return gains


@dataclass(frozen=True)
class RealizedSummary:
    """A tax year so far: realized gains, carryovers, estimated tax and the budget. USD.

    ``budget_used``/``budget_left`` are None when the account has no budget. Carryovers are
    positive loss amounts; ``estimated_tax`` is negative when losses save tax. The caps per
    character (``short_term_budget_*``, ``long_term_budget_*``) are used by the year's net gain of
    that character after its carryforward (Schedule D lines 7 and 15, never below zero); None
    without a cap.
    """

    year: int
    short_term: Decimal
    long_term: Decimal
    disallowed: Decimal
    carryforward_short: Decimal
    carryforward_long: Decimal
    net_short_term: Decimal
    net_long_term: Decimal
    net_capital: Decimal
    estimated_tax: Decimal
    carryover_out_short: Decimal
    carryover_out_long: Decimal
    budget_kind: str
    budget_amount: Decimal | None
    budget_used: Decimal | None
    budget_left: Decimal | None
    short_term_budget_amount: Decimal | None = None
    short_term_budget_used: Decimal | None = None
    short_term_budget_left: Decimal | None = None
    long_term_budget_amount: Decimal | None = None
    long_term_budget_used: Decimal | None = None
    long_term_budget_left: Decimal | None = None


def _cap_use(cap: Decimal | None, net: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """(used, left) of a cap on one character's net gain (None, None without a cap)."""
    if cap is None:
        return None, None
    used = round_money(cap_used(net))
    return used, cap - used


def _year_totals(
    accounts: Sequence[Account], year: int
) -> dict[int, tuple[dict[str, Decimal], Decimal]]:
    """Per account: reportable gain by term and the disallowed losses of the year (one query)."""
    totals: dict[int, tuple[dict[str, Decimal], Decimal]] = {}
    rows = (
        RealizedGain.objects.filter(account__in=accounts, sold_on__year=year)
        .values("account_id", "term")
        .annotate(gain=Sum("reportable_gain_amount"), lost=Sum("disallowed_amount"))
        .values_list("account_id", "term", "gain", "lost")
        .order_by()
    )
    for account_id, term, gain, lost in rows:
        by_term, disallowed = totals.get(account_id, ({}, ZERO))
        by_term[term] = by_term.get(term, ZERO) + (gain or ZERO)
        totals[account_id] = (by_term, disallowed + (lost or ZERO))
    return totals


def _summary(
    *,
    year: int,
    totals: tuple[dict[str, Decimal], Decimal],
    carry_short: Decimal,
    carry_long: Decimal,
    filing_status: str,
    short_rate: Decimal,
    long_rate: Decimal,
    budget_kind: str,
    budget_amount: Decimal | None,
    short_term_budget: Decimal | None = None,
    long_term_budget: Decimal | None = None,
) -> RealizedSummary:
    sums, disallowed = totals
    netted = schedule_d_year(
        year=year,
        filing_status=TaxFilingStatus(filing_status),
        short_term_net=sums.get(Term.SHORT, ZERO),
        long_term_net=sums.get(Term.LONG, ZERO),
        carryover_in_short_term=carry_short,
        carryover_in_long_term=carry_long,
    )
    tax = round_money(estimated_tax(netted, short_rate=short_rate, long_rate=long_rate))
    used: Decimal | None = None
    left: Decimal | None = None
    if budget_amount is not None:
        used = round_money(budget_used(netted, tax=tax, in_tax=budget_kind == BudgetKind.TAX))
        left = budget_amount - used
    short_used, short_left = _cap_use(short_term_budget, netted.net_short_term)
    long_used, long_left = _cap_use(long_term_budget, netted.net_long_term)
    return RealizedSummary(
        year=year,
        short_term=sums.get(Term.SHORT, ZERO),
        long_term=sums.get(Term.LONG, ZERO),
        disallowed=disallowed,
        carryforward_short=carry_short,
        carryforward_long=carry_long,
        net_short_term=netted.net_short_term,
        net_long_term=netted.net_long_term,
        net_capital=netted.net_capital,
        estimated_tax=tax,
        carryover_out_short=round_money(netted.carryover_out_short_term),
        carryover_out_long=round_money(netted.carryover_out_long_term),
        budget_kind=budget_kind,
        budget_amount=budget_amount,
        budget_used=used,
        budget_left=left,
        short_term_budget_amount=short_term_budget,
        short_term_budget_used=short_used,
        short_term_budget_left=short_left,
        long_term_budget_amount=long_term_budget,
        long_term_budget_used=long_used,
        long_term_budget_left=long_left,
    )


def _carry_in(account: Account, year: int) -> tuple[Decimal, Decimal]:
    if account.carryforward_year in (None, year):
        return account.carryforward_short_amount, account.carryforward_long_amount
    return ZERO, ZERO


def realized_summary(*, account: Account, year: int) -> RealizedSummary:
    """The account's tax year so far, netted per Schedule D with its carryforward and rates.

    Retirement accounts realize nothing taxable: their summary is all zeros.
    """
    return realized_summaries(accounts=[account], year=year)[account.pk]


def realized_summaries(*, accounts: Sequence[Account], year: int) -> dict[int, RealizedSummary]:
    """``realized_summary`` of many accounts, by account id, in one query (book runs, scans)."""
    totals = _year_totals(accounts, year)
    summaries = {}
    for account in accounts:
        carry_short, carry_long = _carry_in(account, year)
        summaries[account.pk] = _summary(
            year=year,
            totals=totals.get(account.pk, ({}, ZERO)),
            carry_short=carry_short,
            carry_long=carry_long,
            filing_status=account.filing_status,
            short_rate=account.combined_short_term_rate,
            long_rate=account.combined_long_term_rate,
            budget_kind=account.budget_kind,
            budget_amount=account.annual_budget_amount,
            short_term_budget=account.short_term_gains_budget_amount,
            long_term_budget=account.long_term_gains_budget_amount,
        )
    return summaries


def household_realized_summary(*, household: Household, year: int) -> RealizedSummary | None:
    """The household's taxable accounts netted together (one tax return), or None if none.

    Carryforwards and budgets add up across the taxable accounts; rates and filing status are
    those of the first taxable account (a household files one return).
    """
    taxable = list(household.accounts.filter(registration=Registration.TAXABLE).order_by("pk"))
    if not taxable:
        return None
    first = taxable[0]
    carries = [_carry_in(a, year) for a in taxable]
    budgets = [a.annual_budget_amount for a in taxable if a.annual_budget_amount is not None]
    short_caps = [a.short_term_gains_budget_amount for a in taxable]
    long_caps = [a.long_term_gains_budget_amount for a in taxable]
    by_term: dict[str, Decimal] = {}
    disallowed = ZERO
    for account_terms, account_disallowed in _year_totals(taxable, year).values():
        for term, gain in account_terms.items():
            by_term[term] = by_term.get(term, ZERO) + gain
        disallowed += account_disallowed
    return _summary(
        year=year,
        totals=(by_term, disallowed),
        carry_short=sum((c[0] for c in carries), ZERO),
        carry_long=sum((c[1] for c in carries), ZERO),
        filing_status=first.filing_status or FilingStatus.SINGLE,
        short_rate=first.combined_short_term_rate,
        long_rate=first.combined_long_term_rate,
        budget_kind=first.budget_kind,
        budget_amount=sum(budgets, ZERO) if budgets else None,
        short_term_budget=_caps_sum(short_caps),
        long_term_budget=_caps_sum(long_caps),
    )


SHARE_CLASS_REASON = "share classes of one issuer"
FUND_INDEX_REASON = "funds tracking one index"
FUND_INDEX_SOURCE = "security master: the funds' tracked index (a default the firm may opt out of)"


@dataclass(frozen=True)
class IdenticalBasis:
    """Why a group's symbols are substantially identical, and on what authority."""

    reason: str
    source: str
    firm_group_id: int | None  # None: a default from the security master


@dataclass(frozen=True)
class EffectiveIdenticalGroup:
    """Symbols the wash-sale rule treats as one security, with every basis that joined them."""

    symbols: frozenset[str]
    bases: tuple[IdenticalBasis, ...]

    @property
    def sorted_symbols(self) -> list[str]:
        """The symbols in alphabetical order (for display)."""
        return sorted(self.symbols)


def identical_group_list() -> QuerySet[IdenticalGroup]:
    """The firm's own groups with their members, oldest first."""
    return IdenticalGroup.objects.prefetch_related("members").order_by("pk")


def substantially_identical_groups() -> tuple[EffectiveIdenticalGroup, ...]:
    """The effective groups of substantially identical securities (IRC §1091(a)), three queries.

    The security master's share classes of one issuer (``share_class_groups``), its funds on
    one index (``fund_index_groups``, less the firm's ``IdenticalIndexOptOut`` funds) and the
    firm's own groups, merged where they share a symbol (transitively: {GOOG, GOOGL} and a firm's
    {GOOGL, X} give {GOOG, GOOGL, X}). Ordered by first symbol; no symbol is in two groups.
    """
    bases: list[tuple[frozenset[str], IdenticalBasis]] = [
        (group.symbols, IdenticalBasis(SHARE_CLASS_REASON, group.source, None))
        for group in share_class_groups()
    ]
    # Funds tracking one index hold the same securities in the same proportions: treated as
    # substantially identical by default (IRC §1091(a); IRS Publication 550, "Wash Sales": a
    # question of facts and circumstances), unless the firm recorded otherwise for a fund.
    bases += [
        (
            group.symbols,
            IdenticalBasis(f"{FUND_INDEX_REASON} ({group.tracked_index})", FUND_INDEX_SOURCE, None),
        )
        for group in fund_index_groups(excluding=IdenticalIndexOptOut.objects.values("symbol"))
    ]
    firm: dict[int, tuple[set[str], IdenticalGroup]] = {}
    for member in IdenticalGroupMember.objects.select_related("group").order_by("group_id"):
        firm.setdefault(member.group_id, (set(), member.group))[0].add(member.symbol)
    bases += [
        (frozenset(symbols), IdenticalBasis(group.reason, group.source, group.pk))
        for symbols, group in firm.values()
    ]
    groups = [
        EffectiveIdenticalGroup(
            symbols=symbols,
            bases=tuple(basis for members, basis in bases if members <= symbols),
        )
        for symbols in merge_overlapping(members for members, _ in bases)
        if len(symbols) > 1
    ]
    return tuple(sorted(groups, key=lambda g: g.sorted_symbols))


def substantially_identical_symbol_sets() -> tuple[frozenset[str], ...]:
    """The effective groups' symbols, as the tax-lot engine and the optimizer take them."""
    return tuple(group.symbols for group in substantially_identical_groups())


def _caps_sum(caps: Sequence[Decimal | None]) -> Decimal | None:
    """The household's cap: the accounts' caps added up, None when no account has one."""
    given = [cap for cap in caps if cap is not None]
    return sum(given, ZERO) if given else None


def identical_index_opt_out_list() -> QuerySet[IdenticalIndexOptOut]:
    """The funds the firm does not treat as identical to their index peers, by symbol."""
    return IdenticalIndexOptOut.objects.order_by("symbol")
