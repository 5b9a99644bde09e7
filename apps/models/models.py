"""Model portfolios (tenant schema): a firm's models, their immutable versions and targets.

A version is never edited: "editing" a model creates a new version with its own effective date,
and accounts follow the version current on the date asked. A target holds either a security
(by symbol; the public master may change, STYLE.md §5.8) or a *sleeve*: another model of the
firm, which contributes the targets of **its own current version on the date flattened** (not
a version frozen when the parent was written), so a sleeve's managers update every parent at once.
The cash target lives on the version, with the targets it must sum to one with.

A model also sets how closely its accounts follow it (issue 18): a tracking error target (each
account may override it) and drift bands per name and per sector that all its accounts share.
The optimizer adapter reads them at every run (``apps.optimizer.adapters``).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.common.fields import rate_field, weight_field
from apps.common.limits import fraction_validators, tracking_error_target_validators
from apps.common.validation import validate_not_formula_leading


class ModelPortfolio(models.Model):
    """A firm's model; third-party models carry a provider and a fee (basis points per year)."""

    code = models.CharField(
        max_length=32,
        unique=True,
        help_text="Short unique code, e.g. CORE60.",
        validators=[validate_not_formula_leading],
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    provider = models.CharField(
        max_length=200, blank=True, help_text="Third-party model provider (blank: the firm's own)."
    )
    fee_bps = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Provider fee in basis points per year (for taxes saved vs fees).",
    )
    is_active = models.BooleanField(default=True)
    # How closely accounts follow the model (fractions; empty: no such limit).
    tracking_error_target_rate = rate_field(
        null=True,
        blank=True,
        validators=tracking_error_target_validators(),
        help_text="Annualised tracking error its accounts may carry after trading (0.01 for 1% "
        "a year); the optimizer raises its risk aversion until it holds. Empty: no target.",
    )
    name_band_rate = rate_field(
        null=True,
        blank=True,
        validators=fraction_validators(open_low=True, closed_high=True),
        help_text="No trade takes a name of the model further from its target than this fraction "
        "of it (0.25: a 4% target within 3% to 5%), nor further out than it is. Empty: none.",
    )
    sector_band_weight = weight_field(
        null=True,
        blank=True,
        validators=fraction_validators(open_low=True),
        help_text="Each sector stays within this weight of the model's (0.02: two percentage "
        "points). Empty: no band per sector.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("code",)
        constraints = (
            models.CheckConstraint(condition=Q(fee_bps__gte=0), name="model_fee_not_negative"),
        )

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    @property
    def fee_rate(self) -> Decimal:
        """The fee as a fraction per year (25 bps -> 0.0025)."""
        return self.fee_bps / Decimal(10000)


class ModelVersion(models.Model):
    """One immutable set of targets of a model, in force from ``effective_on``.

    Created only by ``model_version_create``; never updated or deleted (history is kept).
    """

    model = models.ForeignKey(ModelPortfolio, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    effective_on = models.DateField()
    cash_weight = weight_field(default=Decimal("0"))
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("model", "-number")
        constraints = (
            models.UniqueConstraint(fields=("model", "number"), name="model_version_number"),
            models.CheckConstraint(
                condition=Q(cash_weight__gte=0) & Q(cash_weight__lte=1),
                name="model_version_cash_weight_fraction",
            ),
        )
        indexes = (models.Index(fields=("model", "effective_on")),)

    def __str__(self) -> str:
        return f"{self.model.code} v{self.number} from {self.effective_on}"


class ModelTarget(models.Model):
    """A target weight (fraction) of one security or one sleeve (another model) in a version."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="targets")
    symbol = models.CharField(max_length=16, blank=True)
    sleeve = models.ForeignKey(
        ModelPortfolio,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parent_targets",
    )
    weight = weight_field()

    class Meta:
        ordering = ("version", "-weight", "symbol")
        constraints = (
            models.CheckConstraint(
                condition=(Q(symbol="") & Q(sleeve__isnull=False))
                | (~Q(symbol="") & Q(sleeve__isnull=True)),
                name="model_target_symbol_xor_sleeve",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0) & Q(weight__lte=1), name="model_target_weight_fraction"
            ),
            models.UniqueConstraint(
                fields=("version", "symbol"),
                condition=~Q(symbol=""),
                name="model_target_unique_symbol",
            ),
            models.UniqueConstraint(
                fields=("version", "sleeve"),
                condition=Q(sleeve__isnull=False),
                name="model_target_unique_sleeve",
            ),
        )

    def __str__(self) -> str:
        return f"{self.label} {self.weight}"

    @property
    def label(self) -> str:
        """The symbol, or ``model:<code>`` for a sleeve."""
        return f"model:{self.sleeve.code}" if self.sleeve is not None else self.symbol

    def clean(self) -> None:
        """Exactly one of symbol and sleeve."""
        if bool(self.symbol) == (self.sleeve_id is not None):
            raise ValidationError("a target holds either a symbol or a sleeve, not both")
