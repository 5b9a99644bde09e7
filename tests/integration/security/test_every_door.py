"""Every door, adversarially: every URL pattern of both URLconfs (from the resolver) and every
operation of the OpenAPI schema (generated in-process), with firm A's real ids substituted.

Anonymous visitors, firm B's users of every role (sessions) and their API tokens, and platform
staff (without an entry, and after the audited entry into firm B) try each door on firm A's host
and on firm B's host. None gets firm A's data, none changes firm A's tables, none gets a 500.
"""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import schema_context

from apps.access.roles import Role
from tests.conftest import api_client, login_client
from tests.integration.security.conftest import schema_fingerprint
from tests.integration.security.doors import (
    ID_FLOOR,
    TRIED,
    Door,
    Seed,
    api_operations,
    doors,
    firm_object_routes,
    url_patterns,
)

TENANTS = "config.urls_tenants"
PUBLIC = "config.urls_public"
FIRM_ROLES = (Role.VIEWER, Role.ADVISOR, Role.TRADER, Role.FIRM_ADMIN)
# Doors open on purpose: sign-in pages, the token endpoint, the platform's home and health
# check, and the firm-host sub-advisory entry (it refuses without a valid token).
OPEN = {
    "login", "api-token", "sub-advisory-enter", "firm_admin:login",
    "firm_admin:logout", "logout", "public-home", "health", "staff-login", "public_admin:login",
    "public_admin:logout",
}  # fmt: skip
REFUSED = {401, 403, 404, 405}
# Django's admin "view on site" shortcut answers 404 for an object without get_absolute_url;
# no registered model has one (asserted), so the control cannot prove ids through it.
NO_CONTROL = {"firm_admin:view_on_site", "public_admin:view_on_site"}


@dataclass
class Identity:
    """Someone knocking: ``make`` gives a fresh client (a logout door ends a session)."""

    name: str
    make: Callable[[], Client]
    api_only: bool = False  # a token: only API doors read it


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _to_login(response: Any) -> bool:
    return response.status_code == 302 and "login" in response["Location"]


def _verdict(door: Door, response: Any, *, on_b_host: bool) -> str | None:
    """Why this response to a stranger is wrong, or None.

    On firm A's host a stranger is refused (login, 401/403/404/405). On firm B's host a door
    naming a firm A object is not found or refused; a 400 is allowed only when the ids are in
    the body (validation rejects unknown ids), a redirect only to a login or within the admin
    (Django's admin answers a missing object with a redirect to its index).
    """
    status = response.status_code
    if status >= 500:
        return f"{status}"
    if door.name in OPEN:
        return None
    if not on_b_host:
        if _to_login(response) or status in REFUSED:
            return None
        return f"{status} on firm A's host"
    if not door.names_firm_objects:
        return None
    if status in REFUSED or _to_login(response):
        return None
    if status == 302 and door.is_admin and response["Location"].startswith("/admin/"):
        return None
    if status in (400, 409, 429) and not door.path_names_firm_objects:
        return None
    return f"{status} for firm A's object on firm B's host"


def _public_session(user: Any) -> Callable[[], Client]:
    def make() -> Client:
        client = Client()
        with schema_context("public"):
            client.force_login(user)
        return client

    return make


def _entered(firm: Any, staff: Any) -> Callable[[], Client]:
    """Platform staff entering ``firm`` the only way there is: the console's audited entry."""
    from apps.access.models import AuditEvent
    from apps.firms.models import StaffEntry

    def make() -> Client:
        console = _public_session(staff)()
        sent = console.post(
            f"/staff/firms/{firm.pk}/enter/", {"reason": "every door"}, HTTP_HOST="localhost"
        )
        link = urlsplit(
            html.unescape(re.search(r'id="enter-link" href="([^"]+)"', sent.content.decode())[1])
        )
        client = Client(HTTP_HOST=link.hostname)
        assert client.get(f"{link.path}?{link.query}").status_code == 302
        with schema_context("public"):
            entry = StaffEntry.objects.filter(firm=firm, staff_user=staff).latest("pk")
        with schema_context(firm.schema_name):
            assert AuditEvent.objects.filter(
                action="platform_staff.enter", payload__entry_id=entry.pk
            ).exists()
        return client

    return make


