from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Books of record: households, client accounts, tax lots, ledger, realized gains."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.accounts"
    label = "accounts"
