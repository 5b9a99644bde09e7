"""Rebalance runs and the trade workflow (tenant schema).

A run fans out to Celery in chunks; every account gets one ``RunAccount`` row (its status in
the run) and, when it trades, one ``Proposal`` with its ``ProposedTrade`` rows. Unique
constraints on (run, account) make re-running a chunk harmless.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.common.fields import money_field, price_field, rate_field, shares_field
from apps.common.limits import fraction_validators


class RunScope(models.TextChoices):
    """Which accounts a run covers."""

    ACCOUNT = "account", "One account"
    HOUSEHOLD = "household", "A household"
    MODEL = "model", "A model's accounts"
    BOOK = "book", "The whole book"


class RunMode(models.TextChoices):
    """What the optimizer may do (core ``RebalanceMode``)."""

    FULL_REBALANCE = "full_rebalance", "Full rebalance"
    HARVEST_ONLY = "harvest_only", "Harvest losses only"
    RAISE_CASH = "raise_cash", "Raise cash"
    INVEST_CASH = "invest_cash", "Invest cash"
    TRANSITION = "transition", "Transition"


class RunStatus(models.TextChoices):
    """Life of a run."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


FINISHED_RUN_STATUSES = (RunStatus.COMPLETED, RunStatus.CANCELLED, RunStatus.FAILED)


class RebalanceRun(models.Model):
    """One request to rebalance a scope of accounts as of a business date."""

    scope = models.CharField(max_length=20, choices=RunScope.choices)
    scope_ids = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=20, choices=RunMode.choices, default=RunMode.FULL_REBALANCE)
    as_of = models.DateField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    requested_by_name = models.CharField(max_length=150, default="schedule")
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total_accounts = models.PositiveIntegerField(default=0)
    done_accounts = models.PositiveIntegerField(default=0)
    failed_accounts = models.PositiveIntegerField(default=0)
    skipped_accounts = models.PositiveIntegerField(default=0)
    solver_ms = models.PositiveBigIntegerField(default=0, help_text="Time inside the solver.")
    compute_ms = models.PositiveBigIntegerField(
        default=0, help_text="Time in chunk tasks: loading, solving and writing."
    )
    universe_symbols = models.JSONField(default=list, blank=True)
    universe_snapshot = models.JSONField(
        default=dict, blank=True, help_text="Prices and risk model shared by the run's proposals."
    )
    is_cancel_requested = models.BooleanField(default=False)
    failure_reason = models.TextField(blank=True, help_text="Why the run could not proceed.")
    idempotency_key = models.CharField(
        max_length=100,
        blank=True,
        help_text="The client's Idempotency-Key: a retried request returns this run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The proposals' totals (``selectors.run_totals``), added by each chunk in the transaction
    # that stores its proposals and trades: pages read them, never add up a run's trades.
    proposal_count = models.PositiveIntegerField(default=0)
    proposals_with_trades = models.PositiveIntegerField(default=0)
    buy_amount = money_field(default=Decimal("0"))
    sell_amount = money_field(default=Decimal("0"))
    realized_gain_amount = money_field(
        default=Decimal("0"), help_text="The sells' gains less losses."
    )
    estimated_tax_amount = money_field(default=Decimal("0"))
    naive_tax_amount = money_field(default=Decimal("0"))

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=("idempotency_key",),
                condition=~Q(idempotency_key=""),
                name="run_idempotency_key_once",
            ),
        )

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.scope} {self.mode} as of {self.as_of} ({self.status})"

    @property
    def remaining_accounts(self) -> int:
        """Accounts not yet done, failed or skipped."""
        finished = self.done_accounts + self.failed_accounts + self.skipped_accounts
        return max(self.total_accounts - finished, 0)


class RunAccountStatus(models.TextChoices):
    """An account's state within a run."""

    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (data quality)"


class RunAccount(models.Model):
    """An account's place in a run: its chunk, status and, if it failed or was skipped, why."""

    run = models.ForeignKey(RebalanceRun, on_delete=models.CASCADE, related_name="run_accounts")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    chunk = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=RunAccountStatus.choices, default=RunAccountStatus.PENDING
    )
    reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("run", "account"), name="run_account_once"),)
        indexes = (models.Index(fields=("run", "chunk", "status")),)

    def __str__(self) -> str:
        return f"run {self.run_id} account {self.account_id}: {self.status}"


