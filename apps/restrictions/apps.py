from django.apps import AppConfig


class RestrictionsConfig(AppConfig):
    """Screens, restrictions, outside holdings and substitutes (tenant schema)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.restrictions"
    label = "restrictions"
