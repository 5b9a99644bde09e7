from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError
from apps.firms.models import FirmKind, FirmService
from apps.firms.services import firm_create


class Command(BaseCommand):
    help = "Onboard a firm: create its schema, run tenant migrations, create its first admin."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="short id, also the schema name")
        parser.add_argument("--domain", help="host serving the firm (default <slug>.localhost)")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="default: generated and printed")
        parser.add_argument("--kind", choices=FirmKind.values, default=FirmKind.RIA)
        parser.add_argument("--service", choices=FirmService.values, default=FirmService.SOFTWARE)
        parser.add_argument("--timezone", default="America/New_York")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = firm_create(
                name=options["name"],
                slug=options["slug"],
                domain=options["domain"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
                kind=options["kind"],
                service=options["service"],
                timezone_name=options["timezone"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"created firm {created.firm.slug} at http://{created.domain}:8000/")
        password = created.admin_password or "(as given)"
        self.stdout.write(f"firm admin: {created.admin_email} / {password}")
