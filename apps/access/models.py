from django.conf import settings
from django.db import models

from apps.access.roles import Role


class Membership(models.Model):
    """A firm user's role in this firm (tenant schema); no row means no access."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class AuditEvent(models.Model):
    """Who did what, when, to which object: written by every state-changing service."""

    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    acting_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.acting_username} {self.action}"


class OutboxStatus(models.TextChoices):
    """Whether an outbox message has reached the broker."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"


class OutboxMessage(models.Model):
    """A task to send to the broker, committed in the same transaction as the change asking for it.

    The transactional outbox (``apps.access.outbox``): the row and the change commit together,
    so a broker that is down loses nothing; the message is sent after the commit, or by the
    periodic sweep once the broker is back, and then marked sent.
    """

    task = models.CharField(max_length=200, help_text="Celery task name.")
    args = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = (
            models.Index(
                fields=("id",),
                condition=models.Q(status=OutboxStatus.PENDING),
                name="access_outbox_pending",
            ),
        )

    def __str__(self) -> str:
        return f"outbox #{self.pk} {self.task}{self.args} ({self.status})"