class RunChunk(models.Model):
    """A chunk's delivery and liveness: when it was (re-)sent and when a worker last worked on it.

    The resume (``rebalance_runs_resume``) re-sends a chunk with pending accounts whose last sign
    of life (``sent_at``, ``heartbeat_at``) is older than ``OPTIMIZER_RUN_STALLED_AFTER_S`` and
    that a dead worker had claimed, or that a chunk queued behind it overtook; a chunk a worker
    is still running beats every ``OPTIMIZER_CHUNK_HEARTBEAT_S`` and is left alone.
    """

    run = models.ForeignKey(RebalanceRun, on_delete=models.CASCADE, related_name="chunks")
    chunk = models.PositiveIntegerField()
    sent_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resent_count = models.PositiveIntegerField(default=0)
    resent_at = models.DateTimeField(null=True, blank=True)
    silent_s = models.PositiveIntegerField(
        default=0, help_text="Seconds without a sign of life when it was last re-sent."
    )

    class Meta:
        ordering = ("run", "chunk")
        constraints = (models.UniqueConstraint(fields=("run", "chunk"), name="run_chunk_once"),)

    def __str__(self) -> str:
        return f"run {self.run_id} chunk {self.chunk}"


class ProposalStatus(models.TextChoices):
    """A proposal's life (``docs/operations.md``, "Proposal life cycle").

    Live (at most one per account, by a unique index): pending approval, approved, held.
    ``superseded``: a newer run computed the account again. ``stale``: the account changed
    (holdings, cash, target, restrictions, settings) after the proposal was computed. ``held``:
    approved, but a pre-trade check at order creation failed (reasons in ``status_reason``).
    """

    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    HELD = "held", "Held back by pre-trade checks"
    REJECTED = "rejected", "Rejected"
    ORDERED = "ordered", "Ordered"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Orders cancelled (part may be filled)"
    SUPERSEDED = "superseded", "Superseded by a newer run"
    STALE = "stale", "Stale: the account changed"
    NO_TRADES = "no_trades", "No trades needed"


LIVE_PROPOSAL_STATUSES = (
    ProposalStatus.PENDING_APPROVAL,
    ProposalStatus.APPROVED,
    ProposalStatus.HELD,
)