def _strangers(firms: Any, staff: Any) -> list[Identity]:
    def session(role: Role) -> Callable[[], Client]:
        return lambda: login_client(firms["b"], role)

    def token(role: Role) -> Callable[[], Client]:
        return lambda: api_client(firms["b"], role)

    return [
        Identity("anonymous", Client),
        *(Identity(f"firm B {role.value} session", session(role)) for role in FIRM_ROLES),
        *(Identity(f"firm B {role.value} token", token(role), True) for role in FIRM_ROLES),
        Identity("platform staff, public session", _public_session(staff)),
        Identity("platform staff entered firm B", _entered(firms["b"].firm, staff)),
    ]


def test_firm_a_ids_are_real_for_firm_a(seed: Seed, firms: Any) -> None:
    """The control: firm A's admin reaches every door naming firm A's objects (no 404), so a
    404 anywhere else is the isolation working, not a wrong id."""
    from apps.access.admin_sites import firm_admin_site, public_admin_site

    for site in (firm_admin_site, public_admin_site):
        assert not any(hasattr(model, "get_absolute_url") for model in site._registry)
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    client.raise_request_exception = False
    tried, wrong = 0, []
    for door in doors(TENANTS, seed, with_api=True):
        if door.method != "get" or not door.names_firm_objects or door.name in NO_CONTROL:
            continue
        response = door.send(client, firms["a"].host)
        tried += 1
        if response.status_code == 404 or response.status_code >= 500:
            wrong.append(f"{door.name} {door.path}: {response.status_code}")
    TRIED["firm A admin, control"] += tried
    print(f"doors naming firm A's objects, tried by firm A's admin: {tried}")
    assert wrong == []
    assert tried >= len(firm_object_routes(TENANTS)) - len(NO_CONTROL)


def test_firm_b_and_strangers_get_nothing_of_firm_a(seed: Seed, firms: Any, staff: Any) -> None:
    all_doors = doors(TENANTS, seed, with_api=True)
    operations = api_operations(TENANTS)
    patterns = url_patterns(TENANTS)
    assert len(all_doors) >= 2 * len(patterns)
    # Each pattern GET and POST, plus each API operation with another method (PUT, PATCH, …).
    other_methods = sum(1 for _, method, _, _ in operations if method not in ("get", "post"))
    assert len(all_doors) >= 2 * len(patterns) + other_methods
    identities = _strangers(firms, staff)
    before = schema_fingerprint(firms["a"].schema)
    failures, tried = [], 0
    for identity in identities:
        mine = [d for d in all_doors if d.is_api or not identity.api_only]
        for host, on_b_host in ((firms["a"].host, False), (firms["b"].host, True)):
            client = identity.make()
            for door in mine:
                response = door.send(client, host)
                tried += 1
                TRIED[f"{identity.name} on firm {'B' if on_b_host else 'A'}'s host"] += 1
                wrong = _verdict(door, response, on_b_host=on_b_host)
                # Firm A's own host may name firm A (its sign-in page); firm B's never does.
                extra = ("Firm A Wealth",) if on_b_host else ()
                leaks = seed.leaks(_body(response), door, extra_markers=extra)
                if wrong or leaks:
                    failures.append(
                        f"{identity.name} @ {host} {door.method.upper()} {door.path} "
                        f"({door.name}): {wrong or response.status_code} {leaks or ''}"
                    )
    after = schema_fingerprint(firms["a"].schema)
    changed = sorted(t for t in before if before[t] != after.get(t))
    print(f"doors: {len(all_doors)} ({len(patterns)} URL patterns, {len(operations)} API ops)")
    print(f"requests by strangers: {tried}")
    assert failures == [], "\n".join(failures)
    assert changed == [], f"firm A's tables changed: {changed}"
    pages = sum(1 for d in all_doors if not d.is_api)
    assert tried == 2 * (
        len(all_doors) * (len(identities) - len(FIRM_ROLES))
        + (len(all_doors) - pages) * len(FIRM_ROLES)
    )


