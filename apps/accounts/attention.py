"""Which accounts need attention: drift beyond tolerance, losses to harvest, cash due, budget.

Set-based: one query for accounts, one for prices, one per model for targets, and one that
values and compares every lot in SQL.
The scan measures drift against the model's flattened target (restrictions are applied by the
run itself); it is a to-do list, not a trade decision, ranked by the money at stake.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from apps.accounts.cash import withdrawals_due
from apps.accounts.models import Account, Registration, TaxLot
from apps.accounts.selectors import held_symbols, realized_summaries
from apps.common.bulk import sql_table
from apps.common.money import ZERO
from apps.models.models import ModelPortfolio
from apps.models.selectors import model_flatten
from apps.securities.selectors import price_map_get

if TYPE_CHECKING:
    from django.db.models import QuerySet


@dataclass(frozen=True)
class Position:
    """An account's place against its model at the latest closes (USD, fractions)."""

    value_amount: Decimal  # cash plus the lots with a basis
    drift_rate: Decimal  # the largest |weight - target weight|
    drift_trade_amount: Decimal  # the one-way trade that reaches the model's weights
    harvest_loss_amount: Decimal  # basis less value of the lots under water beyond threshold
    losers: tuple[str, ...]  # their symbols


NO_POSITION = Position(ZERO, ZERO, ZERO, ZERO, ())


@dataclass(frozen=True)
class Attention:
    """One account, why it needs a look and what is at stake (USD)."""

    account_id: int
    reasons: tuple[str, ...]
    is_drift: bool
    is_harvest: bool
    is_cash_due: bool
    is_budget_nearly_used: bool
    position: Position
    cash_shortfall_amount: Decimal  # withdrawals due and reserve less cash, when short

    @property
    def stake_amount(self) -> Decimal:
        """The money at stake, the scan's ranking key (USD).

        The largest of the trade that would bring a drifting account back to its model, the
        losses it could harvest and the cash it is short: one figure, not a sum (harvest sales
        are also drift trades).
        """
        drift = self.position.drift_trade_amount if self.is_drift else ZERO
        return max(drift, self.position.harvest_loss_amount, self.cash_shortfall_amount)


BUDGET_NEARLY_USED_RATE = Decimal("0.9")  # of the annual budget (net gains or tax) or a cap


def accounts_needing_attention(
    *,
    as_of: date,
    positions: dict[int, Position] | None = None,
    managed: list[Account] | None = None,
) -> list[Attention]:
    """Accounts with a model that drift, have harvestable losses or need cash soon.

    The most money at stake first (``Attention.stake_amount``), then by account id.
    ``positions`` (of every account with a model) and ``managed`` (those accounts, by id)
    save valuing and reading the book again when the caller has.
    """
    accounts = managed if managed is not None else managed_accounts()
    if not accounts:
        return []
    if positions is None:
        positions = account_positions(accounts=accounts, as_of=as_of)
    budgets = realized_summaries(
        accounts=[a for a in accounts if a.has_gains_budget],
        year=as_of.year,
    )
    found = []
    for account in accounts:
        reasons = []
        position = positions.get(account.pk, NO_POSITION)
        losers = position.losers
        is_drift = position.drift_rate > account.drift_tolerance_rate
        if is_drift:
            reasons.append(
                f"drift {position.drift_rate:.2%} > tolerance {account.drift_tolerance_rate:.2%}"
                f" ({position.drift_trade_amount:,.0f} to trade)"
            )
        if losers:
            reasons.append(
                f"harvest: {position.harvest_loss_amount:,.0f} of losses in {len(losers)} "
                f"name(s) ({', '.join(losers[:5])})"
            )
        due = withdrawals_due(
            account=account, as_of=as_of, horizon_days=settings.OPTIMIZER_CASH_HORIZON_DAYS
        )
        need = due + account.cash_reserve_amount
        is_cash_due = due > 0 and account.cash_amount < need
        if is_cash_due:
            reasons.append(
                f"cash due {need:.2f} (withdrawals and reserve), cash {account.cash_amount:.2f}"
            )
        summary = budgets.get(account.pk)
        is_budget_nearly_used = False
        if summary is not None:
            for label, amount, used in (
                (f"{summary.budget_kind} budget", summary.budget_amount, summary.budget_used),
                (
                    "short-term gains cap",
                    summary.short_term_budget_amount,
                    summary.short_term_budget_used,
                ),
                (
                    "long-term gains cap",
                    summary.long_term_budget_amount,
                    summary.long_term_budget_used,
                ),
            ):
                if amount and used is not None and used >= BUDGET_NEARLY_USED_RATE * amount:
                    is_budget_nearly_used = True
                    reasons.append(f"{label} {used / amount:.0%} used ({used:.2f} of {amount:.2f})")
        if reasons:
            found.append(
                Attention(
                    account.pk,
                    tuple(reasons),
                    is_drift,
                    bool(losers),
                    is_cash_due,
                    is_budget_nearly_used,
                    position,
                    max(need - account.cash_amount, ZERO) if is_cash_due else ZERO,
                )
            )
    found.sort(key=lambda a: (-a.stake_amount, a.account_id))
    return found


