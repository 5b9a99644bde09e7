"""The one declared permission table (role x action) and the helpers every view uses.

Pages use ``action_required``; API views use ``IsFirmMember`` plus ``required_action`` on the
view; services may call ``require_action``. A user without a role in this firm can do nothing.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from rest_framework.permissions import BasePermission

from apps.access.roles import Role
from apps.common.exceptions import CommonErrorCode, PermissionDeniedError
from apps.common.tenancy import current_schema

if TYPE_CHECKING:  # DRF imports this module while it initialises its own views
    from rest_framework.request import Request
    from rest_framework.views import APIView


class Action(StrEnum):
    """Everything a firm user may be allowed to do."""

    VIEW_BOOK = "view_book"
    DESIGN_SOLUTION = "design_solution"
    RUN_REBALANCE = "run_rebalance"
    APPROVE_TRADES = "approve_trades"
    IMPORT_FILES = "import_files"
    MANAGE_MODELS = "manage_models"
    GENERATE_REPORTS = "generate_reports"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    VIEW_AUDIT = "view_audit"
    ADMIN_SITE = "admin_site"


_ALL = frozenset(Action)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW_BOOK}),
    Role.ADVISOR: frozenset({Action.VIEW_BOOK, Action.DESIGN_SOLUTION, Action.GENERATE_REPORTS}),
    Role.TRADER: frozenset(
        {
            Action.VIEW_BOOK,
            Action.RUN_REBALANCE,
            Action.APPROVE_TRADES,
            Action.IMPORT_FILES,
            Action.GENERATE_REPORTS,
        }
    ),
    Role.FIRM_ADMIN: _ALL,
    # The sub-advisor runs the book for the firm; the firm keeps its users, settings and admin.
    Role.PLATFORM_STAFF: _ALL - {Action.MANAGE_USERS, Action.MANAGE_SETTINGS, Action.ADMIN_SITE},
}


def user_role(user: User | AnonymousUser) -> Role | None:
    """The user's role in the current firm's schema, or None (no access)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if current_schema() == "public":
        return None
    membership = getattr(user, "membership", None)
    return Role(membership.role) if membership is not None else None


def user_can(user: User | AnonymousUser, action: Action) -> bool:
    """Whether the user's role in this firm allows the action (fails closed)."""
    role = user_role(user)
    return role is not None and action in PERMISSIONS[role]


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for code behind a login (the admin sites) that records who acted."""
    if not isinstance(request.user, User) or not request.user.is_authenticated:
        raise PermissionDenied("sign in first")
    return request.user


def require_action(user: User | AnonymousUser, action: Action) -> None:
    """Raise unless the user may perform the action (for services)."""
    if not user_can(user, action):
        raise PermissionDeniedError(
            f"your role may not {action.value.replace('_', ' ')}",
            code=CommonErrorCode.FORBIDDEN,
            extra={"action": action.value},
        )


_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def action_required(action: Action) -> Callable[[_View], _View]:
    """Page decorator: anonymous users go to the login page; others need the action."""

    def decorator(view: _View) -> _View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_can(request.user, action):
                raise PermissionDenied(f"your role may not {action.value.replace('_', ' ')}")
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class IsFirmMember(BasePermission):
    """API default: an authenticated user with a role in this firm, allowed the view's action.

    A view declares ``required_action`` (default ``VIEW_BOOK``); writes may declare
    ``required_write_action`` for unsafe methods.
    """

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        """Check the role table for the view's action."""
        action: Action = getattr(view, "required_action", Action.VIEW_BOOK)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            action = getattr(view, "required_write_action", action)
        return user_can(request.user, action)
