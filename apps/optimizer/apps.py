from django.apps import AppConfig


class OptimizerConfig(AppConfig):
    """The optimizer: a pure core plus the adapter from books of record; no models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.optimizer"
    label = "optimizer"

    def ready(self) -> None:
        """Register the settings check (``apps.optimizer.checks``)."""
        from django.core import checks

        from apps.optimizer.checks import solver_config_check

        checks.register(solver_config_check)