class Proposal(models.Model):
    """The optimizer's proposal for one account in one run, with metrics and exception flags.

    ``snapshot`` is the account's own part of the core problem (a JSON header and raw
    arrays, Zstandard-compressed; ``adapters.snapshot_unpack`` reads it; the run keeps the shared
    universe and risk model): any proposal can be replayed exactly.
    """

    run = models.ForeignKey(RebalanceRun, on_delete=models.CASCADE, related_name="proposals")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=ProposalStatus.choices)
    flags = models.JSONField(default=list, blank=True, help_text="Exception flags for review.")
    metrics = models.JSONField(default=dict, help_text="Before/after metrics (fractions, USD).")
    estimated_tax_amount = money_field(default=Decimal("0"))
    naive_tax_amount = money_field(
        default=Decimal("0"), help_text="Tax of a tax-naive rebalance to the same target."
    )
    turnover_amount = money_field(default=Decimal("0"))
    summary = models.TextField(blank=True)
    solver = models.CharField(max_length=40, blank=True)
    solver_ms = models.PositiveIntegerField(default=0)
    snapshot = models.BinaryField(default=b"", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    input_digest = models.JSONField(
        default=dict,
        blank=True,
        help_text="Digest of each part of the optimizer's input (holdings, cash, target, ...): "
        "a proposal whose account's input differs now is stale.",
    )
    status_reason = models.TextField(
        blank=True, help_text="Why it is superseded, stale or held back (pre-trade checks)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(fields=("run", "account"), name="proposal_once_per_run"),
            # One live proposal per account: approving "all" can never order an account twice.
            models.UniqueConstraint(
                fields=("account",),
                condition=Q(status__in=LIVE_PROPOSAL_STATUSES),
                name="proposal_one_live_per_account",
            ),
        )
        indexes = (
            # The approvals queue (``selectors.exception_queue``): its page is the first keys
            # of this index, its totals an index-only read (a 20,000-proposal queue was two
            # sequential reads of the wide proposal rows, ~70 ms).
            models.Index(
                "status",
                F("flags").desc(),
                F("created_at").desc(),
                F("id").desc(),
                name="proposal_exception_queue",
                include=("estimated_tax_amount", "turnover_amount"),
                condition=Q(status__in=(ProposalStatus.HELD, ProposalStatus.PENDING_APPROVAL)),
            ),
            # A run's page: its proposals' keys, status and account for sorting the page's keys
            # by account name, and its totals, read from the index alone (not the wide rows).
            models.Index(
                fields=("run", "status"),
                name="proposal_run_status",
                include=(
                    "id",
                    "account",
                    "estimated_tax_amount",
                    "naive_tax_amount",
                    "turnover_amount",
                ),
            ),
        )

    def __str__(self) -> str:
        return f"Proposal #{self.pk} run {self.run_id} account {self.account_id} ({self.status})"


class TradeSide(models.TextChoices):
    """Buy or sell."""

    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class ProposedTrade(models.Model):
    """One trade of a proposal: a sell of one lot or a buy of one name, with its reason.

    The proposal link has no database constraint: a book run writes ~400 trades per account,
    and PostgreSQL's per-row foreign-key check cost as much as the insert itself (~10 µs a row,
    2 ms of database CPU per 500-name account). The rows are only ever written by
    ``runs._store_chunk`` in the transaction that creates their proposals (ids returned by the
    insert), and deleted with them by the ORM's cascade; ``test_proposed_trades_follow_their
    proposal`` holds both.
    """

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="trades", db_constraint=False
    )
    side = models.CharField(max_length=4, choices=TradeSide.choices)
    symbol = models.CharField(max_length=16)
    lot_key = models.CharField(max_length=128, blank=True, help_text="Sells: the lot relieved.")
    shares = shares_field()
    price = price_field()
    amount = money_field()
    realized_gain_amount = money_field(null=True, blank=True)
    term = models.CharField(max_length=5, blank=True)
    reason = models.CharField(max_length=20)
    explanation = models.TextField()

    class Meta:
        ordering = ("side", "symbol", "lot_key")
        constraints = (
            models.CheckConstraint(
                condition=Q(shares__gt=0), name="proposed_trade_shares_positive"
            ),
        )

    def __str__(self) -> str:
        return f"{self.side} {self.shares} {self.symbol} ({self.reason})"


