"""Login throttling: after too many failed sign-ins for one username from one address, wait.

Counts live in the cache (per firm schema through the tenant-aware key function), so set
``DJANGO_CACHE_URL`` to a shared cache (Redis) when several web processes serve the site.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _key(request: HttpRequest, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    return f"login-failures:{username.strip().lower()}:{address}"


def login_is_locked(request: HttpRequest, username: str) -> bool:
    """Whether this username from this address has used up its failed attempts."""
    return int(cache.get(_key(request, username), 0)) >= settings.LOGIN_MAX_FAILURES


def login_failure_record(request: HttpRequest, username: str) -> None:
    """Count a failed sign-in; the count expires ``LOGIN_LOCKOUT_S`` after the first failure."""
    key = _key(request, username)
    if cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_S):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_S)


def login_failures_clear(request: HttpRequest, username: str) -> None:
    """A successful sign-in clears the count."""
    cache.delete(_key(request, username))
