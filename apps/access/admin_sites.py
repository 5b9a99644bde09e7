"""Two admin sites: the platform's (public schema) and each firm's (its own schema).

The default ``admin.site`` is not used: a model registered there would be reachable on both kinds
of host and query tables that do not exist in that schema.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import HttpRequest

from apps.access.admin_audit import AuditedModelAdmin
from apps.access.login import AdminSignInForm

AuditRecorder = Callable[..., Any]


class AuditedAdminSite(AdminSite):
    """An admin site whose every registration audits its changes (``AuditedModelAdmin``)."""

    def register(
        self,
        model_or_iterable: type[models.Model] | Iterable[type[models.Model]],
        admin_class: Any = None,
        **options: Any,
    ) -> None:
        """Register, refusing an admin class that does not audit (the default included)."""
        if admin_class is None or not issubclass(admin_class, AuditedModelAdmin):
            raise ImproperlyConfigured(
                f"{self.name}: register models with an AuditedModelAdmin, got {admin_class}"
            )
        super().register(model_or_iterable, admin_class, **options)

    def audit_record(
        self,
        *,
        request: HttpRequest,
        action: str,
        obj: models.Model | None,
        payload: dict[str, Any],
    ) -> None:
        """Write the audit row of one admin change (in the same transaction as the change)."""
        raise NotImplementedError


class PublicAdminSite(AuditedAdminSite):
    """Platform staff administer firms and the shared security master."""

    site_header = "Platform administration"
    site_title = "Platform admin"
    index_title = "Firms and reference data"
    # Set by apps.firms.admin: the platform's audit trail lives in the firms app (public
    # schema), which this tenant-side module may not import.
    audit_recorder: AuditRecorder | None = None

    def audit_record(
        self,
        *,
        request: HttpRequest,
        action: str,
        obj: models.Model | None,
        payload: dict[str, Any],
    ) -> None:
        """A ``PlatformAuditEvent`` (public schema); refuses to run unaudited."""
        from apps.access.permissions import signed_in_user

        if self.audit_recorder is None:
            raise ImproperlyConfigured("the platform admin has no audit recorder")
        self.audit_recorder(
            action=action, acting_user=signed_in_user(request), obj=obj, payload=payload
        )

    login_form = AdminSignInForm


class FirmAdminSite(AuditedAdminSite):
    """A firm's own administration: only its firm admins, only its schema's tables."""

    site_header = "Firm administration"
    site_title = "Firm admin"
    index_title = "Your firm's records"
    login_form = AdminSignInForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Firm admins only (role checked through the permission table)."""
        from apps.access.permissions import Action, user_can

        user: Any = request.user
        return bool(user.is_active and user.is_staff and user_can(user, Action.ADMIN_SITE))

    def audit_record(
        self,
        *,
        request: HttpRequest,
        action: str,
        obj: models.Model | None,
        payload: dict[str, Any],
    ) -> None:
        """An ``AuditEvent`` in the firm's schema."""
        from apps.access.permissions import signed_in_user
        from apps.access.services import audit_event_record

        audit_event_record(
            action=action, acting_user=signed_in_user(request), obj=obj, payload=payload
        )


public_admin_site = PublicAdminSite(name="public_admin")
firm_admin_site = FirmAdminSite(name="firm_admin")
