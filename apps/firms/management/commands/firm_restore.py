from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError
from apps.firms.backup import firm_restore


class Command(BaseCommand):
    help = (
        "Restore a firm from a firm_backup archive into this database (an empty one gets the "
        "shared tables first). Refuses an existing schema, a corrupt archive or an unknown format."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("archive", type=Path, metavar="FILE")
        parser.add_argument(
            "--slug", help="restore under this slug/schema (default: the archive's)"
        )
        parser.add_argument("--domain", help="the firm's host (default: the archive's hosts)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = firm_restore(
                path=options["archive"], slug=options["slug"], domain=options["domain"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"restored firm {report.firm.slug} at {', '.join(report.domains)}: "
            f"{report.tables} tables, {report.rows} rows; added {report.securities_added} "
            f"securities and {report.prices_added} prices; {report.files} files "
            f"({report.seconds:.1f} s)"
        )
        if report.migrations_pending:
            self.stdout.write(
                f"the firm's schema lacks {len(report.migrations_pending)} migrations of this "
                f"release ({', '.join(report.migrations_pending[:5])}): run "
                f"python manage.py migrate_schemas --tenant --schema={report.firm.schema_name}"
            )
