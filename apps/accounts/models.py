"""Books of record (tenant schema): households, accounts, the ledger, lots and realized gains.

Tax lots and realized gains are *derived*: the tax-lot engine (``apps.taxlots``) replays a
household's ledger and ``ledger_rebuild`` stores its result. Nobody edits them by hand.
Securities are referenced by symbol (the public security master may change; STYLE.md §5.8).
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Coalesce, Upper

from apps.accounts.custodians import takes_specified_lots
from apps.common.fields import money_field, rate_field, shares_field
from apps.common.limits import (
    fraction_validators,
    non_negative_money_validators,
    tracking_error_target_validators,
    turnover_budget_validators,
)
from apps.common.validation import validate_not_formula_leading
from apps.taxlots.estimate import combined_rate


class Registration(models.TextChoices):
    """Tax registration of an account."""

    TAXABLE = "taxable", "Taxable"
    TRADITIONAL_IRA = "traditional_ira", "Traditional IRA"
    ROTH_IRA = "roth_ira", "Roth IRA"


class FilingStatus(models.TextChoices):
    """IRS filing status (sets the $3,000 / $1,500 capital loss limit)."""

    SINGLE = "single", "Single"
    MARRIED_JOINT = "married_filing_jointly", "Married filing jointly"
    MARRIED_SEPARATE = "married_filing_separately", "Married filing separately"
    HEAD_OF_HOUSEHOLD = "head_of_household", "Head of household"


class BudgetKind(models.TextChoices):
    """What the annual budget caps: net realized gains, or the tax on them."""

    GAINS = "gains", "Net realized gains"
    TAX = "tax", "Tax on realized gains"


class WithdrawalFrequency(models.TextChoices):
    """How often the client takes the scheduled withdrawal."""

    NONE = "none", "No scheduled withdrawal"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUALLY = "annually", "Annually"


class LotMethod(models.TextChoices):
    """The custodian's relief for sells that name no lots (docs/tax-rules.md, "Lot relief")."""

    FIFO = "FIFO", "First in, first out"
    LIFO = "LIFO", "Last in, first out"
    HIFO = "HIFO", "Highest cost first"


#: Longest transition horizon accepted (the planner simulates one solve per year and schedule).
MAX_TRANSITION_YEARS = 10


class LotSelection(models.TextChoices):
    """Whether an account's sells name their lots (the optimizer's choice) or follow its method."""

    CUSTODIAN = "custodian", "As the custodian allows"
    SPECIFIED = "specified", "Specified lots (the optimizer chooses)"
    METHOD = "method", "The account's lot method (no lot instructions)"


def trigram_index(field: str, *, name: str) -> GinIndex:
    """A GIN trigram index on ``UPPER(field)``: what Django's ``icontains`` compares."""
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)


