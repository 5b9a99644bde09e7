"""API tokens: named, stored as a hash, shown once, expiring, revocable, ended by a password
change (by any path) or a deactivation."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.models import ApiToken, ApiTokenRevokeReason, AuditEvent
from apps.access.roles import Role
from apps.common.exceptions import ApplicationError, PermissionDeniedError
from tests.conftest import PASSWORD, login_client

NEW_PASSWORD = "Another-horse-77"


def _issue(host: str, username: str, **extra: Any) -> Any:
    return APIClient(HTTP_HOST=host).post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json"
    )


def _me(host: str, key: str) -> int:
    client = APIClient(HTTP_HOST=host)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/me/").status_code


def test_a_token_is_named_kept_as_a_hash_and_shown_once(firm_a):
    response = _issue(firm_a.host, "trader@firm-a.test", name="nightly export")
    assert response.status_code == 200
    body = response.json()
    key = body["token"]
    assert body["name"] == "nightly export"
    assert _me(firm_a.host, key) == 200
    row = ApiToken.objects.get(pk=body["id"])
    stored = [str(getattr(row, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert key not in stored  # only its sha256 and first 8 characters are kept
    assert row.key_prefix == key[:8]
    assert abs(row.expires_at - row.created_at - timedelta(days=30)) < timedelta(seconds=1)
    listed = APIClient(HTTP_HOST=firm_a.host)
    listed.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    tokens = listed.get("/api/v1/auth/tokens/").json()["results"]
    assert [t["name"] for t in tokens] == ["nightly export"]
    assert key not in str(tokens)
    assert AuditEvent.objects.filter(action="api_token.create", object_id=str(row.pk)).exists()


def test_a_token_expires(firm_a):
    key = _issue(firm_a.host, "viewer@firm-a.test", lifetime_days=2).json()["token"]
    with time_machine.travel(timezone.now() + timedelta(days=1, hours=23)):
        assert _me(firm_a.host, key) == 200
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert _me(firm_a.host, key) == 401
    # The default lifetime ends too (the old tokens never did).
    default = _issue(firm_a.host, "viewer@firm-a.test").json()["token"]
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        assert _me(firm_a.host, default) == 401


def test_a_lifetime_beyond_the_maximum_is_refused(firm_a):
    response = _issue(firm_a.host, "viewer@firm-a.test", lifetime_days=366)
    assert response.status_code == 400
    assert "1 to 365 days" in response.json()["message"]


def test_a_user_revokes_own_token_through_the_api_not_anothers(firm_a):
    mine = _issue(firm_a.host, "advisor@firm-a.test", name="mine").json()
    theirs = _issue(firm_a.host, "trader@firm-a.test", name="theirs").json()
    client = APIClient(HTTP_HOST=firm_a.host)
    client.credentials(HTTP_AUTHORIZATION=f"Token {mine['token']}")
    assert client.post(f"/api/v1/auth/tokens/{theirs['id']}/revoke/").status_code == 404
    assert _me(firm_a.host, theirs["token"]) == 200
    spare = _issue(firm_a.host, "advisor@firm-a.test", name="spare").json()
    revoked = client.post(f"/api/v1/auth/tokens/{spare['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_reason"] == "by_user"
    assert _me(firm_a.host, spare["token"]) == 401
    assert _me(firm_a.host, mine["token"]) == 200


def test_the_tokens_page_shows_a_new_key_once_and_revokes(firm_a):
    client = login_client(firm_a, Role.VIEWER)
    created = client.post("/tokens/", {"name": "spreadsheet"})
    assert created.status_code == 302
    assert not any("spreadsheet" in str(c.value) for c in created.cookies.values())
    page = client.get("/tokens/").content.decode()
    token = ApiToken.objects.get(name="spreadsheet")
    key = page.split("<code>", 1)[1].split("</code>", 1)[0]
    assert key.startswith(token.key_prefix)
    assert _me(firm_a.host, key) == 200
    again = client.get("/tokens/").content.decode()
    assert key not in again  # shown once
    assert "spreadsheet" in again
    client.post(f"/tokens/{token.pk}/revoke/")
    assert _me(firm_a.host, key) == 401


def _set_password_and_save(user: Any) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def _password_reset_form(user: Any) -> None:
    form = SetPasswordForm(user, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert form.is_valid(), form.errors
    form.save()


def _firm_admin_site(user: Any, firm_a: Any) -> None:
    admin = login_client(firm_a, Role.FIRM_ADMIN)
    response = admin.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def _update_without_save(user: Any) -> None:
    from django.contrib.auth.hashers import make_password

    get_user_model().objects.filter(pk=user.pk).update(password=make_password(NEW_PASSWORD))


@pytest.mark.parametrize(
    ("change", "recorded"),
    [
        (lambda user, firm: _set_password_and_save(user), True),
        (lambda user, firm: _password_reset_form(user), True),
        (_firm_admin_site, True),
        (lambda user, firm: _update_without_save(user), False),
    ],
    ids=["set_password+save", "password reset form", "firm admin site", "queryset update"],
)
def test_a_password_change_by_any_path_ends_the_users_tokens(firm_a, change, recorded):
    user = firm_a.users[Role.TRADER]
    key = _issue(firm_a.host, user.username).json()["token"]
    assert _me(firm_a.host, key) == 200
    change(get_user_model().objects.get(pk=user.pk), firm_a)
    assert _me(firm_a.host, key) == 401
    token = ApiToken.objects.get(user=user)
    if recorded:  # a save() was seen: the token is marked, and the revocation audited
        assert token.revoked_reason == ApiTokenRevokeReason.PASSWORD_CHANGED
        assert AuditEvent.objects.filter(action="api_token.revoke_all").exists()


def test_deactivation_ends_tokens_and_reactivation_does_not_revive_them(firm_a):
    user = get_user_model().objects.get(pk=firm_a.users[Role.ADVISOR].pk)
    key = _issue(firm_a.host, user.username).json()["token"]
    user.is_active = False
    user.save()
    assert _me(firm_a.host, key) == 401
    user.is_active = True
    user.save()
    assert _me(firm_a.host, key) == 401
    assert ApiToken.objects.get(user=user).revoked_reason == ApiTokenRevokeReason.DEACTIVATED


def test_logout_ends_the_session_a_named_token_lives_on(firm_a):
    client = Client(HTTP_HOST=firm_a.host)
    assert client.post("/login/", {"username": "viewer@firm-a.test", "password": PASSWORD})[
        "Location"
    ].endswith("/")
    key = _issue(firm_a.host, "viewer@firm-a.test", name="integration").json()["token"]
    client.post("/logout/")
    assert client.get("/").status_code == 302  # the session is gone
    assert _me(firm_a.host, key) == 200  # the named token is revoked on its own page or API


def test_platform_staff_hold_no_tokens(firm_a):
    from apps.access.services import api_token_create, platform_staff_user_get_or_create

    staff = platform_staff_user_get_or_create(staff_username="ops", entry_id=None)
    with pytest.raises(PermissionDeniedError):
        api_token_create(user=staff, name="keep", acting_user=staff)
    with pytest.raises(ApplicationError):
        api_token_create(
            user=firm_a.users[Role.VIEWER], name="x", lifetime_days=0, acting_user=None
        )
