"""``manage.py import_securities FILE``: create or update securities from a CSV file."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ingest.commands import file_content, rejection_write
from apps.ingest.problems import FileRejectedError
from apps.securities.services.master import securities_import


class Command(BaseCommand):
    """Thin interface over ``securities_import``: all-or-nothing, exits 1 on any bad row."""

    help = "Import securities from CSV: symbol,cusip,name,kind,sector,industry,esg_tags"

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the file argument."""
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the import and print its report or every error."""
        path: Path = options["file"]
        try:
            report = securities_import(source=file_content(path))
        except FileRejectedError as exc:
            rejection_write(self.stderr, exc, prefix=f"{path}:")
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"securities: {report.rows_read} rows read, {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.duplicates_skipped} identical duplicates skipped ({report.seconds:.2f}s)"
        )
