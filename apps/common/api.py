"""API plumbing shared by every app: the exception handler that maps ApplicationError."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.exceptions import ApplicationError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map ApplicationError to ``{code, message, extra}`` with its HTTP status; else DRF's."""
    if isinstance(exc, ApplicationError):
        return Response(
            {"code": str(exc.code), "message": exc.message, "extra": exc.extra},
            status=exc.http_status,
        )
    return drf_exception_handler(exc, context)
