"""The password policy holds wherever a password is set, and no password travels in a cookie."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from apps.access.roles import Role
from apps.common.exceptions import ApplicationError
from apps.firms.models import Firm
from tests.conftest import login_client


def test_firm_create_command_refuses_a_weak_admin_password_and_makes_nothing(firms, db):
    with pytest.raises(CommandError, match="password refused"):
        call_command(
            "firm_create",
            "--name",
            "Weak Co",
            "--slug",
            "weak_co",
            "--admin-email",
            "a@weak.test",
            "--admin-password",
            "a",
        )
    assert not Firm.objects.filter(slug="weak_co").exists()
    assert not schema_exists("weak_co")


@pytest.mark.parametrize("password", ["a", "password123", "12345678901", "a@firm-a.test1"])
def test_the_one_service_that_sets_passwords_applies_the_policy(firm_a, password):
    from apps.access.services import firm_user_create

    with pytest.raises(ApplicationError, match="password refused"):
        firm_user_create(email="a@firm-a.test", password=password, role=Role.VIEWER)
    assert not get_user_model().objects.filter(username="a@firm-a.test").exists()


def test_the_firm_admin_site_refuses_a_weak_password(firm_a):
    admin = login_client(firm_a, Role.FIRM_ADMIN)
    response = admin.post(
        "/admin/auth/user/add/",
        {"username": "weak@firm-a.test", "password1": "a", "password2": "a"},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not get_user_model().objects.filter(username="weak@firm-a.test").exists()


def test_the_staff_console_shows_a_new_admins_password_once_and_never_in_a_cookie(firms, db):
    staff = get_user_model().objects.create_user(
        username="ops", password="Ops-pass-12345", is_staff=True
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    response = client.post(
        "/staff/",
        {
            "name": "Console Co",
            "slug": "console_co",
            "admin_email": "boss@console.test",
            "kind": "ria",
            "service": "software",
            "timezone": "America/New_York",
        },
    )
    assert response.status_code == 302
    page = client.get("/staff/").content.decode()
    password = page.split("password <code>", 1)[1].split("</code>", 1)[0]
    with schema_context("console_co"):
        assert get_user_model().objects.get(username="boss@console.test").check_password(password)
    for cookie in (*response.cookies.values(), *client.cookies.values()):
        assert password not in cookie.value
    assert password not in client.get("/staff/").content.decode()  # shown once


def test_staff_sign_in_without_next_goes_to_the_console(firms, db):
    get_user_model().objects.create_user(username="ops", password="Ops-pass-12345", is_staff=True)
    response = Client(HTTP_HOST="localhost").post(
        "/staff/login/", {"username": "ops", "password": "Ops-pass-12345"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


def test_demo_seed_is_refused_where_production_settings_refuse_it(firms, db, settings):
    settings.DEMO_SEED_ALLOWED = False
    with pytest.raises(CommandError, match="refused under production settings"):
        call_command("demo_seed", "--skip-reference-data")
    assert not get_user_model().objects.filter(username="staff").exists()
    assert not Firm.objects.filter(slug="demo").exists()
