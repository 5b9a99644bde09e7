"""Firm B can never read firm A's data: sign-in, admin lists, hosts, and the schemas themselves.

Every door with firm A's real ids, for every stranger, is in tests/integration/security/.
"""

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from apps.access.roles import Role
from tests.conftest import PASSWORD, login_client

TENANT_TABLES = ("access_membership", "access_auditevent", "access_apitoken")


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        )
        return {row[0] for row in cursor.fetchall()}


def test_tenant_tables_are_absent_from_public(firms, db):
    public = _tables_in("public")
    assert not public & set(TENANT_TABLES)
    assert "firms_firm" in public
    firm_a = _tables_in(firms["a"].schema)
    assert set(TENANT_TABLES) <= firm_a
    assert "firms_firm" not in firm_a


def test_firm_b_user_cannot_log_in_on_firm_a_host(firms, db):
    client = Client(HTTP_HOST=firms["a"].host)
    response = client.post("/login/", {"username": "firm_admin@firm-b.test", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert "didn't match" in response.content.decode()
    assert client.get("/").status_code == 302


def test_firm_admin_site_lists_only_own_users(firms, db):
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    page = client.get("/admin/auth/user/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "viewer@firm-a.test" in html
    assert "firm-b.test" not in html


def test_unknown_host_is_404_never_a_fallback_schema(firms, db):
    assert Client(HTTP_HOST="nobody.localhost").get("/").status_code == 404
    assert APIClient(HTTP_HOST="nobody.localhost").get("/api/v1/me/").status_code == 404


def test_current_firm_in_a_schema_context_is_the_schemas_firm_and_public_is_refused(firms, db):
    """``schema_context`` carries only the schema's name: the firm is that schema's row."""
    from django_tenants.utils import schema_context

    from apps.common.exceptions import TenantContextError
    from apps.common.tenancy import current_firm, firm_today

    with schema_context("firm_b"):
        assert current_firm().pk == firms["b"].firm.pk
        assert firm_today() == firm_today(firms["b"].firm)
    with schema_context("public"), pytest.raises(TenantContextError):
        current_firm()
