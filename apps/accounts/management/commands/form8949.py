from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import TenantContextError
from apps.common.tenancy import firm_schema_for_command


class Command(BaseCommand):
    help = "Write an account's Form 8949-style CSV for a tax year (stdout or -o FILE)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--firm", required=True, help="firm slug")
        parser.add_argument("--custodian", required=True)
        parser.add_argument("--account", required=True, help="account number")
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("-o", "--output", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        from apps.accounts.exports import form8949_csv
        from apps.accounts.models import Account

        try:
            with firm_schema_for_command(options["firm"]):
                account = Account.objects.filter(
                    custodian=options["custodian"], number=options["account"]
                ).first()
                if account is None:
                    raise CommandError(f"no account {options['custodian']} {options['account']}")
                text = form8949_csv(account=account, year=options["year"])
        except TenantContextError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            options["output"].write_text(text)
        else:
            self.stdout.write(text, ending="")