def managed_accounts() -> list[Account]:
    """Every account with a model, by id: the book the scan and the dashboard look at."""
    return list(Account.objects.filter(model__isnull=False).order_by("pk"))


# Up to this many accounts are valued on each request (an index probe per account's lots); a
# longer list (a 20,000-account book: seconds of SQL) reads the book's positions from the
# cache, valued at most BOOK_POSITIONS_TTL_S ago, and values only accounts created since.
POSITIONS_DIRECT_MAX = 1000
BOOK_POSITIONS_TTL_S = 300


class AccountRef(NamedTuple):
    """What valuing an account needs of it (``account_positions``): no model instance."""

    pk: int
    model_id: int | None


def account_refs(accounts: "QuerySet[Account]") -> list[AccountRef]:
    """The accounts as ``AccountRef``: one tuple each (20,000 model instances took ~0.5 s)."""
    return [AccountRef(*row) for row in accounts.order_by().values_list("pk", "model_id")]


def positions_get(*, accounts: Sequence[Account | AccountRef], as_of: date) -> dict[int, Position]:
    """The accounts' positions for a page: valued now for a short list, from the book's cache else.

    The cache holds every account's position (per firm: django-tenants' key function) for
    ``BOOK_POSITIONS_TTL_S``, as columns of text (unpickling 20,000 ``Position`` objects with
    their Decimals took longer than rebuilding them); whether a list is short is
    ``is_cached_positions``.
    """
    if not is_cached_positions(len(accounts)):
        return account_positions(accounts=accounts, as_of=as_of) if accounts else {}
    key = f"account-positions:{as_of.isoformat()}"
    columns: tuple[list[Any], ...] | None = cache.get(key)
    if columns is None:
        valued = account_positions(accounts=account_refs(Account.objects.all()), as_of=as_of)
        columns = (
            list(valued),
            *([str(getattr(p, f)) for p in valued.values()] for f in _DECIMAL_FIELDS),
            [p.losers for p in valued.values()],
        )
        cache.set(key, columns, BOOK_POSITIONS_TTL_S)
    ids, *decimals, losers = columns
    book = {
        pk: Position(Decimal(value), Decimal(drift), Decimal(trade), Decimal(harvest), tuple(names))
        for pk, value, drift, trade, harvest, names in zip(ids, *decimals, losers, strict=True)
    }
    missing = [a for a in accounts if a.pk not in book]
    found = account_positions(accounts=missing, as_of=as_of) if missing else {}
    return {a.pk: book.get(a.pk) or found[a.pk] for a in accounts}


def is_cached_positions(count: int) -> bool:
    """Whether ``positions_get`` reads a list of ``count`` accounts from the book's cache."""
    return count > POSITIONS_DIRECT_MAX


_DECIMAL_FIELDS = ("value_amount", "drift_rate", "drift_trade_amount", "harvest_loss_amount")


