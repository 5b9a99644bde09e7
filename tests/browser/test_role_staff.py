"""Platform staff's day on the public host: sign in directly at /staff/login/, onboard a firm,
enter it as sub-advisor, and run a sub-advised firm's book (a real worker computes it)."""

from collections.abc import Iterator

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.browser.books import BookFirm, book_firm
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser
STAFF, STAFF_PASSWORD = "ops.browser", "Ops-Browser-Pass-31"
SYMBOLS = {"SFA": ("Energy", "Oil & Gas", []), "SFB": ("Utilities", "Electric Utilities", [])}


@pytest.fixture(scope="module")
def staff_user(django_db_setup, django_db_blocker) -> Iterator[str]:
    """A platform staff login on the public schema (committed; removed afterwards)."""
    from django.contrib.auth import get_user_model

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        user = get_user_model().objects.create_user(
            username=STAFF, password=STAFF_PASSWORD, is_staff=True
        )
    yield STAFF
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        from apps.firms.models import StaffEntry

        StaffEntry.objects.filter(staff_user=user).delete()
        # Not user.delete(): its cascade looks for firm-only tables in the public schema.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM auth_user WHERE id = %s", [user.pk])


@pytest.fixture(scope="module")
def staff_firm(django_db_setup, django_db_blocker) -> Iterator[BookFirm]:
    """A sub-advised firm with a book to run."""
    with (
        django_db_blocker.unblock(),
        book_firm(
            slug="firm_sf",
            name="Staff Day Advisers",
            symbols=SYMBOLS,
            accounts=(("Osei family", "Osei joint", "SF-1"),),
            seed=13,
        ) as firm,
    ):
        yield firm


def _staff_sign_in(page, public: str) -> None:
    page.goto(f"{public}/staff/login/")
    page.fill("#id_username", STAFF)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{public}/staff/")


def test_staff_signs_in_directly_onboards_a_firm_and_enters_it(
    staff_user, server_port, page, django_db_blocker
):
    from apps.firms.models import Firm, StaffEntry

    public = f"http://localhost:{server_port}"
    _staff_sign_in(page, public)  # was a 500 (no "home" on the public host)
    assert page.locator("h1").inner_text() == "Staff console"
    try:
        page.fill("[name=name]", "Onboarded In Browser")
        page.fill("[name=slug]", "firm_onb")
        page.fill("[name=domain]", "firm-onb.localhost")
        page.fill("[name=admin_email]", "boss@firm-onb.test")
        page.locator("[name=service]").select_option("sub_advisory")
        page.click("button:text('Create firm')")
        created = page.locator("[role=status]").inner_text()
        assert "Onboarded In Browser is live" in created and "boss@firm-onb.test" in created
        password = page.locator("[role=status] code").inner_text()
        screenshot(page, "staff-01-onboarded")
        page.reload()
        assert password not in page.content()  # shown once
        with django_db_blocker.unblock():
            firm = Firm.objects.get(schema_name="firm_onb")
            assert firm.get_primary_domain().domain == "firm-onb.localhost"

        enter = page.locator(f"form[action='/staff/firms/{firm.pk}/enter/']")
        enter.locator("[name=reason]").fill("Set up the new book")
        enter.locator("button:text('Enter')").click()
        page.wait_for_url(f"http://firm-onb.localhost:{server_port}/")  # blocked by the CSP before
        assert "as sub-advisor" in page.locator(".messages").inner_text()
        assert "Onboarded In Browser" in page.locator("header").inner_text()
        screenshot(page, "staff-02-entered")
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            StaffEntry.objects.filter(firm__schema_name="firm_onb").delete()
            for firm in Firm.objects.filter(schema_name="firm_onb"):
                firm.delete(force_drop=True)


def test_staff_runs_a_sub_advised_firms_book(
    staff_user, staff_firm, server_port, worker, page, django_db_blocker
):
    from apps.trading.models import Proposal, RebalanceRun, RunStatus

    public = f"http://localhost:{server_port}"
    _staff_sign_in(page, public)
    firm_id = staff_firm.firm.pk
    page.locator(f"form[action='/staff/firms/{firm_id}/book-run/'] button").click()
    message = page.locator(".messages").inner_text()
    assert "started for Staff Day Advisers" in message
    run_id = int(message.split("#")[1].split()[0])
    enter = page.locator(f"form[action='/staff/firms/{firm_id}/enter/']")
    enter.locator("[name=reason]").fill("Quarterly book run")
    enter.locator("button:text('Enter')").click()
    base = staff_firm.base(server_port)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/runs/{run_id}/")
    page.wait_for_selector("[data-progress-text]:text-matches('^completed')", timeout=120_000)
    assert "Osei joint" in page.locator("main").inner_text()
    screenshot(page, "staff-03-book-run")
    with django_db_blocker.unblock(), schema_context(staff_firm.firm.schema_name):
        run = RebalanceRun.objects.select_related("requested_by").get(pk=run_id)
        assert run.status == RunStatus.COMPLETED
        assert run.requested_by.username == f"platform+{STAFF}"
        assert Proposal.objects.filter(run=run).count() == 1
