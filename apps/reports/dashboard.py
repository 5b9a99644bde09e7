"""The book dashboard: assets, attention ranked by money at stake, runs, taxes saved, charts.

Every figure comes from one function that reads what is stored: positions and attention from
the stored ``AccountPosition`` rows (written by ``accounts.attention.account_positions_store``,
the daily scan's own measure: no request values the book), run totals from
``trading.selectors.run_totals`` (the runs page's), taxes saved from
``reports.services.firm.firm_taxes_saved_get`` (the firm report's).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import ExtractMonth
from django.utils.safestring import SafeString

from apps.accounts.attention import Attention, positions_refresh_if_stale, stored_attention
from apps.accounts.models import Account, AccountPosition, Household, RealizedGain, Transaction
from apps.common.charts import Bar, horizontal_bars
from apps.common.money import ZERO
from apps.reports.charts import SignedBar, signed_bars
from apps.reports.selectors import firm_branding_get, taxable_managed_account_list
from apps.reports.services.firm import firm_taxes_saved_get
from apps.trading.models import RebalanceRun
from apps.trading.selectors import RunTotals, run_list, run_totals

ATTENTION_SHOWN = 15
RUNS_SHOWN = 5
# Drift buckets of the distribution chart: upper bounds (fractions), the last open-ended.
DRIFT_BUCKETS = (Decimal("0.01"), Decimal("0.02"), Decimal("0.03"), Decimal("0.05"))
# Taxes saved replays each account's history (a few queries and two replays per taxable
# account): computed once an hour per firm and day, and only for books up to
# ``DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS`` taxable accounts; larger books read it in the firm
# taxes-saved report (a background batch).
TAXES_SAVED_CACHE_S = 3600


@dataclass(frozen=True)
class AttentionRow:
    """An account that needs a look, with its figures (USD)."""

    account: Account
    attention: Attention


@dataclass(frozen=True)
class TaxesSavedHeadline:
    """This year's taxes saved across taxable managed accounts (USD; shares as fractions)."""

    saved: Decimal
    net_saved: Decimal
    losses_harvested: Decimal
    accounts: int
    account_share: Decimal | None


@dataclass(frozen=True)
class BookOverview:
    """What the dashboard shows, as of a business date (USD; fractions)."""

    as_of: date
    valued_on: date | None  # the oldest stored position's closes (None: none stored yet)
    accounts: int
    households: int
    managed_accounts: int  # on a model
    managed_value_amount: Decimal  # their stored values: cash and lots at the latest closes
    needing_attention: int
    drifting: int
    harvestable: int
    cash_due: int
    budget_nearly_used: int
    drift_trade_amount: Decimal  # the drifting accounts' trades back to the model
    harvest_loss_amount: Decimal  # losses that could be harvested
    cash_shortfall_amount: Decimal  # cash due and not held
    attention: list[AttentionRow]
    runs: list[tuple[RebalanceRun, RunTotals]]
    taxes_saved: TaxesSavedHeadline | None  # None: too many accounts to compute on a page
    drift_chart: SafeString
    harvest_chart: SafeString


def book_overview(*, as_of: date) -> BookOverview:
    """The dashboard's figures for the firm in the current schema.

    Positions and attention are aggregates over the stored rows (a managed account's row has a
    drift), the attention list their 15 largest stakes by an index; a stale book is refreshed
    in the background (``positions_refresh_if_stale``).
    """
    valued_on = positions_refresh_if_stale(as_of=as_of)
    attention = Q(needs_attention=True)
    figures = AccountPosition.objects.filter(drift_rate__isnull=False).aggregate(
        value=Sum("value_amount", default=ZERO),
        needing=Count("pk", filter=attention),
        drifting=Count("pk", filter=attention & Q(is_drift=True)),
        harvestable=Count("pk", filter=attention & Q(is_harvest=True)),
        cash_due=Count("pk", filter=attention & Q(is_cash_due=True)),
        budget=Count("pk", filter=attention & Q(is_budget_nearly_used=True)),
        drift_trade=Sum("drift_trade_amount", filter=attention & Q(is_drift=True), default=ZERO),
        harvest_loss=Sum("harvest_loss_amount", filter=attention, default=ZERO),
        cash_short=Sum("cash_shortfall_amount", filter=attention, default=ZERO),
        **{f"bucket_{i}": Count("pk", filter=q) for i, (_, q) in enumerate(_drift_buckets())},
    )
    top = (
        AccountPosition.objects.filter(needs_attention=True)
        .select_related("account")
        .order_by("-stake_amount", "account_id")[:ATTENTION_SHOWN]
    )
    runs = list(run_list()[:RUNS_SHOWN])
    totals = run_totals(run_ids=[run.pk for run in runs])
    return BookOverview(
        as_of=as_of,
        valued_on=valued_on,
        accounts=Account.objects.count(),
        households=Household.objects.count(),
        managed_accounts=Account.objects.filter(model__isnull=False).count(),
        managed_value_amount=figures["value"],
        needing_attention=figures["needing"],
        drifting=figures["drifting"],
        harvestable=figures["harvestable"],
        cash_due=figures["cash_due"],
        budget_nearly_used=figures["budget"],
        drift_trade_amount=figures["drift_trade"],
        harvest_loss_amount=figures["harvest_loss"],
        cash_shortfall_amount=figures["cash_short"],
        attention=[AttentionRow(row.account, stored_attention(row)) for row in top],
        runs=[(run, totals.get(run.pk, RunTotals())) for run in runs],
        taxes_saved=_taxes_saved(as_of),
        drift_chart=_drift_chart(
            {label: figures[f"bucket_{i}"] for i, (label, _) in enumerate(_drift_buckets())}
        ),
        harvest_chart=_harvest_chart(as_of),
    )


