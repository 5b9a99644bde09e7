"""``manage.py import_prices FILE``: create or update daily closes from a CSV file."""

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ingest.commands import file_content, rejection_write
from apps.ingest.problems import FileRejectedError
from apps.securities.services.master import DEFAULT_PRICE_SOURCE, prices_import


class Command(BaseCommand):
    """Thin interface over ``prices_import``: all-or-nothing, exits 1 on any bad row."""

    help = "Import daily closes from CSV: symbol,date,close[,synthetic]"

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the file argument and the source label."""
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source", default=DEFAULT_PRICE_SOURCE, help="stored in Price.source (max 64 chars)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the import and print its report or every error."""
        path: Path = options["file"]
        price_source: str = options["source"]
        if not price_source or len(price_source) > 64:
            raise CommandError("--source must be 1 to 64 characters")
        started = time.perf_counter()
        try:
            report = prices_import(source=file_content(path), price_source=price_source)
        except FileRejectedError as exc:
            rejection_write(self.stderr, exc, prefix=f"{path}:")
            raise CommandError(exc.message) from exc
        seconds = time.perf_counter() - started  # includes the commit (deferred FK checks)
        rate = report.rows_read / seconds if seconds else 0.0
        self.stdout.write(
            f"prices: {report.rows_read} rows read, {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.duplicates_skipped} identical duplicates skipped "
            f"({seconds:.2f}s, {rate:,.0f} rows/s)"
        )
