"""``manage.py import_custodian --firm SLUG --kind KIND [--layout L] [--dry-run] FILE``.

Enters the firm's schema by slug (management commands may; STYLE.md §5.3) and calls
``custodian_file_import``. A rejected file prints one line per problem (``line N: field:
reason``) on stderr and exits with status 2; nothing is written. Formats:
``docs/custodian-files.md``.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_tenant_model, schema_context

from apps.accounts.layouts import LAYOUTS, ImportKind
from apps.accounts.services.imports import custodian_file_import
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today
from apps.ingest.commands import file_content, rejection_write
from apps.ingest.problems import FileRejectedError


class Command(BaseCommand):
    help = "Import a custodian positions/lots/transactions (or accounts) file into a firm."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file (UTF-8)")
        parser.add_argument("--firm", required=True, help="the firm's slug")
        parser.add_argument("--kind", required=True, choices=[k.value for k in ImportKind])
        parser.add_argument("--layout", default="generic", choices=list(LAYOUTS))
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            help="positions snapshot date when the file has none (default: the firm's today)",
        )
        parser.add_argument("--user", help="username of the firm user importing (for the audit)")

    def handle(self, *args: Any, **options: Any) -> None:
        firm = get_tenant_model().objects.filter(slug=options["firm"]).first()
        if firm is None or firm.schema_name == "public":
            raise CommandError(f"no firm with slug {options['firm']!r}")
        path: Path = options["file"]
        try:
            content = file_content(path)
            with schema_context(firm.schema_name):
                acting_user = None
                if options.get("user"):
                    acting_user = get_user_model().objects.filter(username=options["user"]).first()
                    if acting_user is None:
                        raise CommandError(f"no user {options['user']!r} in firm {firm.slug}")
                report = custodian_file_import(
                    kind=options["kind"],
                    layout=options["layout"],
                    content=content,
                    filename=path.name,
                    acting_user=acting_user,
                    dry_run=options["dry_run"],
                    as_of=options.get("as_of") or firm_today(firm),
                )
        except FileRejectedError as exc:
            rejection_write(self.stderr, exc)
            self.stderr.write(exc.message)
            sys.exit(2)  # like tax_replay
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(report.summary())
        if report.is_dry_run:
            self.stdout.write("dry run: nothing was written")
