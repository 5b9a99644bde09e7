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


class ApiTokenRevokeReason(models.TextChoices):
    """Why a token stopped working before its expiry."""

    BY_USER = "by_user", "Revoked by its user"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    DEACTIVATED = "deactivated", "Login deactivated"


class ApiToken(models.Model):
    """A firm user's named API token (tenant schema): kept as a hash, shown once, expires.

    It works only while unrevoked, unexpired, its user active and the user's password the one it
    was issued under (``password_fingerprint``): a password changed by any path ends it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=8, help_text="first characters, to tell tokens apart")
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the key, hex")
    password_fingerprint = models.CharField(
        max_length=64, help_text="sha256 of the user's password hash when issued"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(
        max_length=20, choices=ApiTokenRevokeReason.choices, blank=True
    )

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"
