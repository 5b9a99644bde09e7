"""API plumbing shared by every app: error handling and the OpenAPI schema class.

The exception handler maps ApplicationError; ``ApiSchema`` documents the error responses every
operation can give; ``not_found`` answers unrouted API URLs in JSON.
"""

from datetime import date
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.exceptions import ApplicationError
from apps.common.limits import (
    DATE_PATTERN,
    TEXT_PATTERN,
    YEAR_MAX,
    YEAR_MIN,
    validate_date_in_range,
)
from apps.common.money import MONEY, PRICE, RATE, SHARES, WEIGHT, DecimalSize
from apps.common.tenancy import firm_today


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map ApplicationError to ``{code, message, extra}`` with its HTTP status; else DRF's."""
    if isinstance(exc, ApplicationError):
        return Response(
            {"code": str(exc.code), "message": exc.message, "extra": exc.extra},
            status=exc.http_status,
        )
    return drf_exception_handler(exc, context)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 (``handler400``): the reason as JSON under ``/api/``, else as plain text.

    Pages raise ``BadRequest`` with a message for the user (``limits.page_date``).
    """
    message = str(exception) or "Bad request."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL no route matches (``handler404``): JSON under ``/api/``, else the page.

    API clients get the same body as DRF's own 404s; ``/api/v1/accounts/-1/`` is such a URL
    (``<int:pk>`` takes no sign).
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


@csrf_exempt  # any method: a 404, never the CSRF failure page (API clients send no token)
def unrouted(request: HttpRequest, path: str) -> JsonResponse:
    """JSON 404 for any ``/api/`` URL no API route matches, also with ``DEBUG`` on.

    ``handler404`` (``not_found``) is not used while ``DEBUG`` is on: Django then answers its
    HTML debug page, which an API client cannot read. A URL missing its final slash says so.
    """
    body: dict[str, str] = {"detail": "Not found."}
    if not request.path.endswith("/"):
        body["hint"] = "API URLs end with a slash"
    return JsonResponse(body, status=404)


def query_filters(view: APIView) -> dict[str, Any]:
    """The view's query parameters, parsed and checked by its ``filters_class`` (400 if bad).

    ``filters_class`` is a serializer declared once on the view: this reads the request with it
    and ``ApiSchema`` documents its fields as the operation's query parameters, so what a list
    accepts and what its schema says cannot drift apart (the API fuzz test sends them).
    """
    # A plain dict, not the QueryDict: DRF reads an empty HTML-form value as "not given", and
    # ``?as_of=`` is a malformed date here, not today.
    params = dict(view.request.query_params.items())
    filters = view.filters_class(data=params)  # type: ignore[attr-defined]
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN})
class LimitedDateField(serializers.DateField):
    """An ISO date within ``apps.common.limits``' range; the schema says so (``pattern``)."""

    def __init__(self, **kwargs: Any) -> None:
        """A DRF DateField with the range validator."""
        super().__init__(**kwargs)
        self.validators.append(validate_date_in_range)


class LimitedTextField(serializers.CharField):
    """Text without control characters (``InputGuardMiddleware``); the schema says so."""

    def __init__(self, **kwargs: Any) -> None:
        """A DRF CharField that keeps what was sent (no trimming) and documents its pattern."""
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


class SizedDecimalField(serializers.DecimalField):
    """A Decimal on the wire as a string (never a float), sized by ``apps.common.money``."""

    size: ClassVar[DecimalSize]

    def __init__(self, **kwargs: Any) -> None:
        """A DRF DecimalField of the class's size that always renders a string."""
        super().__init__(
            max_digits=self.size["max_digits"],
            decimal_places=self.size["decimal_places"],
            coerce_to_string=True,
            **kwargs,
        )


class MoneyField(SizedDecimalField):
    """An amount in the account currency: a string with cents ("1234.50")."""

    size = MONEY


class PriceField(SizedDecimalField):
    """A price per share: a string with 6 decimal places."""

    size = PRICE


class SharesField(SizedDecimalField):
    """A share count: a string with 6 decimal places."""

    size = SHARES


class RateField(SizedDecimalField):
    """A rate as a fraction (0.01 for 1%): a string with 8 decimal places."""

    size = RATE