def account_positions(
    *, accounts: Sequence[Account | AccountRef], as_of: date
) -> dict[int, Position]:
    """Each account's value, drift and harvestable losses against its model (USD, fractions).

    Every one of ``accounts`` gets a position, and only they (an account without a model is
    valued, its drift is against no target: its largest weight). Weights are values at the
    latest close over cash plus the lots with a basis; a lot is under
    water when its value is below its basis by more than the account's harvest threshold
    (taxable accounts that harvest). The drift trade is the larger of the buys and the sells
    that would reach the target weights. Aggregated in SQL, one query over the book's lots (a
    Python loop over the 2 M lots of a 10,000-account book took 8 s); closes and the models'
    flattened targets arrive as arrays. Table names are unqualified (search_path).
    """
    ids = [account.pk for account in accounts]
    # The book's held names by a loose index scan: a DISTINCT read every lot (1.8 s at 4 M).
    quotes = price_map_get(symbols=held_symbols(), as_of=as_of)
    targets = [
        (model.pk, symbol, weight)
        for model in ModelPortfolio.objects.filter(pk__in={a.model_id for a in accounts})
        for symbol, weight in model_flatten(model=model, as_of=as_of).weights.items()
    ]
    lot, account = sql_table(TaxLot), sql_table(Account)
    sql = f"""
    WITH price(symbol, close_price) AS (SELECT * FROM unnest(%s::text[], %s::numeric[])),
    target(model_id, symbol, weight) AS (
        SELECT * FROM unnest(%s::bigint[], %s::text[], %s::numeric[])),
    lot_value AS (
        SELECT l.account_id, l.symbol, l.shares * p.close_price AS value,
               l.adjusted_basis_amount AS basis,
               (a.registration = %s AND a.is_harvesting_enabled
                AND l.adjusted_basis_amount <> 0
                AND l.shares * p.close_price
                    < l.adjusted_basis_amount * (1 - a.harvest_threshold_rate)) AS is_loser
        FROM {lot} l JOIN price p ON p.symbol = l.symbol JOIN {account} a ON a.id = l.account_id
        WHERE l.has_basis AND a.id = ANY(%s)),
    held AS (
        SELECT account_id, symbol, SUM(value) AS value, bool_or(is_loser) AS is_loser,
               SUM(CASE WHEN is_loser THEN basis - value ELSE 0 END) AS harvest_loss
        FROM lot_value GROUP BY account_id, symbol),
    total AS (
        SELECT a.id AS account_id, a.model_id, a.cash_amount + COALESCE(SUM(h.value), 0) AS total
        FROM {account} a LEFT JOIN held h ON h.account_id = a.id
        WHERE a.id = ANY(%s) GROUP BY a.id),
    pair AS (
        SELECT COALESCE(h.account_id, g.account_id) AS account_id, h.symbol, h.is_loser,
               COALESCE(h.harvest_loss, 0) AS harvest_loss,
               COALESCE(h.value, 0) AS value, COALESCE(g.weight, 0) AS weight
        FROM held h FULL JOIN (
            SELECT t.account_id, target.symbol, target.weight
            FROM total t JOIN target ON target.model_id = t.model_id) g
        ON g.account_id = h.account_id AND g.symbol = h.symbol)
    SELECT t.account_id, t.total,
           CASE WHEN t.total > 0
                THEN COALESCE(MAX(ABS(p.value / NULLIF(t.total, 0) - p.weight)), 0)
                ELSE 0 END,
           GREATEST(COALESCE(SUM(GREATEST(p.value - p.weight * t.total, 0)), 0),
                    COALESCE(SUM(GREATEST(p.weight * t.total - p.value, 0)), 0)),
           COALESCE(SUM(p.harvest_loss), 0),
           array_agg(p.symbol ORDER BY p.symbol) FILTER (WHERE p.is_loser)
    FROM total t LEFT JOIN pair p ON p.account_id = t.account_id
    GROUP BY t.account_id, t.total
    """  # noqa: S608  # nosec B608 - table names from model metadata; values are bound
    params: list[list[Any] | str] = [
        list(quotes),
        [q.close_price for q in quotes.values()],
        [t[0] for t in targets],
        [t[1] for t in targets],
        [t[2] for t in targets],
        Registration.TAXABLE.value,
        ids,
        ids,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        # JIT compilation cost more than it saved on this one aggregate (2.5 s of 5.7 s).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        cents = Decimal("0.01")
        return {
            account_id: Position(
                value_amount=Decimal(total).quantize(cents),
                drift_rate=Decimal(drift),
                drift_trade_amount=Decimal(trade).quantize(cents),
                harvest_loss_amount=Decimal(loss).quantize(cents),
                losers=tuple(losers or ()),
            )
            for account_id, total, drift, trade, loss, losers in cursor.fetchall()
        }
