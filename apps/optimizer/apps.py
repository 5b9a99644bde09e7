from django.apps import AppConfig


class OptimizerConfig(AppConfig):
    """The optimizer: a pure core plus the adapter from books of record; no models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.optimizer"
    label = "optimizer"
