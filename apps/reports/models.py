"""Reports (tenant schema): batches of rendered PDFs, their files, and the firm's branding.

Files live in the firm's storage (``default_storage`` is schema-prefixed, STYLE.md §5.6) and
are downloaded only through role-checked views. A client report is unique per (batch,
account) and a firm report per (batch, kind), so a redelivered task never stores a file twice.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "a colour as #rrggbb")


class ReportKind(models.TextChoices):
    """What a batch produces."""

    CLIENT = "client", "Client reports"
    TAXES_SAVED = "taxes_saved", "Taxes saved (firm)"
    DISPERSION = "dispersion", "Dispersion (firm)"


class ReportBatchStatus(models.TextChoices):
    """Life of a batch."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ReportBatch(models.Model):
    """One request to render reports of a kind for a year (a firm's accounts, or a few)."""

    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    year = models.PositiveSmallIntegerField()
    as_of = models.DateField(help_text="Valuation date of the reports.")
    account_ids = models.JSONField(
        default=list, blank=True, help_text="Client reports: the accounts (empty: all)."
    )
    status = models.CharField(
        max_length=10, choices=ReportBatchStatus.choices, default=ReportBatchStatus.QUEUED
    )
    total_count = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    failures = models.JSONField(
        default=dict, blank=True, help_text="Account id (or 'firm') -> why it failed."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150, default="system")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"Report batch #{self.pk} {self.kind} {self.year} ({self.status})"

    @property
    def percent(self) -> int:
        """Progress in percent of the items finished (rendered or failed)."""
        if not self.total_count:
            return 100 if self.status == ReportBatchStatus.COMPLETED else 0
        return round(100 * (self.done_count + self.failed_count) / self.total_count)


class ReportFile(models.Model):
    """One rendered PDF in the firm's storage."""

    batch = models.ForeignKey(ReportBatch, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    storage_name = models.CharField(max_length=300, help_text="Name in the firm's storage.")
    filename = models.CharField(max_length=200, help_text="Offered name for downloads.")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField()
    render_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("batch", "kind", "account_id", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("batch", "account"),
                condition=Q(account__isnull=False),
                name="report_file_once_per_account",
            ),
            models.UniqueConstraint(
                fields=("batch", "kind"),
                condition=Q(account__isnull=True),
                name="report_file_once_per_firm_kind",
            ),
        )

    def __str__(self) -> str:
        return f"{self.filename} ({self.pages} pages)"


class FirmBranding(models.Model):
    """How the firm's reports look: one row per firm schema."""

    display_name = models.CharField(max_length=200, blank=True, help_text="Blank: the firm name.")
    logo_name = models.CharField(
        max_length=300, blank=True, help_text="PNG/JPEG/SVG logo in the firm's storage."
    )
    primary_colour = models.CharField(max_length=7, default="#1f3a5f", validators=[HEX_COLOUR])
    secondary_colour = models.CharField(max_length=7, default="#c8a04a", validators=[HEX_COLOUR])
    disclaimer = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Branding ({self.display_name or 'firm name'})"
