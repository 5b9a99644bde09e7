"""The roles a firm user can hold (one per user, per firm schema)."""

from django.db import models


class Role(models.TextChoices):
    """A firm user's role; the permission table says what each may do."""

    VIEWER = "viewer", "Viewer"
    ADVISOR = "advisor", "Advisor"
    TRADER = "trader", "Trader"
    FIRM_ADMIN = "firm_admin", "Firm admin"
    PLATFORM_STAFF = "platform_staff", "Platform staff (sub-advisor)"


# The roles a firm admin may give (users page, firm admin, ``firm_user_set_role``): platform
# staff get theirs only through the audited sub-advisory entry.
ASSIGNABLE_ROLES = tuple(role for role in Role if role != Role.PLATFORM_STAFF)
ASSIGNABLE_ROLE_CHOICES = [(role.value, role.label) for role in ASSIGNABLE_ROLES]
