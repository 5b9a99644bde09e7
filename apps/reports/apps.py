from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Client PDF reports, the taxes-saved report and the dispersion report (tenant schema)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.reports"
    label = "reports"
