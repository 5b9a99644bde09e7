from django.apps import AppConfig


class FirmsConfig(AppConfig):
    """Firms are the tenants: one PostgreSQL schema each."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.firms"
    label = "firms"