class TradingSettings(models.Model):
    """The firm's trading policy (one row per firm schema): approvals and exception thresholds."""

    is_auto_approve = models.BooleanField(
        default=False, help_text="Approve proposals with no exception flag without a trader."
    )
    large_tax_rate = rate_field(
        validators=fraction_validators(closed_high=True),
        default=Decimal("0.01"),
        help_text="Flag estimated tax above this fraction of value.",
    )
    large_drift_rate = rate_field(
        default=Decimal("0.05"),
        validators=fraction_validators(closed_high=True),
        help_text="Flag a max drift left above this fraction.",
    )
    big_trade_rate = rate_field(
        default=Decimal("0.25"),
        validators=fraction_validators(closed_high=True),
        help_text="Flag one trade above this fraction of value.",
    )
    is_scan_starting_runs = models.BooleanField(
        default=False,
        help_text="The daily scan starts a run for the accounts it finds, else only lists them.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Trading settings"


class DailyScan(models.Model):
    """The daily look at the book: accounts out of tolerance, harvest opportunities, cash due."""

    scanned_on = models.DateField(unique=True)
    accounts_scanned = models.PositiveIntegerField(default=0)
    run = models.ForeignKey(
        RebalanceRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-scanned_on",)

    def __str__(self) -> str:
        return f"Scan of {self.scanned_on}"


class ScanItem(models.Model):
    """An account the daily scan found, with every reason (the trader's to-do list)."""

    scan = models.ForeignKey(DailyScan, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=list)
    is_drift = models.BooleanField(default=False)
    is_harvest = models.BooleanField(default=False)
    is_cash_due = models.BooleanField(default=False)
    is_budget_nearly_used = models.BooleanField(default=False)
    stake_amount = money_field(
        default=Decimal("0"),
        help_text="Money at stake (USD): the largest of the drift trade, the harvestable losses "
        "and the cash shortfall; the list's order.",
    )

    class Meta:
        constraints = (models.UniqueConstraint(fields=("scan", "account"), name="scan_item_once"),)

    def __str__(self) -> str:
        return f"{self.account_id}: {'; '.join(self.reasons)}"


# --- Orders, custodian trade files and fills --------------------------------------------------
# Approved proposals become block orders per (custodian, symbol, side); each proposed trade is
# allocated exactly once (``OrderAllocation.proposed_trade`` is one-to-one). An order goes out in
# at most one trade file; fills come back by file (``FillImport.sha256`` is unique) and become
# ledger entries, so lots and realized gains change only through the tax-lot engine.


class OrderStatus(models.TextChoices):
    """Life of a block order."""

    OPEN = "open", "Open"
    SENT = "sent", "Sent"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"


class TradeFileLayout(models.TextChoices):
    """Whose layout a trade file follows (``docs/custodian-files.md``, "Trade files")."""

    GENERIC = "generic", "Generic CSV"
    SCHWAB = "schwab", "Schwab-like"
    FIDELITY = "fidelity", "Fidelity-like"


class TradeFile(models.Model):
    """One generated custodian trade file, stored in the firm's storage (schema prefix)."""

    custodian = models.CharField(max_length=32)
    layout = models.CharField(max_length=10, choices=TradeFileLayout.choices)
    storage_name = models.CharField(max_length=300, help_text="Name in the firm's storage.")
    filename = models.CharField(max_length=200, help_text="Offered name for downloads.")
    sha256 = models.CharField(max_length=64)
    line_count = models.PositiveIntegerField(help_text="Data lines (header excluded).")
    order_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"Trade file #{self.pk} {self.custodian} ({self.layout}, {self.line_count} lines)"


class OrderQuantityType(models.TextChoices):
    """How an allocation states its quantity to the custodian.

    Mutual and money-market funds trade in dollars at the day's NAV: a buy names an amount,
    a sell an amount too unless it sells the account's whole position (then its shares, "sell
    all"); every other security trades in shares.
    """

    SHARES = "shares", "Shares"
    AMOUNT = "amount", "Dollar amount"
    ALL = "all", "All shares (the whole position)"


class Order(models.Model):
    """A block order: the approved trades of one symbol and side at one custodian.

    ``is_dollar_traded``: a mutual or money-market fund, traded at NAV: its allocations may be
    dollar amounts, whose fills bring as many shares as the amount buys (``total_shares`` is
    then the estimate at the proposal's price, and the fills may pass it).
    """

    custodian = models.CharField(max_length=32)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=TradeSide.choices)
    total_shares = shares_field()
    filled_shares = shares_field(default=Decimal("0"))
    fill_amount = money_field(default=Decimal("0"))
    is_dollar_traded = models.BooleanField(
        default=False, help_text="A mutual or money-market fund: traded in dollars at NAV."
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    trade_file = models.ForeignKey(
        TradeFile, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "custodian", "symbol", "side", "id")
        indexes = (models.Index(fields=("custodian", "status")),)
        constraints = (
            models.CheckConstraint(condition=Q(total_shares__gt=0), name="order_shares_positive"),
            # A dollar-traded order's fills may pass its estimated shares (the NAV fell).
            models.CheckConstraint(
                condition=Q(filled_shares__gte=0)
                & (Q(is_dollar_traded=True) | Q(filled_shares__lte=models.F("total_shares"))),
                name="order_not_overfilled",
            ),
        )

    def __str__(self) -> str:
        return f"Order #{self.pk} {self.side} {self.total_shares} {self.symbol} ({self.status})"

    @property
    def average_price(self) -> Decimal | None:
        """Average fill price per share (None before the first fill)."""
        if not self.filled_shares:
            return None
        return self.fill_amount / self.filled_shares


class OrderAllocation(models.Model):
    """One account's part of a block: one proposed trade, with its lot instructions for sells.

    ``lot_instructions`` is ``[{"lot_id": <buy external id>, "shares": "…"}]`` (specific
    identification, as ``Transaction.lot_picks``); empty for buys, and for the sells of an
    account that does not use specified lots, which carry its ``lot_method`` instead.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="allocations")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    proposed_trade = models.OneToOneField(
        ProposedTrade, on_delete=models.PROTECT, related_name="allocation"
    )
    shares = shares_field()
    quantity_type = models.CharField(
        max_length=6, choices=OrderQuantityType.choices, default=OrderQuantityType.SHARES
    )
    order_amount = money_field(
        null=True,
        blank=True,
        help_text="Amount orders: the dollars to buy or sell at NAV (``shares`` is the estimate).",
    )
    lot_instructions = models.JSONField(default=list, blank=True)
    lot_method = models.CharField(
        max_length=4,
        blank=True,
        help_text="Sells without lot instructions: the account's lot method the custodian applies.",
    )
    lot_key = models.CharField(
        max_length=128, blank=True, help_text="Sells: the lot relieved (the proposed trade's)."
    )
    is_open = models.BooleanField(
        default=True, help_text="Not yet filled nor cancelled: its shares and cash are reserved."
    )
    filled_shares = shares_field(default=Decimal("0"))
    fill_amount = money_field(default=Decimal("0"))
    fill_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("order", "id")
        indexes = (models.Index(fields=("account", "is_open")),)
        constraints = (
            # A lot is in at most one open sell: a second sale of it cannot reach a trade file
            # until the first is filled or cancelled, whatever is clicked or retried.
            models.UniqueConstraint(
                fields=("account", "lot_key"),
                condition=Q(is_open=True) & ~Q(lot_key=""),
                name="order_allocation_one_open_sell_per_lot",
            ),
            models.CheckConstraint(
                condition=Q(shares__gt=0), name="order_allocation_shares_positive"
            ),
            # An amount order is filled by amount: its shares are what the amount bought.
            models.CheckConstraint(
                condition=Q(filled_shares__gte=0)
                & (
                    Q(quantity_type=OrderQuantityType.AMOUNT)
                    | Q(filled_shares__lte=models.F("shares"))
                ),
                name="order_allocation_not_overfilled",
            ),
            # An amount order has an amount; an order in shares has none (NULL > 0 is unknown,
            # which a CHECK lets through: hence the explicit test).
            models.CheckConstraint(
                condition=Q(
                    quantity_type=OrderQuantityType.AMOUNT,
                    order_amount__isnull=False,
                    order_amount__gt=0,
                )
                | (~Q(quantity_type=OrderQuantityType.AMOUNT) & Q(order_amount__isnull=True)),
                name="order_allocation_amount_order_has_amount",
            ),
        )

    def __str__(self) -> str:
        return f"Allocation #{self.pk} of order {self.order_id}: {self.shares}"

    @property
    def remaining_shares(self) -> Decimal:
        """Shares still to be filled (an amount order: the estimate's rest, never below 0)."""
        return max(self.shares - self.filled_shares, Decimal("0"))

    @property
    def is_amount_order(self) -> bool:
        """Whether the custodian is asked for a dollar amount (filled by amount, at NAV)."""
        return self.quantity_type == OrderQuantityType.AMOUNT

    @property
    def remaining_amount(self) -> Decimal:
        """An amount order's dollars still to be filled (0 for orders in shares)."""
        if self.order_amount is None:
            return Decimal("0")
        return max(self.order_amount - self.fill_amount, Decimal("0"))


class FillImport(models.Model):
    """One applied fills file; its sha256 is unique, so the same file is never applied twice."""

    filename = models.CharField(max_length=200)
    layout = models.CharField(max_length=10, choices=TradeFileLayout.choices)
    sha256 = models.CharField(max_length=64, unique=True)
    storage_name = models.CharField(max_length=300, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    fills_applied = models.PositiveIntegerField(default=0)
    allocations_touched = models.PositiveIntegerField(default=0)
    households = models.JSONField(default=list, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-applied_at", "-id")

    def __str__(self) -> str:
        return f"Fills {self.filename} ({self.fills_applied} fills)"
