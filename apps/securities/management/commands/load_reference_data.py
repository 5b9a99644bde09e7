"""``manage.py load_reference_data``: the S&P 500 master, real and synthetic prices."""

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.ingest.commands import rejection_write
from apps.ingest.problems import FileRejectedError
from apps.securities.services.reference import reference_data_load


class Command(BaseCommand):
    """Thin interface over ``reference_data_load`` (idempotent)."""

    help = (
        "Load S&P 500 members (+RRC), ETFs and cash; skfolio's real adjusted closes; "
        "synthetic factor-model prices (is_synthetic=True) up to --synthetic-to; and the demo "
        "basket funds (holdings and closes computed from them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the date window and the seed."""
        parser.add_argument(
            "--synthetic-from",
            type=date.fromisoformat,
            help="first synthetic date of names without real prices (default: end - 2 years)",
        )
        parser.add_argument(
            "--synthetic-to",
            type=date.fromisoformat,
            help="last synthetic date (default: today in UTC)",
        )
        parser.add_argument("--seed", type=int, default=0, help="factor model seed (default 0)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the load and print its counts and timings."""
        end_on: date = options["synthetic_to"] or timezone.now().date()
        synthetic_from: date | None = options["synthetic_from"]
        if synthetic_from and synthetic_from > end_on:
            raise CommandError("--synthetic-from must not be after --synthetic-to")
        started = time.perf_counter()
        try:
            report = reference_data_load(
                end_on=end_on, synthetic_from=synthetic_from, seed=options["seed"]
            )
        except FileRejectedError as exc:
            rejection_write(self.stderr, exc)
            raise CommandError(exc.message) from exc
        securities, prices = report.securities, report.prices
        rate = prices.rows_read / prices.seconds if prices.seconds else 0.0
        self.stdout.write(
            f"securities: {securities.rows_read} ({securities.created} created, "
            f"{securities.updated} updated, {securities.unchanged} unchanged)\n"
            f"prices: {prices.rows_read} = {report.real_price_rows} real + "
            f"{report.synthetic_price_rows} synthetic ({report.synthetic_from}..{report.end_on}); "
            f"{prices.created} created, {prices.updated} updated, {prices.unchanged} unchanged "
            f"in {prices.seconds:.1f}s ({rate:,.0f} rows/s)\n"
            f"demo basket funds: {report.basket_price_rows} closes, "
            f"{report.fund_holdings.rows_read} holdings "
            f"({report.fund_holdings.baskets_replaced} fund-dates replaced, "
            f"{report.fund_holdings.baskets_unchanged} unchanged)\n"
            f"total {time.perf_counter() - started:.1f}s (including the commit)"
        )
        for note in report.notes:
            self.stdout.write(f"note: {note}")
