"""Suite-wide fixtures: two firms (tenants) created once per session in the test database.

Per test, the ``db`` fixture wraps everything in a transaction rolled back at the end; the firms'
schemas, created once, persist for the session (django-tenants issues #450/#664).
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from apps.access.roles import Role

ARTIFACTS_DIR = Path(
    os.environ.get("TEST_ARTIFACTS_DIR", Path(__file__).parent.parent / "artifacts")
)

PASSWORD = "Correct-Horse-42"


@dataclass
class TestFirm:
    """A firm created for the session, with one login per role."""

    firm: Any
    host: str
    users: dict[Role, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return str(self.firm.schema_name)


def _make_firm(slug: str, host: str, name: str) -> TestFirm:
    from apps.access.services import firm_user_create
    from apps.firms.models import Firm, FirmService
    from apps.firms.services import firm_create

    firm = Firm.objects.filter(slug=slug).first()
    if firm is None:
        firm = firm_create(
            name=name,
            slug=slug,
            domain=host,
            admin_email=f"firm_admin@{slug.replace('_', '-')}.test",
            admin_password=PASSWORD,
            service=FirmService.SUB_ADVISORY,
        ).firm
    test_firm = TestFirm(firm=firm, host=host)
    with schema_context(firm.schema_name):
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        for role in (Role.VIEWER, Role.ADVISOR, Role.TRADER, Role.FIRM_ADMIN):
            email = f"{role.value}@{slug.replace('_', '-')}.test"
            user = user_model.objects.filter(username=email).first()
            if user is None:
                user = firm_user_create(email=email, password=PASSWORD, role=role)
            test_firm.users[role] = user
    return test_firm


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker: Any) -> Iterator[None]:
    """The test database, always created (pytest-django's creates it only when a collected test
    asks for ``db``; worker and browser tests use committed data and never do).

    At the end, server and worker processes still connected to it are cut off.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
    yield
    with django_db_blocker.unblock():
        # A fresh connection: forked children (the backtest's worker pool) may have closed the
        # socket this process inherited to them.
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def firms(django_db_setup: None, django_db_blocker: Any) -> dict[str, TestFirm]:
    """Firm A and firm B, each with a firm admin, trader, advisor and viewer (committed)."""
    with django_db_blocker.unblock():
        return {
            "a": _make_firm("firm_a", "firm-a.localhost", "Firm A Wealth"),
            "b": _make_firm("firm_b", "firm-b.localhost", "Firm B Advisors"),
        }


@pytest.fixture
def firm_a(firms: dict[str, TestFirm], db: None) -> Iterator[TestFirm]:
    """Run the test inside firm A's schema (rolled back afterwards)."""
    connection.set_tenant(firms["a"].firm)
    yield firms["a"]
    connection.set_schema_to_public()


@pytest.fixture
def firm_b(firms: dict[str, TestFirm], db: None) -> TestFirm:
    """Firm B (use ``schema_context`` to act inside it)."""
    return firms["b"]


def login_client(test_firm: TestFirm, role: Role) -> Client:
    """A browser-like client on the firm's host, logged in as the firm's user of that role."""
    client = Client(HTTP_HOST=test_firm.host)
    with schema_context(test_firm.schema):
        client.force_login(test_firm.users[role])
    return client


def api_client(test_firm: TestFirm, role: Role) -> APIClient:
    """A DRF client on the firm's host authenticated with a new API token of the user."""
    client = APIClient(HTTP_HOST=test_firm.host)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(test_firm, role)}")
    return client


def api_token_key(test_firm: TestFirm, role: Role) -> str:
    """The key of a new API token of the firm's user of that role (issued by the service)."""
    from apps.access.services import api_token_create

    user = test_firm.users[role]
    with schema_context(test_firm.schema):
        _, key = api_token_create(user=user, name="tests", acting_user=user)
    return key


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache (sign-in throttling counts live there)."""
    from django.core.cache import cache

    cache.clear()
