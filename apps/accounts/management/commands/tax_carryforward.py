"""``manage.py tax_carryforward INPUT.json``: Schedule D netting and carryover, no database.

The format is ``docs/formats/tax-replay.md``; the logic is ``apps.taxlots.rules``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from apps.taxlots.errors import CarryforwardError
from apps.taxlots.replay_format import carryforward_document, dumps


class Command(BaseCommand):
    """Print each year's netting, deduction and carryover out, chaining the years."""

    help = "Net capital gains per Schedule D and carry losses forward, year by year."
    requires_system_checks = ()  # pure file in, JSON out: no checks, no database
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the input file (and, for tax_replay, the output file)."""
        parser.add_argument("input", help="tax_carryforward input JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        """Read the file, compute, print the JSON or one line per problem (exit 2)."""
        source = Path(options["input"])
        try:
            content = source.read_bytes()
        except OSError as exc:
            self._fail([f"{source}: cannot read: {exc}"])
        try:
            document = carryforward_document(content)
        except CarryforwardError as exc:
            self._fail(exc.lines())
        self.stdout.write(dumps(document), ending="")

    def _fail(self, lines: list[str]) -> NoReturn:
        # One line per problem and no result; exit status 2 like argparse's usage errors.
        for line in lines:
            self.stderr.write(line)
        sys.exit(2)
