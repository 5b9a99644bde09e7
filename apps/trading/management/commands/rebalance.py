import time
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.access.outbox import outbox_held
from apps.common.exceptions import ApplicationError, TenantContextError
from apps.common.tenancy import firm_schema_for_command, firm_today
from apps.trading.models import FINISHED_RUN_STATUSES, RebalanceRun, RunMode, RunScope, RunStatus


class Command(BaseCommand):
    help = (
        "Start a rebalance run for a firm (through the Celery optimizer queue, or --inline in "
        "this process); --wait shows progress until it finishes."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--firm", required=True, help="firm slug")
        parser.add_argument("--scope", choices=RunScope.values, default=RunScope.BOOK)
        parser.add_argument("--id", type=int, action="append", default=[], help="scope id(s)")
        parser.add_argument("--mode", choices=RunMode.values, default=RunMode.FULL_REBALANCE)
        parser.add_argument("--as-of", type=date.fromisoformat, help="default: the firm's today")
        parser.add_argument("--wait", action="store_true", help="show progress until done")
        parser.add_argument("--inline", action="store_true", help="optimize in this process")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for --wait")

    def handle(self, *args: Any, **options: Any) -> None:
        from apps.trading.services.runs import (
            START_TASK,
            rebalance_chunk_execute,
            rebalance_run_create,
            rebalance_run_start,
        )

        try:
            with firm_schema_for_command(options["firm"]) as firm:
                run = rebalance_run_create(
                    scope=RunScope(options["scope"]),
                    scope_ids=options["id"],
                    mode=RunMode(options["mode"]),
                    as_of=options["as_of"] or firm_today(firm),
                    requested_by=None,
                    enqueue=not options["inline"],
                )
                self.stdout.write(f"run #{run.pk}: {run.scope} {run.mode} as of {run.as_of}")
                held = outbox_held(task=START_TASK, args=[run.pk])
                if held is not None:
                    self.stdout.write(
                        f"the broker is unreachable ({held.last_error}): the run is queued and "
                        "starts when it is back"
                    )
                if options["inline"]:
                    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
                        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
                if options["wait"] or options["inline"]:
                    self._wait(run.pk, options["timeout"])
        except (TenantContextError, ApplicationError) as exc:
            raise CommandError(str(exc)) from exc

    def _wait(self, run_id: int, timeout_s: float) -> None:
        from apps.trading.progress import run_progress

        deadline = time.monotonic() + timeout_s
        while True:
            run = RebalanceRun.objects.get(pk=run_id)
            p = run_progress(run)
            filled = p.percent // 4
            rate = f" {p.rate_per_s}/s" if p.rate_per_s else ""
            self.stdout.write(
                f"\r[{'#' * filled}{'.' * (25 - filled)}] {p.percent:3d}% done {p.done} "
                f"failed {p.failed} skipped {p.skipped} remaining {p.remaining}{rate}",
                ending="",
            )
            self.stdout.flush()
            if run.status in FINISHED_RUN_STATUSES:
                self.stdout.write("")
                if run.status == RunStatus.FAILED:
                    raise CommandError(f"run #{run_id} failed: {run.failure_reason}")
                self.stdout.write(f"run #{run_id} {run.status}")
                return
            if time.monotonic() > deadline:
                self.stdout.write("")
                raise CommandError(f"run #{run_id} still {run.status} after {timeout_s:.0f} s")
            time.sleep(1.0)