class Household(models.Model):
    """The accounts of one family: wash sales are household-wide."""

    external_id = models.CharField(
        max_length=64, unique=True, validators=[validate_not_formula_leading]
    )
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        # Trigram indexes (pg_trgm, in the public schema) for the accounts list's search:
        # ``icontains`` is ``UPPER(column) LIKE UPPER('%…%')``, which they serve.
        indexes = (trigram_index("name", name="household_name_trgm"),)

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """A client's custodial account and every customization the optimizer must honour."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="accounts")
    custodian = models.CharField(max_length=32, validators=[validate_not_formula_leading])
    number = models.CharField(max_length=64, validators=[validate_not_formula_leading])
    name = models.CharField(max_length=200)
    registration = models.CharField(max_length=20, choices=Registration.choices)
    currency = models.CharField(max_length=3, default="USD")
    opened_on = models.DateField(null=True, blank=True)
    # Tax profile: rates are fractions (0.238, not 23.8), combined federal + state per character.
    short_term_rate = rate_field(default=Decimal("0.37"), validators=fraction_validators())
    long_term_rate = rate_field(default=Decimal("0.20"), validators=fraction_validators())
    state_rate = rate_field(default=Decimal("0"), validators=fraction_validators())
    filing_status = models.CharField(
        max_length=32, choices=FilingStatus.choices, default=FilingStatus.SINGLE
    )
    budget_kind = models.CharField(
        max_length=8, choices=BudgetKind.choices, default=BudgetKind.GAINS
    )
    annual_budget_amount = money_field(
        validators=non_negative_money_validators(),
        null=True,
        blank=True,
        help_text="Empty: no cap this year.",
    )
    # Caps on the year's net realized gain of one character (USD of gains, whatever
    # ``budget_kind`` says), on top of the annual budget.
    short_term_gains_budget_amount = money_field(
        validators=non_negative_money_validators(),
        null=True,
        blank=True,
        help_text="Cap on this year's net short-term gain (USD). Empty: no cap.",
    )
    long_term_gains_budget_amount = money_field(
        validators=non_negative_money_validators(),
        null=True,
        blank=True,
        help_text="Cap on this year's net long-term gain (USD). Empty: no cap.",
    )
    carryforward_short_amount = money_field(
        validators=non_negative_money_validators(),
        default=Decimal("0"),
        help_text="Short-term loss carried into this year (positive).",
    )
    carryforward_long_amount = money_field(
        validators=non_negative_money_validators(),
        default=Decimal("0"),
        help_text="Long-term loss carried into this year (positive).",
    )
    carryforward_year = models.PositiveSmallIntegerField(null=True, blank=True)
    transition_years = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TRANSITION_YEARS)],
        help_text="Spread a legacy portfolio's move to the model over N calendar years.",
    )
    # Set by the accounts service when the horizon is set or changed (this business year).
    transition_start_year = models.PositiveSmallIntegerField(null=True, blank=True)
    transition_tolerance_rate = rate_field(
        validators=fraction_validators(open_low=True),
        default=Decimal("0.01"),
        help_text="A transition has reached the model at this tracking error (annualised).",
    )
    # Overrides the model's tracking error target (ModelPortfolio.tracking_error_target_rate).
    tracking_error_target_rate = rate_field(
        null=True,
        blank=True,
        validators=tracking_error_target_validators(),
        help_text="Annualised tracking error this account may carry after trading (0.01 for 1% "
        "a year). Empty: the model's.",
    )
    # Traded (buys and sells, forced sales excluded) per calendar year, a fraction of the
    # account's value: each run may trade what the year has left (Constraints.turnover_cap_weight).
    turnover_budget_rate = rate_field(
        null=True,
        blank=True,
        validators=turnover_budget_validators(),
        help_text="Most the account may trade in a calendar year, a fraction of its value (1.5 "
        "for 150%). Empty: no budget.",
    )
    is_harvesting_enabled = models.BooleanField(default=True)
    harvest_threshold_rate = rate_field(
        validators=fraction_validators(),
        default=Decimal("0.05"),
        help_text="Harvest a lot once its loss exceeds this fraction.",
    )
    # Cash needs.
    cash_reserve_amount = money_field(
        default=Decimal("0"), validators=non_negative_money_validators()
    )
    withdrawal_amount = money_field(
        default=Decimal("0"), validators=non_negative_money_validators()
    )
    withdrawal_frequency = models.CharField(
        max_length=10, choices=WithdrawalFrequency.choices, default=WithdrawalFrequency.NONE
    )
    next_withdrawal_on = models.DateField(null=True, blank=True)
    # Trading preferences.
    drift_tolerance_rate = rate_field(default=Decimal("0.03"), validators=fraction_validators())
    min_trade_amount = money_field(
        default=Decimal("100"), validators=non_negative_money_validators()
    )
    is_fractional_shares = models.BooleanField(default=False)
    fee_rate = rate_field(
        default=Decimal("0.0075"),
        validators=fraction_validators(),
        help_text="Annual advisory fee, fraction of value.",
    )
    lot_method = models.CharField(
        max_length=4,
        choices=LotMethod.choices,
        default=LotMethod.FIFO,
        help_text="The custodian's relief of a sale that names no lots.",
    )
    lot_selection = models.CharField(
        max_length=10,
        choices=LotSelection.choices,
        default=LotSelection.CUSTODIAN,
        help_text="Whether sells name their lots or the custodian relieves them by the lot method.",
    )
    # Set only through portfolio_models.services.model_assign (audited).
    model = models.ForeignKey(
        "portfolio_models.ModelPortfolio",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    cash_amount = money_field(
        default=Decimal("0"), help_text="Derived from the ledger by ledger_rebuild."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("custodian", "number")
        indexes = (
            trigram_index("name", name="account_name_trgm"),
            trigram_index("number", name="account_number_trgm"),
        )
        constraints = (
            models.UniqueConstraint(
                fields=("custodian", "number"), name="account_custodian_number"
            ),
            models.CheckConstraint(
                condition=Q(cash_reserve_amount__gte=0) & Q(withdrawal_amount__gte=0),
                name="account_cash_needs_not_negative",
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.custodian} {self.number})"

    @property
    def has_gains_budget(self) -> bool:
        """Whether a yearly budget caps realized gains or their tax (taxable accounts only).

        The annual budget (``budget_kind``) or a cap on one character's gains.
        """
        return self.registration == Registration.TAXABLE and any(
            amount is not None
            for amount in (
                self.annual_budget_amount,
                self.short_term_gains_budget_amount,
                self.long_term_gains_budget_amount,
            )
        )

    def clean(self) -> None:
        """Single-row rules: USD only; a withdrawal schedule needs a date.

        Each field's own range (rates are fractions, amounts not negative) is on the field's
        validators (``apps.common.limits``), which forms and serializers apply too.
        """
        if self.currency != "USD":
            # Prices, cash, budgets and trade files are all in USD: refused, not ignored.
            raise ValidationError({"currency": "only USD accounts are supported"})
        if self.withdrawal_frequency != WithdrawalFrequency.NONE:
            problems = {}
            if self.next_withdrawal_on is None:
                problems["next_withdrawal_on"] = (
                    "pick the next withdrawal date (or choose no scheduled withdrawal)"
                )
            if self.withdrawal_amount is not None and self.withdrawal_amount <= 0:
                problems["withdrawal_amount"] = (
                    "enter the amount of each withdrawal (or choose no scheduled withdrawal)"
                )
            if problems:
                raise ValidationError(problems)

    @property
    def combined_short_term_rate(self) -> Decimal:
        """Rate on a short-term gain: federal plus state (``taxlots.estimate.combined_rate``)."""
        return combined_rate(self.short_term_rate, self.state_rate)

    @property
    def combined_long_term_rate(self) -> Decimal:
        """Rate on a long-term gain: federal plus state (``taxlots.estimate.combined_rate``)."""
        return combined_rate(self.long_term_rate, self.state_rate)

    @property
    def tracking_error_target(self) -> Decimal | None:
        """The tracking error target in force: the account's, else its model's (None: none)."""
        if self.tracking_error_target_rate is not None:
            return self.tracking_error_target_rate
        return self.model.tracking_error_target_rate if self.model is not None else None

    @property
    def is_taxable(self) -> bool:
        """Whether realized gains in this account are taxed now."""
        return self.registration == Registration.TAXABLE

    def transition_years_left(self, year: int) -> int | None:
        """Calendar years of the transition left in ``year`` (this one included), or None.

        None when the account has no horizon or its last transition year has passed.
        """
        if not self.transition_years or self.transition_start_year is None:
            return None
        left = self.transition_start_year + self.transition_years - year
        return left if left >= 1 else None

    @property
    def uses_specified_lots(self) -> bool:
        """Whether this account's sells carry lot instructions (else its lot method relieves them).

        ``lot_selection`` decides; ``custodian`` takes the custodian's default
        (``custodians.takes_specified_lots``).
        """
        if self.lot_selection == LotSelection.CUSTODIAN:
            return takes_specified_lots(self.custodian)
        return self.lot_selection == LotSelection.SPECIFIED


class TransactionKind(models.TextChoices):
    """Ledger entry kinds; buys and sells carry a symbol and shares."""

    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    DIVIDEND = "dividend", "Dividend"
    FEE = "fee", "Fee"


class Transaction(models.Model):
    """One ledger entry. ``amount`` is positive: a buy's total cost, a sell's net proceeds.

    Opening lots imported from a custodian (no history) are buys with ``is_opening_lot`` set
    and, where the custodian knows them, an adjusted basis and a tacked holding-period start.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transactions")
    external_id = models.CharField(max_length=128, validators=[validate_not_formula_leading])
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    trade_on = models.DateField()
    sequence = models.PositiveIntegerField(
        default=0, help_text="Intraday order among the household's entries of one date."
    )
    symbol = models.CharField(max_length=16, blank=True)
    shares = shares_field(null=True, blank=True)
    amount = money_field()
    lot_method = models.CharField(max_length=4, choices=LotMethod.choices, blank=True)
    lot_picks = models.JSONField(
        default=list, blank=True, help_text='Specific identification: [{"lot_id", "shares"}].'
    )
    buy_group = models.CharField(max_length=64, blank=True)
    is_opening_lot = models.BooleanField(default=False)
    is_basis_unknown = models.BooleanField(
        default=False, help_text="Opening lot whose cost the custodian did not send."
    )
    holding_period_start_on = models.DateField(null=True, blank=True)
    wash_adjustment_amount = money_field(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("trade_on", "sequence", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("account", "external_id"), name="transaction_external_id_per_account"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="transaction_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=("buy", "sell")) | (Q(shares__gt=0) & ~Q(symbol="")),
                name="transaction_trade_has_symbol_and_shares",
            ),
        )
        indexes = (models.Index(fields=("account", "trade_on")),)

    def __str__(self) -> str:
        return f"{self.trade_on} {self.kind} {self.symbol} {self.shares or ''} {self.amount}"


