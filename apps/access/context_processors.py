from typing import Any

from django.http import HttpRequest

from apps.access.permissions import PERMISSIONS, user_role


def firm_context(request: HttpRequest) -> dict[str, Any]:
    """The firm served on this host, the user's role and allowed actions, for templates."""
    tenant = getattr(request, "tenant", None)
    role = user_role(request.user) if tenant is not None else None
    allowed = PERMISSIONS[role] if role is not None else frozenset()
    return {"firm": tenant, "role": role, "allowed": {action.value for action in allowed}}
