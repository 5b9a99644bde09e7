import time
from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError, TenantContextError
from apps.common.tenancy import firm_schema_for_command, firm_today
from apps.reports.models import ReportKind

KINDS = {"client": ReportKind.CLIENT, "taxes-saved": ReportKind.TAXES_SAVED}
KINDS["dispersion"] = ReportKind.DISPERSION


class Command(BaseCommand):
    help = (
        "Render a firm's reports (client PDFs for every account or one, the taxes-saved report "
        "or the dispersion report) in this process, or through Celery with --celery; files are "
        "stored in the firm's storage and, with --out, copied to a directory."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--firm", required=True, help="firm slug")
        parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument("--year", type=int, help="tax year (default: the as-of year)")
        parser.add_argument("--as-of", type=date.fromisoformat, help="default: the firm's today")
        parser.add_argument("--account", type=int, action="append", default=[], help="account id")
        parser.add_argument("--out", type=Path, help="copy the PDFs to this directory")
        parser.add_argument("--celery", action="store_true", help="render on Celery workers")

    def handle(self, *args: Any, **options: Any) -> None:
        from apps.reports.selectors import report_file_list
        from apps.reports.services.batches import report_batch_create, report_batch_run_inline

        try:
            with firm_schema_for_command(options["firm"]) as firm:
                as_of = options["as_of"] or firm_today(firm)
                started = time.perf_counter()
                batch = report_batch_create(
                    kind=KINDS[options["kind"]],
                    year=options["year"] or as_of.year,
                    as_of=as_of,
                    account_ids=options["account"],
                    requested_by=None,
                    enqueue=options["celery"],
                )
                self.stdout.write(f"batch #{batch.pk}: {batch.kind} {batch.year} as of {as_of}")
                if options["celery"]:
                    self.stdout.write("enqueued; follow it on the Reports page or the API")
                    return
                batch = report_batch_run_inline(batch=batch)
                elapsed = time.perf_counter() - started
                files = list(report_file_list(batch=batch))
                for report_file in files:
                    self.stdout.write(
                        f"  {report_file.filename}: {report_file.pages} pages, "
                        f"{report_file.render_ms} ms"
                    )
                    if options["out"]:
                        options["out"].mkdir(parents=True, exist_ok=True)
                        with default_storage.open(report_file.storage_name, "rb") as handle:
                            (options["out"] / report_file.filename).write_bytes(handle.read())
                for key, why in batch.failures.items():
                    self.stderr.write(f"  failed {key}: {why}")
                self.stdout.write(
                    f"{batch.status}: {batch.done_count} rendered, {batch.failed_count} failed "
                    f"in {elapsed:.1f} s"
                )
        except (TenantContextError, ApplicationError) as exc:
            raise CommandError(str(exc)) from exc
