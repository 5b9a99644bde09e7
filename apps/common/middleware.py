"""Refuse text no field can hold, once, before any view reads it (``apps.common.limits``)."""

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from apps.common.limits import has_control_character, reads_as_foreign_number

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class InputGuardMiddleware:
    """400 for a URL, query parameter or field with a control character or a non-ASCII number.

    PostgreSQL refuses NUL in text (a 500 from any filter that reached a query), and Python's
    ``int``/``Decimal`` read other scripts' digits as numbers (``"١٢٣"`` became 123.00).
    Refusing both here covers every page, form, API filter and JSON body at one place; files
    (imports) are checked by their own parsers with the same rules (``apps.common.limits``).
    Password fields are not checked for numbers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Wrap the rest of the stack."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer 400 with the reason, or pass the request on."""
        problem = _problem(request)
        if problem is None:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": problem}, status=400)
        return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")


def _problem(request: HttpRequest) -> str | None:
    if has_control_character(request.path_info):
        return "the URL holds a control character (NUL or similar)"
    for where, fields in (("query parameter", _query_fields), ("field", _body_fields)):
        for name, value in fields(request):
            if has_control_character(name) or has_control_character(value):
                return f"{where} {name[:40]!r} holds a control character (NUL or similar)"
            if "password" not in name and reads_as_foreign_number(value):
                return f"{where} {name[:40]!r} is a number written with digits other than 0-9"
    return None


def _query_fields(request: HttpRequest) -> Iterator[tuple[str, str]]:
    for name, values in request.GET.lists():
        for value in values:
            yield name, value


def _body_fields(request: HttpRequest) -> Iterator[tuple[str, str]]:
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    content_type = request.content_type or ""
    if content_type in _FORM_TYPES:
        for name, values in request.POST.lists():
            for value in values:
                yield name, value
    elif content_type == "application/json" and request.body:
        try:
            document = json.loads(request.body)
        except ValueError:
            return  # the API's parser answers 400 with its own message
        yield from _json_strings(document, "")


def _json_strings(value: Any, name: str) -> Iterator[tuple[str, str]]:
    """(field name, text) of every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key, key
            yield from _json_strings(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, name)
