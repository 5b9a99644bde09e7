"""``manage.py backtest``: the issue-9 backtest (ours vs advisor baseline); no database needed.

A thin interface over ``apps.backtest.run_backtest``, with the same arguments as
``python -m apps.backtest``; the last line printed is the summary line.
"""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.backtest.__main__ import add_arguments, run
from apps.backtest.data import DataError


class Command(BaseCommand):
    """Run the backtest on PRICES.csv / SECTORS.json and print the summary line last."""

    help = "Backtest the tax-aware rebalancer against a tax-naive advisor baseline"
    requires_system_checks = ()  # pure computation: no models, no database

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the backtest's arguments."""
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run it; errors in the input files become a CommandError."""
        namespace = argparse.Namespace(**options)
        try:
            run(namespace, write=self.stdout.write)
        except (DataError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
