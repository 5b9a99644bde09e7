"""``manage.py tax_replay INPUT.json [-o OUT.json]``: replay a trade history file, no database.

The format is ``/work/shared/formats/tax-replay.md``; the logic is ``apps.taxlots``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.taxlots.errors import ReplayError
from apps.taxlots.replay_format import dumps, replay_document


class Command(BaseCommand):
    """Print the realized rows, open lots, wash-sale matches and totals of a trade history."""

    help = "Replay a tax-replay JSON file (lot relief, wash sales) and print the result JSON."
    requires_system_checks = ()  # pure file in, JSON out: no checks, no database
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the input file (and, for tax_replay, the output file)."""
        parser.add_argument("input", help="tax-replay input JSON file")
        parser.add_argument(
            "-o", "--output", help="write the result JSON to this file instead of stdout"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Read the file, compute, print the JSON or one line per problem (exit 2)."""
        source = Path(options["input"])
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._fail([f"{source}: cannot read: {exc}"])
        try:
            document = replay_document(text)
        except ReplayError as exc:
            self._fail(exc.lines())
        output = dumps(document)
        if options.get("output"):
            Path(options["output"]).write_text(output, encoding="utf-8")
        else:
            self.stdout.write(output, ending="")

    def _fail(self, lines: list[str]) -> None:
        # One line per problem and no result; exit status 2 like argparse's usage errors.
        for line in lines:
            self.stderr.write(line)
        sys.exit(2)
