"""TOTP (django-otp): enrolment, then the code on every door; required of privileged users by a
setting. Codes are real: computed from the device's key as an authenticator app does."""

from datetime import timedelta
from typing import Any

import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from apps.access.models import AuditEvent
from apps.access.roles import Role
from tests.conftest import PASSWORD, login_client

ADMIN = "firm_admin@firm-a.test"


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _wrong(device: TOTPDevice) -> str:
    return f"{(int(_code(device)) + 1) % 1_000_000:06d}"


def _enrol(client: Client, path: str) -> TOTPDevice:
    page = client.get(path)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    assert device.config_url in page.content.decode().replace("&amp;", "&")
    assert client.post(path, {"code": _code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert "otpauth://" not in client.get(path).content.decode()  # the secret is not shown again
    return device


def _sign_in(host: str, path: str, code: str | None, password: str = PASSWORD) -> Any:
    data = {"username": ADMIN, "password": password}
    if code is not None:
        data["otp_token"] = code
    return Client(HTTP_HOST=host).post(path, data)


def test_after_enrolment_every_door_asks_for_the_code(firm_a):
    device = _enrol(login_client(firm_a, Role.FIRM_ADMIN), "/totp/")
    assert AuditEvent.objects.filter(action="totp.enrol").exists()
    host = firm_a.host
    start = timezone.now()
    for step, path in enumerate(("/login/", "/admin/login/"), start=1):
        with time_machine.travel(start + timedelta(seconds=31 * step)):
            without = _sign_in(host, path, None)
            assert without.status_code == 200
            assert "authenticator code is missing or wrong" in without.content.decode()
            assert (
                _sign_in(host, path, "123456" if _code(device) != "123456" else "1").status_code
                == 200
            )
        with time_machine.travel(start + timedelta(seconds=31 * step + 5)):
            assert _sign_in(host, path, _code(device)).status_code == 302
    cache.clear()  # four wrong tries so far: a fifth (below) would lock the account out
    token = APIClient(HTTP_HOST=host)
    with time_machine.travel(start + timedelta(seconds=31 * 4)):
        refused = token.post("/api/v1/auth/token/", {"username": ADMIN, "password": PASSWORD})
        assert refused.status_code == 400
        assert refused.json()["code"] == "otp_invalid"
    with time_machine.travel(start + timedelta(seconds=31 * 4 + 5)):  # django-otp's own backoff
        given = token.post(
            "/api/v1/auth/token/",
            {"username": ADMIN, "password": PASSWORD, "otp_token": _code(device)},
        )
        assert given.status_code == 200


def test_wrong_codes_lock_out_like_wrong_passwords(firm_a):
    device = _enrol(login_client(firm_a, Role.FIRM_ADMIN), "/totp/")
    with time_machine.travel(timezone.now() + timedelta(seconds=40)):
        statuses = [_sign_in(firm_a.host, "/login/", _wrong(device)).status_code for _ in range(5)]
        assert statuses == [200] * 4 + [429]
        assert _sign_in(firm_a.host, "/login/", _code(device)).status_code == 429


def test_required_totp_sends_staff_and_firm_admins_to_enrolment_first(firm_a, settings):
    settings.PLATFORM_TOTP_REQUIRED = True
    admin = login_client(firm_a, Role.FIRM_ADMIN)
    response = admin.get("/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/totp/"
    assert login_client(firm_a, Role.VIEWER).get("/accounts/").status_code == 200  # optional
    no_token = APIClient(HTTP_HOST=firm_a.host).post(
        "/api/v1/auth/token/", {"username": ADMIN, "password": PASSWORD}
    )
    assert no_token.json()["code"] == "otp_enrolment_required"
    _enrol(admin, "/totp/")
    assert admin.get("/accounts/").status_code == 200

    with schema_context("public"):
        staff = get_user_model().objects.create_user(
            username="totp-staff", password="Totp-staff-pass-1", is_staff=True
        )
        console = Client(HTTP_HOST="localhost")
        console.force_login(staff)
        assert console.get("/staff/")["Location"] == "/staff/totp/"
        device = _enrol(console, "/staff/totp/")
        assert console.get("/staff/").status_code == 200
        login = {"username": "totp-staff", "password": "Totp-staff-pass-1"}
        later = timezone.now() + timedelta(seconds=40)
        page = Client(HTTP_HOST="localhost")
        with time_machine.travel(later):
            assert page.post("/staff/login/", login).status_code == 200
        with time_machine.travel(later + timedelta(seconds=5)):
            signed_in = page.post("/staff/login/", {**login, "otp_token": _code(device)})
            assert signed_in["Location"] == "/staff/"