class TaxLot(models.Model):
    """An open lot as the tax-lot engine derives it from the ledger (one row per basis piece)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tax_lots")
    lot_key = models.CharField(max_length=128, help_text="The buy's external id.")
    symbol = models.CharField(max_length=16)
    shares = shares_field()
    cost_basis_amount = money_field(help_text="Unadjusted cost of these shares.")
    adjusted_basis_amount = money_field(null=True, blank=True)
    wash_adjustment_amount = money_field(default=Decimal("0"))
    acquired_on = models.DateField()
    holding_period_start_on = models.DateField()
    has_basis = models.BooleanField(
        default=True, help_text="False when the custodian sent no cost: never traded until fixed."
    )
    # Exact integers kept by the database for set-based reads (a book run's chunk reads 200,000
    # lots; numeric arithmetic per lot was a quarter of the database's cost of that read).
    shares_micro = models.GeneratedField(
        expression=Cast(F("shares") * 1_000_000, models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
        help_text="Shares x 10^6 (SHARES has 6 decimal places: exact).",
    )
    basis_cents = models.GeneratedField(
        expression=Coalesce(
            Cast(F("adjusted_basis_amount") * 100, models.BigIntegerField()), Value(0)
        ),
        output_field=models.BigIntegerField(),
        db_persist=True,
        help_text="Adjusted basis in cents (exact); 0 when it is missing.",
    )

    class Meta:
        ordering = ("symbol", "acquired_on", "lot_key")
        indexes = (
            models.Index(fields=("account", "symbol")),
            models.Index(fields=("symbol",)),  # selectors.held_symbols: a book run's names
        )
        constraints = (
            models.CheckConstraint(condition=Q(shares__gt=0), name="tax_lot_shares_positive"),
        )

    def __str__(self) -> str:
        return f"{self.symbol} {self.shares} @ {self.acquired_on}"


class Term(models.TextChoices):
    """Holding-period character (IRC §1222)."""

    SHORT = "short", "Short-term"
    LONG = "long", "Long-term"


class RealizedGain(models.Model):
    """One lot piece sold (a Form 8949 row), derived by the tax-lot engine."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="realized_gains")
    sell = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="realized_gains")
    lot_key = models.CharField(max_length=128)
    symbol = models.CharField(max_length=16)
    shares = shares_field()
    acquired_on = models.DateField()
    holding_period_start_on = models.DateField()
    sold_on = models.DateField()
    proceeds_amount = money_field()
    basis_amount = money_field()
    gain_amount = money_field()
    disallowed_amount = money_field(default=Decimal("0"))
    reportable_gain_amount = money_field()
    term = models.CharField(max_length=5, choices=Term.choices)
    form8949_code = models.CharField(max_length=4, blank=True)

    class Meta:
        ordering = ("sold_on", "symbol", "lot_key")
        indexes = (models.Index(fields=("account", "sold_on")),)

    def __str__(self) -> str:
        return f"{self.sold_on} {self.symbol} {self.reportable_gain_amount} ({self.term})"


