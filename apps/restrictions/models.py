"""Restrictions (tenant schema): screens, never-buy/never-sell, outside holdings, substitutes.

A restriction is in force from ``starts_on`` up to, **not including**, ``ends_on`` (ending one
today takes effect today). Rows are never deleted: ending keeps the history.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from apps.common.fields import money_field, weight_field


class RestrictionScope(models.TextChoices):
    """Who a restriction covers."""

    FIRM = "firm", "Firm-wide"
    HOUSEHOLD = "household", "Household"
    ACCOUNT = "account", "Account"


class RestrictionKind(models.TextChoices):
    """What a restriction forbids; ``value`` is a symbol, a sector, an industry or an ESG tag."""

    NEVER_BUY = "never_buy", "Never buy (symbol)"
    NEVER_SELL = "never_sell", "Never sell (symbol)"
    EXCLUDE_SECTOR = "exclude_sector", "Exclude sector"
    EXCLUDE_INDUSTRY = "exclude_industry", "Exclude industry"
    EXCLUDE_ESG = "exclude_esg", "Exclude ESG tag (screen)"


class Restriction(models.Model):
    """A rule on the firm, a household or an account, with dates and a reason."""

    scope = models.CharField(max_length=10, choices=RestrictionScope.choices)
    household = models.ForeignKey(
        "accounts.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="restrictions",
    )
    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="restrictions",
    )
    kind = models.CharField(max_length=20, choices=RestrictionKind.choices)
    value = models.CharField(max_length=100)
    starts_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="First day no longer in force (blank: open-ended)."
    )
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("scope", "kind", "value", "starts_on")
        constraints = (
            models.CheckConstraint(
                condition=(Q(scope="firm") & Q(household__isnull=True) & Q(account__isnull=True))
                | (Q(scope="household") & Q(household__isnull=False) & Q(account__isnull=True))
                | (Q(scope="account") & Q(account__isnull=False) & Q(household__isnull=True)),
                name="restriction_exactly_one_scope",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="restriction_ends_after_start",
            ),
            models.CheckConstraint(condition=~Q(value=""), name="restriction_value_not_blank"),
        )
        indexes = (
            models.Index(fields=("account", "starts_on")),
            models.Index(fields=("household", "starts_on")),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} ({self.scope})"

    def clean(self) -> None:
        """Dates in order."""
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "must not be before starts_on"})


class OutsideHolding(models.Model):
    """An exposure held away from the firm (real estate, employer stock…) that offsets targets.

    ``exposure_key`` is ``symbol:<SYMBOL>``, ``sector:<GICS sector>`` or
    ``industry:<GICS industry>``; the size is an amount (USD) or a weight (fraction of the
    account's value; for a household, of the household's value across its accounts).
    """

    household = models.ForeignKey(
        "accounts.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outside_holdings",
    )
    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outside_holdings",
    )
    exposure_key = models.CharField(max_length=120)
    amount = money_field(null=True, blank=True)
    weight = weight_field(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("exposure_key",)
        constraints = (
            models.CheckConstraint(
                condition=(Q(household__isnull=False) & Q(account__isnull=True))
                | (Q(household__isnull=True) & Q(account__isnull=False)),
                name="outside_holding_household_xor_account",
            ),
            models.CheckConstraint(
                condition=(Q(amount__isnull=False) & Q(weight__isnull=True) & Q(amount__gte=0))
                | (
                    Q(amount__isnull=True)
                    & Q(weight__isnull=False)
                    & Q(weight__gte=0)
                    & Q(weight__lte=1)
                ),
                name="outside_holding_amount_xor_weight",
            ),
            models.UniqueConstraint(
                fields=("household", "exposure_key"),
                condition=Q(household__isnull=False),
                name="outside_holding_unique_household_key",
            ),
            models.UniqueConstraint(
                fields=("account", "exposure_key"),
                condition=Q(account__isnull=False),
                name="outside_holding_unique_account_key",
            ),
        )

    def __str__(self) -> str:
        size = f"{self.amount} USD" if self.amount is not None else f"weight {self.weight}"
        return f"{self.exposure_key} {size}"

    @property
    def scope(self) -> str:
        """``household`` or ``account``."""
        return "household" if self.household_id is not None else "account"


class Substitute(models.Model):
    """A firm-wide alternative for a security, by rank (1 = first choice).

    Used for screened names and as harvest replacements that are not substantially identical.
    """

    symbol = models.CharField(max_length=16)
    alternative = models.CharField(max_length=16)
    rank = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("symbol", "rank")
        constraints = (
            models.UniqueConstraint(fields=("symbol", "rank"), name="substitute_unique_rank"),
            models.UniqueConstraint(
                fields=("symbol", "alternative"), name="substitute_unique_alternative"
            ),
            models.CheckConstraint(
                condition=~Q(symbol=F("alternative")), name="substitute_not_itself"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="substitute_rank_positive"),
        )

    def __str__(self) -> str:
        return f"{self.symbol} -> {self.alternative} (#{self.rank})"


class FundScreenPolicy(models.TextChoices):
    """What a screen does to a fund whose look-through holdings it screens."""

    FLAG = "flag", "Flag: keep the fund, say what it holds that the screen excludes"
    EXCLUDE = "exclude", "Exclude: treat the fund as restricted by the screen"


class ScreenSettings(models.Model):
    """The firm's screening policy (one row per firm schema).

    ``fund_screen_policy``: a restriction that screens a sector, industry, ESG tag or symbol
    reaches a fund through its look-through holdings; the firm chooses whether such a fund is
    flagged (kept, with an explanation line) or excluded (restricted by that restriction).
    """

    fund_screen_policy = models.CharField(
        max_length=10,
        choices=FundScreenPolicy.choices,
        default=FundScreenPolicy.FLAG,
        help_text="What a screen does to a fund holding screened names.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Screen settings"