class WeightField(SizedDecimalField):
    """A portfolio weight as a fraction: a string with 8 decimal places."""

    size = WEIGHT


class SearchFilters(serializers.Serializer[Any]):
    """Query parameters: a search text."""

    search = LimitedTextField(
        required=False, allow_blank=True, max_length=200, help_text="contains (case-insensitive)"
    )


class AsOfFilters(serializers.Serializer[Any]):
    """Query parameters: the date the answer is for."""

    as_of = LimitedDateField(required=False, help_text="ISO date (default: today)")


def as_of_filter(view: APIView) -> date:
    """The ``as_of`` query parameter of a view whose filters include ``AsOfFilters`` (today)."""
    as_of: date = query_filters(view).get("as_of") or firm_today()
    return as_of


def date_param(**kwargs: Any) -> serializers.DateField:
    """An ISO date (query parameter or body field) within ``apps.common.limits``' date range."""
    return LimitedDateField(**kwargs)


def text_param(**kwargs: Any) -> serializers.CharField:
    """A text query parameter (no control characters)."""
    return LimitedTextField(**kwargs)


def year_param(**kwargs: Any) -> serializers.IntegerField:
    """A calendar year within ``apps.common.limits``' date range."""
    return serializers.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX, **kwargs)


class ApiErrorOutput(serializers.Serializer[Any]):
    """An error a service raised on purpose (``ApplicationError``), as the handler writes it."""

    code = serializers.CharField(help_text="stable, machine-readable (an app's error code enum)")
    message = serializers.CharField()
    extra = serializers.DictField(required=False)


class ErrorDetailOutput(serializers.Serializer[Any]):
    """DRF's own errors: not authenticated, not allowed, not found, throttled, bad JSON."""

    detail = serializers.CharField()


class ApiSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses an operation can give.

    An operation that authenticates documents 401 and 403 (a role without the action); one with
    path parameters documents 404; one that reads a body or query parameters documents 400
    (field errors, or a service's refusal in ``ApiErrorOutput`` form); a throttled one 429.
    Responses a view declares itself (409 for a conflict, say) are kept as declared.
    """

    def get_override_parameters(self) -> list[Any]:
        """The parameters a view declares, plus its ``filters_class`` on GET (``query_filters``)."""
        parameters: list[Any] = super().get_override_parameters()
        filters_class = getattr(self.view, "filters_class", None)
        if filters_class is not None and self.method == "GET":
            parameters = [*parameters, filters_class]
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, body in self._error_bodies().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    body, code, direction=direction
                )
        return responses

    def _error_bodies(self) -> dict[str, OpenApiResponse]:
        api_error = self.resolve_serializer(ApiErrorOutput, "response").ref
        detail = self.resolve_serializer(ErrorDetailOutput, "response").ref
        bodies: dict[str, OpenApiResponse] = {}
        paginated = self._get_pagination_parameters()  # type: ignore[no-untyped-call]
        has_query = bool(self.get_override_parameters() or paginated)
        if self.method in ("POST", "PUT", "PATCH") or has_query:
            field_errors = {
                "type": "object",
                "description": "field name → its messages (nested for nested fields)",
                "additionalProperties": {},
            }
            bodies["400"] = OpenApiResponse(
                {"anyOf": [api_error, detail, field_errors]},
                description="invalid input, or refused by a business rule",
            )
        if self.get_auth():
            bodies["401"] = OpenApiResponse(detail, description="no valid token or session")
            bodies["403"] = OpenApiResponse(
                {"anyOf": [detail, api_error]}, description="the user's role lacks the action"
            )
        if "{" in self.path:
            bodies["404"] = OpenApiResponse(detail, description="no such object in this firm")
        if self.view.get_throttles():
            bodies["429"] = OpenApiResponse(detail, description="too many requests; retry later")
        return bodies


class LimitedTextFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """drf-spectacular: a ``LimitedTextField`` is a string with its lengths and ``TEXT_PATTERN``."""

    target_class = LimitedTextField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        """The CharField's schema plus the pattern."""
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        return {**schema, "pattern": TEXT_PATTERN}
