from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Per-firm roles, the permission table and the audit trail (tenant schema)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.access"
    label = "access"