def test_public_host_doors_are_for_platform_staff_only(
    public_seed: Seed, firms: Any, staff: Any
) -> None:
    all_doors = doors(PUBLIC, public_seed, with_api=False)
    plain = get_user_model().objects.create_user(username="door-plain", password="Plain-pass-12")
    strangers = [
        Identity("anonymous", Client),
        Identity("public non-staff user", _public_session(plain)),
        *(
            Identity(
                f"firm {key} admin session",
                lambda key=key: login_client(firms[key], Role.FIRM_ADMIN),
            )
            for key in ("a", "b")
        ),
    ]
    failures, tried = [], 0
    for identity in strangers:
        client = identity.make()
        for door in all_doors:
            response = door.send(client, "localhost")
            tried += 1
            TRIED[f"{identity.name} on the public host"] += 1
            wrong = _verdict(door, response, on_b_host=False)
            leaks = public_seed.leaks(_body(response), door, extra_markers=("Firm A Wealth",))
            if wrong or leaks:
                failures.append(
                    f"{identity.name} {door.method.upper()} {door.path}: {wrong} {leaks}"
                )
    staff_client = _public_session(staff)()
    controls = [
        d
        for d in all_doors
        if d.method == "get" and d.names_firm_objects and d.name not in NO_CONTROL
    ]
    for door in controls:
        response = door.send(staff_client, "localhost")
        TRIED["platform staff on the public host, control"] += 1
        if response.status_code == 404 or response.status_code >= 500:
            failures.append(f"staff GET {door.path}: {response.status_code}")
    print(f"public doors: {len(all_doors)}; stranger requests: {tried}; staff: {len(controls)}")
    assert failures == [], "\n".join(failures)
    assert tried == len(all_doors) * len(strangers)
    assert len(controls) >= len(firm_object_routes(PUBLIC)) - len(NO_CONTROL)


def test_stored_files_carry_the_schema_and_are_served_by_id_only(seed: Seed, firms: Any) -> None:
    """Every file firm A stored lives under MEDIA_ROOT/<firm A's schema>/, is absent from firm
    B's storage, and no path under /media/ (or the storage name itself) serves it on any host."""
    clients = {
        "firm A admin": login_client(firms["a"], Role.FIRM_ADMIN),
        "firm B admin": login_client(firms["b"], Role.FIRM_ADMIN),
    }
    with schema_context(firms["b"].schema):
        firm_b_root = Path(default_storage.location)
    firm_a_root = Path(default_storage.location)
    assert firm_a_root.name == firms["a"].schema
    assert firm_b_root == firm_a_root.parent / firms["b"].schema
    tried = 0
    for what, name in seed.files.items():
        with schema_context(firms["a"].schema):
            stored = Path(default_storage.path(name))
        assert stored == firm_a_root / name, what
        content = stored.read_bytes()
        with schema_context(firms["b"].schema):
            assert not default_storage.exists(name), f"{what} visible in firm B's storage"
        for path in (
            f"/{settings.MEDIA_URL}{firms['a'].schema}/{name}",
            f"/{settings.MEDIA_URL}{name}",
            f"/{name}",
        ):
            for who, client in clients.items():
                for host in (firms["a"].host, firms["b"].host, "localhost"):
                    response = client.get(path, HTTP_HOST=host)
                    tried += 1
                    assert response.status_code in (302, 404), f"{who} {host}{path}"
                    assert content[:64] not in _body(response), f"{who} {host}{path}"
    TRIED["stored files by path"] += tried
    print(f"file paths tried: {tried}")
    assert tried == len(seed.files) * 3 * len(clients) * 3


def test_firm_admin_user_delete_never_reaches_public_rows(firms: Any, db: None) -> None:
    """A firm's login and a platform staff login with the same id: the firm admin's delete page
    must not follow the staff login's public rows (its entries into firms) by that id."""
    from apps.firms.models import StaffEntry

    twin_id = ID_FLOOR - 1  # explicit on both sides; sequences never reach it
    with schema_context("public"):
        staff_twin = get_user_model().objects.create_user(
            id=twin_id, username="twin-staff", password="Twin-pass-1234", is_staff=True
        )
        StaffEntry.objects.create(
            firm=firms["b"].firm, staff_user=staff_twin, staff_username="twin-staff", reason="x"
        )
    with schema_context(firms["a"].schema):
        get_user_model().objects.create_user(id=twin_id, username="twin@firm-a.test")
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    for path in (f"/admin/auth/user/{twin_id}/delete/", "/admin/auth/user/"):
        response = client.get(path)
        TRIED["firm A admin, user delete across schemas"] += 1
        assert "twin-staff" not in response.content.decode(), path
    assert client.get(f"/admin/auth/user/{twin_id}/delete/").status_code == 403
    response = client.post(
        "/admin/auth/user/", {"action": "delete_selected", "_selected_action": [twin_id]}
    )
    assert "twin-staff" not in response.content.decode()
    with schema_context(firms["a"].schema):
        assert get_user_model().objects.filter(id=twin_id).exists()
