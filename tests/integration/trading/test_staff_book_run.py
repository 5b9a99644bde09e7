"""Platform staff start a sub-advised firm's book run from the public console."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent


@pytest.fixture
def staff_client(firms, db):
    staff = get_user_model().objects.create_user(
        username="ops", password="Ops-pass-12345", is_staff=True
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    return client


def test_console_shows_sub_advised_books_and_starts_a_book_run(
    firms, staff_client, run_book, django_capture_on_commit_callbacks
):
    # staff_client first: the staff login lives in public; run_book then fills firm A.
    from django.db import connection

    from apps.trading.models import RebalanceRun

    connection.set_schema_to_public()
    html = staff_client.get("/staff/").content.decode()
    assert "Sub-advisory book" in html
    assert "Firm A Wealth" in html
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(f"/staff/firms/{firms['a'].firm.pk}/book-run/", follow=True)
    assert "Book run #" in response.content.decode()
    assert len(callbacks) == 1
    with schema_context(firms["a"].schema):
        run = RebalanceRun.objects.get()
        assert run.scope == "book"
        assert run.requested_by_name == "platform+ops"
        assert AuditEvent.objects.filter(action="rebalance_run.create").count() == 1
