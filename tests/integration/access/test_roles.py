"""The permission table drives every door: a test per (role, page) generated from the table."""

import pytest

from apps.access.permissions import PERMISSIONS, Action, require_action, user_can
from apps.access.roles import Role
from apps.common.exceptions import PermissionDeniedError
from tests.conftest import api_client, login_client

PAGES = {
    "/": Action.VIEW_BOOK,
    "/users/": Action.MANAGE_USERS,
    "/audit/": Action.VIEW_AUDIT,
}
API = {"/api/v1/me/": Action.VIEW_BOOK, "/api/v1/users/": Action.MANAGE_USERS}
FIRM_ROLES = (Role.VIEWER, Role.ADVISOR, Role.TRADER, Role.FIRM_ADMIN)


def test_every_role_has_an_entry_and_admin_has_everything():
    assert set(PERMISSIONS) == set(Role)
    assert PERMISSIONS[Role.FIRM_ADMIN] == frozenset(Action)
    assert Action.APPROVE_TRADES not in PERMISSIONS[Role.VIEWER]
    assert Action.MANAGE_USERS not in PERMISSIONS[Role.PLATFORM_STAFF]


@pytest.mark.parametrize("role", FIRM_ROLES)
@pytest.mark.parametrize(("path", "action"), PAGES.items())
def test_pages_follow_the_table(firms, db, role, path, action):
    response = login_client(firms["a"], role).get(path)
    expected = 200 if action in PERMISSIONS[role] else 403
    assert response.status_code == expected


@pytest.mark.parametrize("role", FIRM_ROLES)
@pytest.mark.parametrize(("path", "action"), API.items())
def test_api_follows_the_table(firms, db, role, path, action):
    response = api_client(firms["a"], role).get(path)
    expected = 200 if action in PERMISSIONS[role] else 403
    assert response.status_code == expected


@pytest.mark.parametrize("role", FIRM_ROLES)
def test_admin_site_only_for_roles_with_admin_action(firms, db, role):
    response = login_client(firms["a"], role).get("/admin/")
    allowed = Action.ADMIN_SITE in PERMISSIONS[role]
    assert response.status_code == (200 if allowed else 302)


def test_user_without_membership_can_do_nothing(firm_a):
    from django.contrib.auth import get_user_model

    stray = get_user_model().objects.create_user(username="stray", password="x")
    assert not any(user_can(stray, action) for action in Action)
    with pytest.raises(PermissionDeniedError):
        require_action(stray, Action.VIEW_BOOK)


def test_me_reports_role_and_actions(firms, db):
    body = api_client(firms["a"], Role.TRADER).get("/api/v1/me/").json()
    assert body["role"] == "trader"
    assert body["firm"] == "firm_a"
    assert "approve_trades" in body["actions"]
    assert "manage_users" not in body["actions"]


def test_token_login_on_firm_host(firms, db):
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD

    client = APIClient(HTTP_HOST=firms["a"].host)
    ok = client.post(
        "/api/v1/auth/token/", {"username": "viewer@firm-a.test", "password": PASSWORD}
    )
    assert ok.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert client.get("/api/v1/me/").json()["role"] == "viewer"
    wrong = APIClient(HTTP_HOST=firms["a"].host).post(
        "/api/v1/auth/token/", {"username": "viewer@firm-b.test", "password": PASSWORD}
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "bad_credentials"


def test_firm_admin_adds_user_and_changes_role_with_audit(firm_a):
    from apps.access.models import AuditEvent

    client = login_client(firm_a, Role.FIRM_ADMIN)
    response = client.post(
        "/users/",
        {"email": "new.advisor@firm-a.test", "password": "Long-enough-pw-9", "role": "advisor"},
    )
    assert response.status_code == 302
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="new.advisor@firm-a.test")
    assert user.membership.role == "advisor"
    client.post(f"/users/{user.pk}/role/", {"role": "trader"})
    user.membership.refresh_from_db()
    assert user.membership.role == "trader"
    event = AuditEvent.objects.get(action="user.set_role", object_id=str(user.pk))
    assert event.payload == {"before": "advisor", "after": "trader"}
    assert event.acting_username == "firm_admin@firm-a.test"


def test_firm_admin_cannot_create_platform_staff(firm_a):
    client = login_client(firm_a, Role.FIRM_ADMIN)
    response = client.post(
        "/users/",
        {
            "email": "fake.staff@firm-a.test",
            "password": "Long-enough-pw-9",
            "role": "platform_staff",
        },
    )
    assert response.status_code == 200
    assert "platform_staff is not one of the available choices" in response.content.decode()
