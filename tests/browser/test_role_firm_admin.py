"""A firm admin's day: adds a user with a role and changes it, creates a named API token (seen
once, working on the API), revokes it (refused from then on), and sets the report branding."""

import io
from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context
from PIL import Image

from tests.browser.books import BookFirm, book_firm
from tests.browser.conftest import api_get_status, log_in, screenshot

pytestmark = pytest.mark.browser
NEW_USER, NEW_PASSWORD = "ops.trader@firm-adm.test", "Another-Horse-77"


@pytest.fixture(scope="module")
def admin_firm(django_db_setup, django_db_blocker) -> Iterator[BookFirm]:
    """A committed firm of its own: this file's users, tokens and branding stay in it."""
    with (
        django_db_blocker.unblock(),
        book_firm(slug="firm_adm", name="Admin Day Partners", symbols={}, accounts=(), seed=0) as f,
    ):
        yield f


def test_firm_admin_adds_a_user_with_a_role_and_changes_it(
    admin_firm, server_port, page, chromium, django_db_blocker
):
    from django.contrib.auth import get_user_model

    base = admin_firm.base(server_port)
    log_in(page, base, admin_firm.email("firm_admin"))
    page.click("nav >> text=Users")
    form = page.locator("form:has(button:text('Add user'))")
    form.locator("[name=email]").fill(NEW_USER)
    form.locator("[name=password]").fill(NEW_PASSWORD)
    form.locator("[name=role]").select_option("trader")
    form.locator("button[type=submit]").click()
    assert f"User {NEW_USER} added." in page.locator(".messages").inner_text()
    row = page.locator("tr", has_text=NEW_USER)
    assert row.locator("select[name=role]").input_value() == "trader"
    screenshot(page, "admin-01-users")
    with django_db_blocker.unblock(), schema_context(admin_firm.firm.schema_name):
        assert get_user_model().objects.get(username=NEW_USER).membership.role == "trader"

    # The new trader signs in on the firm's host and may run rebalances, not manage users.
    trader = chromium.new_context().new_page()
    log_in(trader, base, NEW_USER, NEW_PASSWORD)
    trader.goto(f"{base}/runs/")
    assert trader.locator("button:text('Start run')").count() == 1
    assert trader.goto(f"{base}/users/").status == 403

    row.locator("select[name=role]").select_option("viewer")
    row.locator("button:text('Save')").click()
    assert "is now Viewer" in page.locator(".messages").inner_text()
    with django_db_blocker.unblock(), schema_context(admin_firm.firm.schema_name):
        assert get_user_model().objects.get(username=NEW_USER).membership.role == "viewer"
    trader.goto(f"{base}/runs/")
    assert trader.locator("button:text('Start run')").count() == 0  # the new role holds at once
    trader.context.close()


def test_firm_admin_creates_a_named_token_sees_it_once_and_revokes_it(
    admin_firm, server_port, page, django_db_blocker
):
    from apps.access.models import ApiToken

    base = admin_firm.base(server_port)
    log_in(page, base, admin_firm.email("firm_admin"))
    page.goto(f"{base}/tokens/")
    page.fill("[name=name]", "nightly export")
    page.click("button:text('Create token')")
    key = page.locator("[role=status] code").first.inner_text()
    assert "nightly export" in page.locator("[role=status]").inner_text()
    screenshot(page, "admin-02-token-created")
    with django_db_blocker.unblock(), schema_context(admin_firm.firm.schema_name):
        token = ApiToken.objects.get(name="nightly export")
    assert key.startswith(token.key_prefix) and token.revoked_at is None

    assert api_get_status(page, "/api/v1/accounts/", key) == 200  # the token alone, no cookie
    page.reload()
    assert key not in page.content()  # shown once
    row = page.locator("tr", has_text="nightly export")
    assert "active" in row.inner_text()

    row.locator("button:text('Revoke')").click()
    assert "Token nightly export revoked." in page.locator(".messages").inner_text()
    assert "revoked" in page.locator("tr", has_text="nightly export").inner_text()
    screenshot(page, "admin-03-token-revoked")
    with django_db_blocker.unblock(), schema_context(admin_firm.firm.schema_name):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert api_get_status(page, "/api/v1/accounts/", key) == 401


def test_firm_admin_sets_the_report_branding(admin_firm, server_port, page, django_db_blocker):
    from apps.reports.models import FirmBranding

    base = admin_firm.base(server_port)
    log_in(page, base, admin_firm.email("firm_admin"))
    page.goto(f"{base}/settings/branding/")
    page.fill("[name=display_name]", "Admin Day Private Clients")
    page.fill("[name=primary_colour]", "#123456")
    page.fill("[name=secondary_colour]", "#abcdef")
    page.fill("[name=disclaimer]", "Past performance is no guide.")
    logo = io.BytesIO()
    Image.new("RGB", (40, 20), (18, 52, 86)).save(logo, format="PNG")
    page.set_input_files(
        "[name=logo]",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": logo.getvalue()}],
    )
    page.click("button:text('Save')")
    assert "Report branding saved." in page.locator(".messages").inner_text()
    assert "#123456" in page.locator(".card").first.inner_text()
    screenshot(page, "admin-04-branding")
    with django_db_blocker.unblock(), schema_context(admin_firm.firm.schema_name):
        branding = FirmBranding.objects.get()
    assert (branding.display_name, branding.primary_colour, branding.secondary_colour) == (
        "Admin Day Private Clients",
        "#123456",
        "#abcdef",
    )
    assert branding.disclaimer == "Past performance is no guide." and branding.logo_name
