"""Every URL pattern of both URLconfs, enumerated from the resolver (not a hand list), is closed
to anonymous visitors: a login redirect, 401/403, 404 or 405 — never a page of data."""

import re

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Doors that are open on purpose: login pages, the token endpoint (POST only), the platform's
# home and health check, and the firm-host sub-advisory entry (it refuses without a token).
OPEN = {
    "config.urls_tenants": {
        "login", "api-token", "sub-advisory-enter", "firm_admin:login", "firm_admin:logout",
    },
    "config.urls_public": {
        "public-home", "health", "staff-login", "logout", "public_admin:login",
        "public_admin:logout",
    },
}  # fmt: skip


def _patterns(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> list[tuple[str, str | None]]:
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _patterns(entry, route, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            found.append((route, name))
    return found


def _concrete(route: str) -> str:
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):[^>]+>|<[^>]+>", "x", route)
    route = route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + route.lstrip("/")


def _closed(response) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    return response.status_code == 302 and "login" in response["Location"]


def test_every_door_is_closed_to_anonymous_visitors(firms, db):
    tried = 0
    for urlconf, host in (
        ("config.urls_tenants", firms["a"].host),
        ("config.urls_public", "localhost"),
    ):
        client = Client(HTTP_HOST=host)
        for route, name in _patterns(get_resolver(urlconf)):
            if name in OPEN[urlconf] or "(?P<" in route:  # admin regex internals: its own login
                continue
            path = _concrete(route)
            for method in (client.get, client.post):
                response = method(path)
                tried += 1
                assert _closed(response), f"{urlconf} {name} {path}: {response.status_code}"
    print(f"doors tried anonymously: {tried}")
    assert tried > 100


def test_firm_b_admin_gets_nothing_from_firm_a_host(firms, db):
    """Firm B's session is unknown on firm A's host: every GET door redirects to login or 401."""
    from apps.access.roles import Role
    from tests.conftest import login_client

    client = login_client(firms["b"], Role.FIRM_ADMIN)
    client.defaults["HTTP_HOST"] = firms["a"].host
    tried = 0
    for route, name in _patterns(get_resolver("config.urls_tenants")):
        if name in OPEN["config.urls_tenants"] or "(?P<" in route:
            continue
        response = client.get(_concrete(route))
        tried += 1
        assert _closed(response), f"{name}: {response.status_code}"
    print(f"doors tried with firm B's session on firm A's host: {tried}")
