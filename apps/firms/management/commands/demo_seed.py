from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from apps.firms.models import Firm, FirmService
from apps.firms.services import firm_create

DEMO_SLUG = "demo"
DEMO_HOST = "demo.localhost"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo login, never a real secret
STAFF_USERNAME = "staff"


class Command(BaseCommand):
    help = "Seed the demo (idempotent): reference data, the demo firm, one login per role."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--skip-reference-data", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["skip_reference_data"]:
            call_command("load_reference_data", stdout=self.stdout, stderr=self.stderr)
        self._staff()
        firm = Firm.objects.filter(slug=DEMO_SLUG).first()
        if firm is None:
            firm = firm_create(
                name="Demo Wealth Partners",
                slug=DEMO_SLUG,
                domain=DEMO_HOST,
                admin_email="admin@demo.test",
                admin_password=DEMO_PASSWORD,
                service=FirmService.SUB_ADVISORY,
            ).firm
        self._firm_users(firm)
        self.stdout.write(self.style.SUCCESS("demo ready"))
        self.stdout.write(f"  firm:     http://{DEMO_HOST}:8000/  (password {DEMO_PASSWORD})")
        for role in ("admin", "advisor", "trader", "viewer"):
            self.stdout.write(f"            {role}@demo.test")
        self.stdout.write(
            f"  platform: http://localhost:8000/staff/  ({STAFF_USERNAME} / {DEMO_PASSWORD})"
        )

    def _staff(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=STAFF_USERNAME).exists():
            user_model.objects.create_user(
                username=STAFF_USERNAME, password=DEMO_PASSWORD, is_staff=True, is_superuser=True
            )

    def _firm_users(self, firm: Firm) -> None:
        from apps.access.roles import Role
        from apps.access.services import firm_user_create

        with schema_context(firm.schema_name):
            existing = set(get_user_model().objects.values_list("username", flat=True))
            for role, name in (
                (Role.ADVISOR, "advisor"),
                (Role.TRADER, "trader"),
                (Role.VIEWER, "viewer"),
            ):
                email = f"{name}@demo.test"
                if email not in existing:
                    firm_user_create(email=email, password=DEMO_PASSWORD, role=role)
