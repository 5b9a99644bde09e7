from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Per-firm roles, the permission table and the audit trail (tenant schema)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.access"
    label = "access"

    def ready(self) -> None:
        """Connect the token revocation to every save of a login."""
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save

        from apps.access.signals import revoke_tokens_on_password_change_or_deactivation

        pre_save.connect(
            revoke_tokens_on_password_change_or_deactivation,
            sender=get_user_model(),
            dispatch_uid="access.revoke_tokens",
        )
