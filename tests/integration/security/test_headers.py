"""Security headers: CSP and Permissions-Policy everywhere, no-store on every authenticated answer,
and static files keep their caching (apps/common/headers.py)."""

from typing import Any

import pytest
from django.test import Client

from apps.access.roles import Role
from apps.accounts.models import Account, Household
from apps.common.headers import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY
from tests.conftest import api_client, login_client


def _assert_policies(response: Any, *, no_store: bool) -> None:
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert "camera=()" in PERMISSIONS_POLICY
    assert (response.get("Cache-Control") == "no-store") is no_store


@pytest.fixture
def account(firm_a: Any) -> Account:
    household = Household.objects.create(external_id="HDR-1", name="Headers household")
    return Account.objects.create(
        household=household, custodian="schwab", number="HDR-1", name="H", registration="taxable"
    )


def test_pages_api_and_downloads_are_never_cached_when_signed_in(firms: Any, account: Account):
    page = login_client(firms["a"], Role.FIRM_ADMIN)
    _assert_policies(page.get("/"), no_store=True)
    _assert_policies(page.get("/admin/"), no_store=True)
    api = api_client(firms["a"], Role.FIRM_ADMIN)
    _assert_policies(api.get("/api/v1/me/"), no_store=True)
    download = api.get(f"/api/v1/accounts/{account.pk}/form8949/?year=2024")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    _assert_policies(download, no_store=True)
    docs = page.get("/api/v1/docs/")
    assert docs.status_code == 200
    _assert_policies(docs, no_store=True)
    html = docs.content.decode()
    assert "cdn.jsdelivr.net" not in html
    assert "<style" not in html
    assert "<script>" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = page.get("/api/v1/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")


def test_anonymous_answers_carry_the_policies_and_may_be_cached(firms: Any, db: None):
    login = Client(HTTP_HOST="firm-a.localhost").get("/login/")
    assert login.status_code == 200
    _assert_policies(login, no_store=False)
    public = Client(HTTP_HOST="localhost").get("/")
    _assert_policies(public, no_store=False)


@pytest.mark.parametrize("signed_in", [False, True])
def test_static_files_keep_their_caching(firms: Any, db: None, settings: Any, signed_in: bool):
    from config.settings import base

    # The deployed middleware (test settings drop WhiteNoise); files from the finders here, as
    # from STATIC_ROOT after collectstatic.
    settings.MIDDLEWARE = base.MIDDLEWARE
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = login_client(firms["a"], Role.VIEWER) if signed_in else Client(HTTP_HOST="localhost")
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "max-age" in response["Cache-Control"]
    assert "Content-Security-Policy" not in response
    sidecar = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert sidecar.status_code == 200
