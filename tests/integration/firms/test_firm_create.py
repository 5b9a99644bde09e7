import pytest
from django_tenants.utils import schema_context, schema_exists

from apps.access.models import AuditEvent, Membership
from apps.access.roles import Role
from apps.common.exceptions import ConflictError
from apps.firms.models import Domain, Firm
from apps.firms.services import firm_create


def test_firm_create_makes_schema_domain_and_first_admin(firms, db):
    created = firm_create(
        name="Onboarded Co", slug="onboarded_co", admin_email="boss@onboarded.test"
    )
    # CREATE SCHEMA is transactional in PostgreSQL: the test's rollback removes the firm.
    assert schema_exists("onboarded_co")
    assert created.domain == "onboarded_co.localhost"
    assert Domain.objects.get(tenant=created.firm).is_primary
    assert created.admin_password  # generated and returned once
    with schema_context("onboarded_co"):
        membership = Membership.objects.select_related("user").get()
        assert membership.role == Role.FIRM_ADMIN
        assert membership.user.check_password(created.admin_password)
        assert AuditEvent.objects.filter(action="user.create").count() == 1


def test_firm_create_refuses_taken_slug_and_domain(firms, db):
    with pytest.raises(ConflictError, match="slug"):
        firm_create(name="Again", slug="firm_a", admin_email="x@y.test")
    with pytest.raises(ConflictError, match="domain"):
        firm_create(name="Other", slug="other", domain="firm-a.localhost", admin_email="x@y.test")
    assert not Firm.objects.filter(slug="other").exists()


def test_firm_create_command_prints_login(firms, db, capsys):
    from django.core.management import call_command

    call_command(
        "firm_create",
        "--name",
        "Cmd Wealth",
        "--slug",
        "cmd_wealth",
        "--domain",
        "cmd.localhost",
        "--admin-email",
        "a@cmd.test",
        "--admin-password",
        "Cmd-pass-12345",
    )
    out = capsys.readouterr().out
    assert "created firm cmd_wealth at http://cmd.localhost:8000/" in out
    assert "a@cmd.test" in out
    assert Firm.objects.get(slug="cmd_wealth").domains.get().domain == "cmd.localhost"
