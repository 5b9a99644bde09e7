"""Typed application errors: a code enum, a message and extra data for the API (Saleor-style)."""

from enum import StrEnum
from typing import Any


class CommonErrorCode(StrEnum):
    """Error codes raised by the common layer."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    TENANT_REQUIRED = "tenant_required"


class ApplicationError(Exception):
    """Base of every error a service raises on purpose; the API maps it to 400/403/409."""

    http_status: int = 400

    def __init__(self, message: str, *, code: StrEnum, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}


class ConflictError(ApplicationError):
    """A state conflict (409): the object changed or already exists with other content."""

    http_status = 409


class PermissionDeniedError(ApplicationError):
    """The acting user's role does not allow the action (403)."""

    http_status = 403


class TenantContextError(RuntimeError):
    """Tenant data was about to be touched outside a firm's schema: refuse (fail closed)."""
