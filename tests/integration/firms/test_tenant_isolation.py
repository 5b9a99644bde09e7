"""Firm B can never read firm A's data: pages, API, admin, hosts, and the schemas themselves."""

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from apps.access.roles import Role
from tests.conftest import PASSWORD, api_client, login_client

TENANT_TABLES = ("access_membership", "access_auditevent", "authtoken_token")


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


def test_firm_b_token_is_refused_on_firm_a_host(firms, db):
    b_admin = api_client(firms["b"], Role.FIRM_ADMIN)
    a_user_id = firms["a"].users[Role.VIEWER].pk
    b_admin.defaults["HTTP_HOST"] = firms["a"].host
    assert b_admin.get("/api/v1/me/").status_code == 401
    assert b_admin.get(f"/api/v1/users/{a_user_id}/").status_code == 401


def test_firm_a_ids_are_not_found_on_firm_b_host(firms, db):
    with schema_context(firms["a"].schema):
        from apps.access.services import firm_user_create

        only_in_a = firm_user_create(
            email="only-a@firm-a.test", password=PASSWORD, role=Role.VIEWER
        )
    b_admin = api_client(firms["b"], Role.FIRM_ADMIN)
    response = b_admin.get(f"/api/v1/users/{only_in_a.pk}/")
    assert response.status_code == 404
    listed = {u["username"] for u in b_admin.get("/api/v1/users/").json()["results"]}
    assert "only-a@firm-a.test" not in listed
    assert all(name.endswith("@firm-b.test") for name in listed)


def test_firm_b_user_cannot_log_in_on_firm_a_host(firms, db):
    client = Client(HTTP_HOST=firms["a"].host)
    response = client.post("/login/", {"username": "firm_admin@firm-b.test", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert "didn't match" in response.content.decode()
    assert client.get("/").status_code == 302


def test_firm_b_session_does_not_open_firm_a_pages_or_admin(firms, db):
    client = login_client(firms["b"], Role.FIRM_ADMIN)
    client.defaults["HTTP_HOST"] = firms["a"].host  # same cookie jar, other firm's host
    assert client.get("/").status_code == 302
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert "/admin/login/" in admin["Location"]


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


@pytest.mark.parametrize("path", ["/", "/users/", "/audit/", "/api/v1/me/", "/admin/"])
def test_anonymous_gets_login_or_401(firms, db, path):
    response = Client(HTTP_HOST=firms["a"].host).get(path)
    if path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert "login" in response["Location"]
