from django.apps import AppConfig


class TradingConfig(AppConfig):
    """Rebalance runs, proposals, approvals, orders, trade files and fills (tenant schema)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.trading"
    label = "trading"

    def ready(self) -> None:
        """Register the recovery settings check."""
        from apps.trading import checks  # noqa: F401
