"""Platform staff: public-host console, onboarding, and the audited entry into a firm."""

import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent, Membership
from apps.firms.models import Firm, FirmService, StaffEntry


@pytest.fixture
def staff_client(firms, db):
    staff = get_user_model().objects.create_user(
        username="ops", password="Ops-pass-12345", is_staff=True
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    return client


def test_public_host_serves_home_and_console_needs_staff(firms, db):
    assert Client(HTTP_HOST="localhost").get("/").status_code == 200
    response = Client(HTTP_HOST="localhost").get("/staff/")
    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]


def test_console_lists_firms(staff_client):
    html = staff_client.get("/staff/").content.decode()
    assert "Firm A Wealth" in html
    assert "firm-b.localhost" in html


def _enter_link(response) -> str:
    return html.unescape(re.search(r'id="enter-link" href="([^"]+)"', response.content.decode())[1])


def test_staff_enter_firm_is_explicit_and_audited(firms, staff_client):
    firm = firms["a"].firm
    response = staff_client.post(f"/staff/firms/{firm.pk}/enter/", {"reason": "Q4 book run"})
    assert response.status_code == 200  # a page that moves on (the CSP's form-action)
    location = _enter_link(response)
    assert location.startswith("http://firm-a.localhost")
    entry = StaffEntry.objects.get(firm=firm)
    assert entry.reason == "Q4 book run"
    assert entry.staff_username == "ops"

    path = location.split("firm-a.localhost", 1)[1].lstrip(":0123456789")
    firm_client = Client(HTTP_HOST="firm-a.localhost")
    landed = firm_client.get(path)
    assert landed.status_code == 302
    assert firm_client.get("/").status_code == 200
    with schema_context(firm.schema_name):
        user = get_user_model().objects.get(username="platform+ops")
        assert Membership.objects.get(user=user).role == "platform_staff"
        assert not user.has_usable_password()
        event = AuditEvent.objects.get(action="platform_staff.enter")
        assert event.payload == {"staff_username": "ops", "entry_id": entry.pk}
    # The link works once only, and never on another firm's host.
    assert Client(HTTP_HOST="firm-a.localhost").get(path).status_code == 403
    assert Client(HTTP_HOST="firm-b.localhost").get(path).status_code == 403


def test_staff_cannot_enter_software_only_firm(firms, staff_client):
    firm = firms["b"].firm
    Firm.objects.filter(pk=firm.pk).update(service=FirmService.SOFTWARE)
    response = staff_client.post(f"/staff/firms/{firm.pk}/enter/", {"reason": "look"}, follow=True)
    assert "software-only" in response.content.decode()
    assert not StaffEntry.objects.filter(firm=firm).exists()


def test_staff_onboards_a_firm_from_the_console(staff_client):
    response = staff_client.post(
        "/staff/",
        {
            "name": "Console Co",
            "slug": "console_co",
            "domain": "",
            "admin_email": "first@console.test",
            "kind": "bank",
            "service": "sub_advisory",
            "timezone": "Europe/Zurich",
        },
        follow=True,
    )
    assert "Console Co is live" in response.content.decode()
    firm = Firm.objects.get(slug="console_co")
    assert firm.kind == "bank"


def test_non_staff_public_user_cannot_enter(firms, db):
    plain = get_user_model().objects.create_user(username="plain", password="Plain-pass-123")
    client = Client(HTTP_HOST="localhost")
    client.force_login(plain)
    response = client.post(f"/staff/firms/{firms['a'].firm.pk}/enter/", {"reason": "x"})
    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]
    assert not StaffEntry.objects.exists()


def test_console_refuses_a_book_run_for_a_software_firm(firms, staff_client):
    firm = firms["b"].firm
    Firm.objects.filter(pk=firm.pk).update(service=FirmService.SOFTWARE)
    response = staff_client.post(f"/staff/firms/{firm.pk}/book-run/", follow=True)
    assert "software-only" in response.content.decode()
