"""``manage.py import_fund_holdings FILE``: replace funds' look-through holdings from a CSV."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ingest.commands import file_content, rejection_write
from apps.ingest.problems import FileRejectedError
from apps.securities.services.funds import fund_holdings_import


class Command(BaseCommand):
    """Thin interface over ``fund_holdings_import``: all-or-nothing, exits 1 on any bad line."""

    help = "Import fund holdings from CSV: fund,as_of,symbol,weight"

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the file argument."""
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the import and print its report or every error."""
        path: Path = options["file"]
        try:
            report = fund_holdings_import(source=file_content(path))
        except FileRejectedError as exc:
            rejection_write(self.stderr, exc, prefix=f"{path}:")
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"fund holdings: {report.rows_read} rows read; {report.baskets_replaced} "
            f"(fund, as_of) replaced ({report.holdings_created} holdings written, "
            f"{report.holdings_deleted} removed), {report.baskets_unchanged} unchanged "
            f"({report.seconds:.2f}s)"
        )
