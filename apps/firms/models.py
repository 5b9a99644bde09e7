from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class FirmKind(models.TextChoices):
    """What kind of firm the tenant is."""

    RIA = "ria", "Registered investment adviser"
    BANK = "bank", "Bank / trust company"
    TAMP = "tamp", "Turnkey asset management platform"


class FirmService(models.TextChoices):
    """Whether the firm trades itself or the platform trades for it."""

    SOFTWARE = "software", "Software only (the firm trades)"
    SUB_ADVISORY = "sub_advisory", "Sub-advisory (platform staff trade for the firm)"


class Firm(TenantMixin):
    """A wealth-management firm: one tenant, one schema (created by ``firm_create`` only)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=10, choices=FirmKind.choices, default=FirmKind.RIA)
    service = models.CharField(
        max_length=20, choices=FirmService.choices, default=FirmService.SOFTWARE
    )
    timezone = models.CharField(max_length=64, default="America/New_York")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Domain(DomainMixin):
    """A host name that serves one firm (``acme.localhost``)."""

    def __str__(self) -> str:
        return self.domain


class StaffEntry(models.Model):
    """Audit of platform staff entering a firm as sub-advisor (public schema, kept forever).

    A row is created when staff ask to enter and consumed once on the firm's host.
    """

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="staff_entries")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="firm_entries"
    )
    staff_username = models.CharField(max_length=150)
    reason = models.CharField(max_length=300)
    requested_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-requested_at",)

    def __str__(self) -> str:
        return (
            f"{self.staff_username} -> firm #{self.firm_id} at {self.requested_at:%Y-%m-%d %H:%M}"
        )


class PlatformAuditEvent(models.Model):
    """Who changed what through the platform admin (public schema, kept forever).

    The public counterpart of a firm's ``AuditEvent``: platform staff logins, firms, their
    hosts and the security master change here.
    """

    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="platform_audit_events",
    )
    acting_username = models.CharField(max_length=150)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.acting_username} {self.action}"