def _taxes_saved(as_of: date) -> TaxesSavedHeadline | None:
    """The firm report's headline for ``as_of``'s year, cached per firm (schema), day and ledger.

    The key carries the ledger's latest entry, so a fill or import shows at once. None when the
    book has more taxable managed accounts than a page may replay
    (``DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS``) and nothing is cached.
    """
    latest = Transaction.objects.aggregate(latest=Max("id"))["latest"]
    key = f"dashboard-taxes-saved:{as_of.isoformat()}:{latest}"
    found: TaxesSavedHeadline | None = cache.get(key)
    if found is None:
        if taxable_managed_account_list().count() > settings.DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS:
            return None
        report = firm_taxes_saved_get(year=as_of.year, as_of=as_of)
        found = TaxesSavedHeadline(
            saved=report.saved,
            net_saved=report.net_saved,
            losses_harvested=report.losses_harvested,
            accounts=report.share.accounts,
            account_share=report.share.account_share,
        )
        cache.set(key, found, TAXES_SAVED_CACHE_S)
    return found


def drift_bucket(drift: Decimal) -> str:
    """The distribution chart's label for a drift (fraction)."""
    lower = Decimal("0")
    for upper in DRIFT_BUCKETS:
        if drift < upper:
            return f"{lower:.0%}–{upper:.0%}"
        lower = upper
    return f"≥ {lower:.0%}"


def _drift_buckets() -> list[tuple[str, Q]]:
    """Each bucket's label (``drift_bucket``) and its condition on a stored drift, in order."""
    buckets, lower = [], Decimal("0")
    for upper in DRIFT_BUCKETS:
        buckets.append((drift_bucket(lower), Q(drift_rate__gte=lower, drift_rate__lt=upper)))
        lower = upper
    buckets.append((drift_bucket(lower), Q(drift_rate__gte=lower)))
    return buckets


def _drift_chart(counts: dict[str, int]) -> SafeString:
    """Share of managed accounts per drift bucket (largest weight gap to the model)."""
    total = max(sum(counts.values()), 1)
    return horizontal_bars(
        [Bar(label, count / total) for label, count in counts.items()],
        title="Share of managed accounts by drift (largest weight gap to the model)",
    )


def harvest_by_month(*, year: int) -> dict[int, Decimal]:
    """Losses realized in each month of ``year`` (USD, positive), from the realized gains."""
    rows = (
        RealizedGain.objects.filter(sold_on__year=year, gain_amount__lt=0)
        .annotate(month=ExtractMonth("sold_on"))
        .values("month")
        .annotate(loss=Sum("gain_amount"))
        .order_by("month")
    )
    return {row["month"]: -row["loss"] for row in rows}


def _harvest_chart(as_of: date) -> SafeString:
    """Losses realized per month this year, up to ``as_of``'s month."""
    losses = harvest_by_month(year=as_of.year)
    branding = firm_branding_get()
    return signed_bars(
        [
            SignedBar(date(as_of.year, m, 1).strftime("%b"), float(losses.get(m, ZERO)))
            for m in range(1, as_of.month + 1)
        ],
        title=f"Losses realized per month, {as_of.year} (USD)",
        primary=branding.primary_colour,
        secondary=branding.secondary_colour,
        label_px=60,
    )
