from django.apps import AppConfig


class SecuritiesConfig(AppConfig):
    """Securities master: shared reference data in the public schema."""

    name = "apps.securities"
    label = "securities"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Securities"
