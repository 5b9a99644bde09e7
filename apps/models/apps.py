from django.apps import AppConfig


class PortfolioModelsConfig(AppConfig):
    """Model portfolios and their immutable versions (tenant schema).

    The label is not "models": ``apps.models`` would otherwise clash with Django's own naming of
    app modules and make ``<label>.Model`` references ambiguous (STYLE.md §1).
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.models"
    label = "portfolio_models"
    verbose_name = "Model portfolios"
