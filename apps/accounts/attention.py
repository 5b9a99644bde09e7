"""Which accounts need attention: drift beyond tolerance, losses to harvest, cash due, budget.

Set-based: one query for accounts, one for prices, one per model for targets, and one that
values and compares every lot in SQL. Pages read the result stored per account
(``AccountPosition``, written by ``account_positions_store``), never value the book.
The scan measures drift against the model's flattened target (restrictions are applied by the
run itself); it is a to-do list, not a trade decision, ranked by the money at stake.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q

from apps.accounts.cash import withdrawals_due
from apps.accounts.models import Account, AccountPosition, Registration, TaxLot
from apps.accounts.selectors import held_symbols, realized_summaries
from apps.common.bulk import sql_table
from apps.common.money import RATE, ZERO
from apps.models.models import ModelPortfolio
from apps.models.selectors import model_flatten
from apps.securities.selectors import price_map_get


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


RATE_QUANTUM = Decimal(1).scaleb(-RATE["decimal_places"])  # drift as stored
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
    """Every account with a model, by id: the book the scan looks at."""
    return list(Account.objects.filter(model__isnull=False).order_by("pk"))


def account_position_rows(
    *, accounts: Sequence[Account], as_of: date
) -> tuple[list[AccountPosition], list[Attention]]:
    """The accounts' ``AccountPosition`` rows (unsaved) and those needing attention, ranked.

    The one computation of every figure a page shows of a position or its attention: the
    stored rows are its output, and a test compares them with a fresh call after a change.
    An account without a model is valued but has no drift and no attention.
    """
    positions = account_positions(accounts=accounts, as_of=as_of) if accounts else {}
    managed = [a for a in accounts if a.model_id is not None]
    found = accounts_needing_attention(as_of=as_of, positions=positions, managed=managed)
    by_id = {item.account_id: item for item in found}
    rows = []
    for account in accounts:
        position = positions[account.pk]
        item = by_id.get(account.pk)
        rows.append(
            AccountPosition(
                account_id=account.pk,
                valued_on=as_of,
                valued_model_id=account.model_id,
                value_amount=position.value_amount,
                drift_rate=position.drift_rate if account.model_id is not None else None,
                drift_trade_amount=position.drift_trade_amount,
                harvest_loss_amount=position.harvest_loss_amount,
                losers=list(position.losers),
                needs_attention=item is not None,
                reasons=list(item.reasons) if item else [],
                is_drift=bool(item and item.is_drift),
                is_harvest=bool(item and item.is_harvest),
                is_cash_due=bool(item and item.is_cash_due),
                is_budget_nearly_used=bool(item and item.is_budget_nearly_used),
                cash_shortfall_amount=item.cash_shortfall_amount if item else ZERO,
                stake_amount=item.stake_amount if item else ZERO,
            )
        )
    return rows, found


_STORED_FIELDS = tuple(f.name for f in AccountPosition._meta.concrete_fields if not f.primary_key)


def account_positions_store(
    *, as_of: date, account_ids: Collection[int] | None = None
) -> list[Attention]:
    """Value the accounts (the whole book when ``account_ids`` is None) and store their rows.

    Called by what changes a position: the daily scan (the whole book, new closes), a ledger
    rebuild and a profile change (their accounts), and the stale-while-revalidate task
    (``positions_refresh_if_stale``). Returns the managed accounts among them that need
    attention, ranked by money at stake.
    """
    accounts = Account.objects.order_by("pk")
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    rows, found = account_position_rows(accounts=list(accounts), as_of=as_of)
    AccountPosition.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=("account",),
        update_fields=_STORED_FIELDS,
    )
    return found


def stored_attention(row: AccountPosition) -> Attention:
    """The ``Attention`` a stored row was written from (``account_position_rows``)."""
    return Attention(
        account_id=row.account_id,
        reasons=tuple(row.reasons),
        is_drift=row.is_drift,
        is_harvest=row.is_harvest,
        is_cash_due=row.is_cash_due,
        is_budget_nearly_used=row.is_budget_nearly_used,
        position=Position(
            value_amount=row.value_amount,
            drift_rate=row.drift_rate if row.drift_rate is not None else ZERO,
            drift_trade_amount=row.drift_trade_amount,
            harvest_loss_amount=row.harvest_loss_amount,
            losers=tuple(row.losers),
        ),
        cash_shortfall_amount=row.cash_shortfall_amount,
    )


# A page checks whether the stored positions are stale at most this often (per firm), and one
# refresh runs at a time (the task releases the lock; it expires if a worker dies).
POSITIONS_CHECK_EVERY_S = 60
POSITIONS_REFRESH_LOCK = "account-positions-refreshing"
POSITIONS_REFRESH_LOCK_S = 1800


def positions_refresh_if_stale(*, as_of: date) -> date | None:
    """The oldest stored valuation date (None: none stored); enqueue a refresh when stale.

    Stale: a row valued before ``as_of`` (older closes, withdrawals due by an older date), an
    account without a row (created since) or whose model changed (``stale_account_ids``). The
    page shows the stored rows meanwhile (stale-while-revalidate): no request values the book.
    """
    oldest: date | None = (
        AccountPosition.objects.order_by("valued_on").values_list("valued_on", flat=True).first()
    )
    if not cache.add(f"account-positions-checked:{as_of.isoformat()}", 1, POSITIONS_CHECK_EVERY_S):
        return oldest
    is_stale = (oldest is not None and oldest < as_of) or stale_account_ids(as_of=as_of, limit=1)
    if is_stale and cache.add(POSITIONS_REFRESH_LOCK, 1, POSITIONS_REFRESH_LOCK_S):
        from apps.accounts.tasks import account_positions_refresh

        account_positions_refresh.delay(as_of.isoformat())
    return oldest


def stale_account_ids(*, as_of: date, limit: int | None = None) -> list[int]:
    """Accounts whose stored position is missing, valued before ``as_of`` or with another model.

    A model is assigned in ``apps.models`` (below this app in the layers, so it cannot store
    the position itself): the stored model id tells.
    """
    ids = (
        Account.objects.filter(
            Q(position__isnull=True)
            | Q(position__valued_on__lt=as_of)
            | (Q(model__isnull=False) & ~Q(position__valued_model_id=F("model_id")))
            | (Q(model__isnull=True) & Q(position__valued_model_id__isnull=False))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(ids[:limit] if limit is not None else ids)


def account_positions(*, accounts: Sequence[Account], as_of: date) -> dict[int, Position]:
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
                drift_rate=Decimal(drift).quantize(RATE_QUANTUM),
                drift_trade_amount=Decimal(trade).quantize(cents),
                harvest_loss_amount=Decimal(loss).quantize(cents),
                losers=tuple(losers or ()),
            )
            for account_id, total, drift, trade, loss, losers in cursor.fetchall()
        }
