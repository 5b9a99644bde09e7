"""``manage.py import_securities FILE``: create or update securities from a CSV file."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.securities.services import ImportRejectedError, securities_import


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
            with path.open(newline="", encoding="utf-8-sig") as source:
                report = securities_import(source=source)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        except ImportRejectedError as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}:{error}")
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"securities: {report.rows_read} rows read, {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.duplicates_skipped} identical duplicates skipped ({report.seconds:.2f}s)"
        )
