"""The roles a firm user can hold (one per user, per firm schema)."""

from django.db import models


class Role(models.TextChoices):
    """A firm user's role; the permission table says what each may do."""

    VIEWER = "viewer", "Viewer"
    ADVISOR = "advisor", "Advisor"
    TRADER = "trader", "Trader"
    FIRM_ADMIN = "firm_admin", "Firm admin"
    PLATFORM_STAFF = "platform_staff", "Platform staff (sub-advisor)"
