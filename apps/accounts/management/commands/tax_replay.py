"""``manage.py tax_replay INPUT.json [-o OUT.json]``: replay a trade history file, no database.

The format is ``docs/formats/tax-replay.md``; the logic is ``apps.taxlots``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

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
            content = source.read_bytes()
        except OSError as exc:
            self._fail([f"{source}: cannot read: {exc}"])
        try:
            document = replay_document(content)
        except ReplayError as exc:
            self._fail(exc.lines())
        output = dumps(document)
        if not options.get("output"):
            self.stdout.write(output, ending="")
            return
        target = Path(options["output"])
        try:
            _write_whole(target, output)
        except OSError as exc:
            self._fail([f"{target}: cannot write: {exc}"])

    def _fail(self, lines: list[str]) -> NoReturn:
        # One line per problem and no result; exit status 2 like argparse's usage errors.
        for line in lines:
            self.stderr.write(line)
        sys.exit(2)


def _write_whole(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` whole or not at all (a temporary file renamed over it)."""
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