class WashSaleMatch(models.Model):
    """Which replacement shares absorbed a disallowed loss (explains basis adjustments)."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="wash_matches")
    loss_sell = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="+")
    loss_lot_key = models.CharField(max_length=128)
    replacement_lot_key = models.CharField(max_length=128)
    replacement_account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    shares = shares_field()
    disallowed_amount = money_field()
    is_permanent = models.BooleanField(
        default=False, help_text="IRA replacement: Rev. Rul. 2008-5."
    )
    replacement_holding_period_start_on = models.DateField()

    def __str__(self) -> str:
        return f"{self.loss_lot_key} -> {self.replacement_lot_key}: {self.disallowed_amount}"


class FirmJudgement(models.Model):
    """A firm's recorded judgement on a tax question: why, and on what authority, by whom."""

    reason = models.CharField(max_length=300)
    source = models.CharField(
        max_length=300, help_text="The authority or document the firm relies on."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdenticalGroup(FirmJudgement):
    """A firm's group of substantially identical securities (IRC §1091(a)).

    With why and on what authority the firm treats them as one (e.g. two ETFs tracking the same
    index).
    The effective groups (``selectors.substantially_identical_groups``) merge these with the
    security master's share classes of one issuer; the ledger's wash-sale matching, the
    optimizer and the pre-trade checks use them.
    """

    class Meta:
        ordering = ("id",)
        constraints = (
            models.CheckConstraint(condition=~Q(reason=""), name="identical_group_reason_given"),
            models.CheckConstraint(condition=~Q(source=""), name="identical_group_source_given"),
        )

    def __str__(self) -> str:
        return f"group #{self.pk}: {self.reason}"


class IdenticalIndexOptOut(FirmJudgement):
    """A fund the firm does not treat as substantially identical to the other funds on its index.

    By default the funds of the security master that track one index are one group of the
    effective groups (``selectors.substantially_identical_groups``). Whether two securities are
    substantially identical is a question of facts and circumstances (IRC §1091(a); IRS
    Publication 550, "Wash Sales"); a firm that judges a fund different from its index peers
    (another methodology, a different share of the index, an active overlay) records it here
    with its reason and the authority it relies on.
    """

    symbol = models.CharField(max_length=16, unique=True)

    class Meta:
        ordering = ("symbol",)
        constraints = (
            models.CheckConstraint(condition=~Q(reason=""), name="identical_opt_out_reason_given"),
            models.CheckConstraint(condition=~Q(source=""), name="identical_opt_out_source_given"),
        )

    def __str__(self) -> str:
        return f"{self.symbol} not identical to its index peers"


class IdenticalGroupMember(models.Model):
    """A symbol of a firm's group; a symbol belongs to one group of the firm at most."""

    group = models.ForeignKey(IdenticalGroup, on_delete=models.CASCADE, related_name="members")
    symbol = models.CharField(max_length=16, unique=True)

    class Meta:
        ordering = ("symbol",)

    def __str__(self) -> str:
        return self.symbol


class AccountPosition(models.Model):
    """An account's position and attention as of a date, stored for the pages to read.

    Derived, like the lots: ``apps.accounts.attention.account_positions_store`` writes every
    field from one computation (the daily scan for the whole book, a ledger rebuild or profile
    change for its accounts, the stale-while-revalidate task). Pages read these rows; no request
    values the book.
    """

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="position"
    )
    valued_on = models.DateField(help_text="The business date whose latest closes valued it.")
    valued_model_id = models.BigIntegerField(
        null=True, blank=True, help_text="The account's model when valued: another one is stale."
    )
    value_amount = money_field(help_text="Cash plus the lots with a basis.")
    drift_rate = rate_field(
        null=True, blank=True, help_text="Largest |weight - target|; none without a model."
    )
    drift_trade_amount = money_field()
    harvest_loss_amount = money_field()
    losers = models.JSONField(default=list, help_text="Symbols under water beyond threshold.")
    needs_attention = models.BooleanField(default=False)
    reasons = models.JSONField(default=list)
    is_drift = models.BooleanField(default=False)
    is_harvest = models.BooleanField(default=False)
    is_cash_due = models.BooleanField(default=False)
    is_budget_nearly_used = models.BooleanField(default=False)
    cash_shortfall_amount = money_field(default=Decimal("0"))
    stake_amount = money_field(default=Decimal("0"))

    class Meta:
        indexes = (
            models.Index(fields=("valued_on",), name="account_position_valued_on"),
            # The dashboard's attention list: the most money at stake first.
            models.Index(
                F("stake_amount").desc(),
                "account",
                condition=Q(needs_attention=True),
                name="account_position_attention",
            ),
        )

    def __str__(self) -> str:
        return f"{self.account_id} on {self.valued_on}: {self.value_amount}"
