"""A secret shown once: kept in the server-side session across a POST-redirect-GET, then gone.

For a generated password or a new API token's key: never in a cookie (``messages`` may use one),
never in a URL, and a reload of the page no longer shows it.
"""

from typing import Any

from django.http import HttpRequest

_PREFIX = "show-once:"


def show_once_store(request: HttpRequest, *, key: str, value: dict[str, Any]) -> None:
    """Keep ``value`` (JSON-safe) for the next page that takes ``key``."""
    request.session[_PREFIX + key] = value


def show_once_take(request: HttpRequest, *, key: str) -> dict[str, Any] | None:
    """The value stored under ``key``, removed from the session (None when there is none)."""
    value: dict[str, Any] | None = request.session.pop(_PREFIX + key, None)
    return value
