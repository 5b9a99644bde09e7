"""One sign-in policy on every door: firm sign-in page, firm admin, token endpoint, staff sign-in,
platform admin. Failures count per username and per client address, on every door at once, in
the host's schema only; the address is the peer's unless trusted proxies are configured.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context

from apps.access.login import client_address
from apps.access.roles import Role
from tests.conftest import PASSWORD

FIRM_ADMIN = "firm_admin@firm-a.test"
STAFF = "policy-staff"
STAFF_PASSWORD = "Policy-staff-pass-1"


@dataclass(frozen=True)
class Door:
    """A sign-in door: where it is, and whether it answers JSON (the API) or a page."""

    name: str
    host: str
    path: str
    username: str
    password: str

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def sign_in(self, client: Client, password: str, **extra: Any) -> Any:
        data = {"username": self.username, "password": password}
        if self.is_api:
            return client.post(self.path, data, content_type="application/json", **extra)
        return client.post(self.path, data, **extra)

    def signed_in(self, response: Any) -> bool:
        """Whether the response lets the caller in (a session redirect or a token)."""
        if self.is_api:
            return response.status_code == 200 and "token" in response.json()
        return response.status_code == 302


FIRM_DOORS = (
    Door("firm sign-in page", "firm-a.localhost", "/login/", FIRM_ADMIN, PASSWORD),
    Door("firm admin", "firm-a.localhost", "/admin/login/", FIRM_ADMIN, PASSWORD),
    Door("token endpoint", "firm-a.localhost", "/api/v1/auth/token/", FIRM_ADMIN, PASSWORD),
)
PUBLIC_DOORS = (
    Door("staff sign-in page", "localhost", "/staff/login/", STAFF, STAFF_PASSWORD),
    Door("platform admin", "localhost", "/admin/login/", STAFF, STAFF_PASSWORD),
)
DOORS = FIRM_DOORS + PUBLIC_DOORS


@pytest.fixture
def staff(firms: Any, db: None) -> Any:
    """A platform superuser (public schema)."""
    with schema_context("public"):
        return get_user_model().objects.create_user(
            username=STAFF, password=STAFF_PASSWORD, is_staff=True, is_superuser=True
        )


@pytest.fixture
def redis_cache(settings: Any) -> None:
    """The lockout counted in the embedded Redis, as production counts it (a shared cache)."""
    from django.core.cache import cache

    from config import devstack

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": devstack.redis_url(db=2),
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
    cache.clear()


def _locked(door: Door, response: Any) -> bool:
    if response.status_code != 429:
        return False
    if door.is_api:
        return response.json()["code"] == "locked_out"
    return "Too many failed sign-ins" in response.content.decode()


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_twelve_wrong_passwords_then_the_right_one_is_refused_on_every_door(door, staff):
    client = Client(HTTP_HOST=door.host)
    statuses = [door.sign_in(client, "wrong-password").status_code for _ in range(12)]
    assert 429 in statuses  # locked after the fifth
    right = door.sign_in(client, door.password)
    assert _locked(door, right), right.status_code
    assert not door.signed_in(right)
    assert right["Retry-After"] == "900"


@pytest.mark.parametrize("door", FIRM_DOORS[1:], ids=lambda d: d.name)
def test_failures_on_the_sign_in_page_lock_every_door_of_the_firm(door, firms, db, redis_cache):
    page = Client(HTTP_HOST="firm-a.localhost")
    for _ in range(5):
        assert page.post("/login/", {"username": FIRM_ADMIN, "password": "nope"}).status_code in (
            200,
            429,
        )
    # Another client (another browser, a script): the same account is locked on this door too.
    response = door.sign_in(Client(HTTP_HOST=door.host, REMOTE_ADDR="192.0.2.9"), door.password)
    assert _locked(door, response)


@pytest.mark.parametrize("door", PUBLIC_DOORS, ids=lambda d: d.name)
def test_failures_on_one_public_door_lock_the_other(door, staff):
    other = PUBLIC_DOORS[1] if door is PUBLIC_DOORS[0] else PUBLIC_DOORS[0]
    client = Client(HTTP_HOST="localhost")
    for _ in range(5):
        door.sign_in(client, "nope")
    assert _locked(other, other.sign_in(Client(HTTP_HOST="localhost"), other.password))


def test_a_rotating_forwarded_for_header_changes_nothing(firms, db):
    """The finding: 60 wrong passwords with a rotating X-Forwarded-For, no 429, then 200."""
    door = FIRM_DOORS[2]
    client = Client(HTTP_HOST=door.host)
    statuses = [
        door.sign_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
        for i in range(60)
    ]
    assert statuses[:4] == [400] * 4  # the fifth failure locks
    assert set(statuses[4:]) == {429}
    right = door.sign_in(client, door.password, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert _locked(door, right)


def test_one_address_guessing_many_usernames_is_locked_out(firms, db):
    """Per address: five usernames tried once each lock the address for every username."""
    client = Client(HTTP_HOST="firm-a.localhost", REMOTE_ADDR="192.0.2.50")
    for i in range(5):
        client.post("/login/", {"username": f"nobody{i}@firm-a.test", "password": "x"})
    right = client.post("/login/", {"username": "viewer@firm-a.test", "password": PASSWORD})
    assert right.status_code == 429
    # The same account from another address is not locked (only one failure named it: none).
    elsewhere = Client(HTTP_HOST="firm-a.localhost", REMOTE_ADDR="192.0.2.51")
    assert (
        elsewhere.post("/login/", {"username": "viewer@firm-a.test", "password": PASSWORD})
    ).status_code == 302


def test_firm_b_failures_never_lock_firm_a_users_of_the_same_name(firm_a, firm_b):
    from apps.access.services import firm_user_create

    same = "same.name@both.test"
    firm_user_create(email=same, password=PASSWORD, role=Role.VIEWER)
    with schema_context(firm_b.schema):
        firm_user_create(email=same, password=PASSWORD, role=Role.VIEWER)
    on_b = Client(HTTP_HOST=firm_b.host)
    for _ in range(6):
        on_b.post("/login/", {"username": same, "password": "wrong"})
    assert on_b.post("/login/", {"username": same, "password": PASSWORD}).status_code == 429
    on_a = Client(HTTP_HOST=firm_a.host)  # the same address, the same username, firm A
    assert on_a.post("/login/", {"username": same, "password": PASSWORD}).status_code == 302


def test_the_address_is_the_peer_unless_proxies_are_trusted(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )
    settings.PLATFORM_TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.1"
    settings.PLATFORM_TRUSTED_PROXY_COUNT = 1  # our proxy appended the client it saw
    assert client_address(request) == "198.51.100.7"
    settings.PLATFORM_TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"
    settings.PLATFORM_TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: not through them
    assert client_address(request) == "10.0.0.1"


def test_behind_a_trusted_proxy_each_client_is_counted_apart(firms, db, settings):
    settings.PLATFORM_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for i in range(5):
        Client(HTTP_HOST="firm-a.localhost", **proxy).post(
            "/login/",
            {"username": f"nobody{i}@firm-a.test", "password": "x"},
            HTTP_X_FORWARDED_FOR="forged, 198.51.100.7",
        )
    guessing = Client(HTTP_HOST="firm-a.localhost", **proxy)
    login = {"username": "viewer@firm-a.test", "password": PASSWORD}
    assert guessing.post("/login/", login, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    other = Client(HTTP_HOST="firm-a.localhost", **proxy)
    assert other.post("/login/", login, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302
