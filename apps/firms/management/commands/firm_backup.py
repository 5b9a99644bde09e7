from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError
from apps.firms.backup import firm_backup
from apps.firms.models import Firm


class Command(BaseCommand):
    help = (
        "Export one firm to an archive: its schema (pg_dump), its public rows (firm, domains, "
        "the securities and prices it names), its stored files and a manifest."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--firm", required=True, metavar="SLUG")
        parser.add_argument(
            "-o", "--output", required=True, type=Path, metavar="FILE", help="e.g. acme.tar.gz"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        firm = Firm.objects.filter(slug=options["firm"]).first()
        if firm is None:
            raise CommandError(f"no firm with slug '{options['firm']}'")
        try:
            report = firm_backup(firm=firm, path=options["output"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"firm {firm.slug}: {report.tables} tables, {report.rows} rows, "
            f"{report.securities} securities, {report.prices} prices, {report.files} files "
            f"-> {report.path} ({report.size_bytes} bytes, {report.seconds:.1f} s)"
        )
