"""Book benchmark: one whole-book rebalance through real Celery workers on PostgreSQL and Redis.

    python bench/book.py --accounts 2000 --names 500      (500-name direct-index accounts)
    python bench/book.py --accounts 2000 --names 50       (50-name model accounts)

Uses its own database ``platform_bench`` on the server of DATABASE_URL (or the embedded one:
run ``./dev stack start`` first) and the broker of CELERY_BROKER_URL (or the embedded Redis).
Seeds a firm ``bench_<names>_<accounts>`` with the documented synthetic book
(``apps.trading.services.synthetic_book``: about 2,000 lots per 500-name account) unless it
exists, customizes it once (``synthetic_book_customize``: a never-buy name on every 10th
account, a gains budget on every 3rd taxable one, a monthly withdrawal on every 25th), then:

- baseline: the first chunk's accounts optimized in this process, one process, no Celery;
- measured: a book run through ``--workers`` worker processes (``celery worker -c N``).

accounts_per_s = accounts / wall time of the run (first task start to last chunk stored);
solver_share = time inside the solver (PIQP, ``RebalanceRun.solver_ms``) / (wall time x worker
processes); peak_rss_mb = the largest peak resident set of a worker process. Before it, a line
reports the CPU the worker processes used per account (robust to other load on the machine), the
rest of the machine's busy CPU over the run per account (PostgreSQL, Redis and this script when
the machine is otherwise quiet; everybody else's work too when it is not) and
core_share: time in the whole optimizer core (``solve_rebalance``: prepare, QP, solve, rounding,
result) / (wall time x worker processes). The last line is exactly:

    book accounts=<n> names=<n> accounts_per_s=<x> solver_share=<x> peak_rss_mb=<x> failed=<n>
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# As deployed: without DEBUG's query log (Django renders every statement's SQL for it, ~0.3 ms
# per 500-name account), here and in the worker processes, which inherit the environment.
os.environ.setdefault("DJANGO_DEBUG", "false")

from bench.common import bench_database_url  # noqa: E402


def _worker_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the worker's pool processes so far."""
    import psutil

    total = 0.0
    for proc in psutil.Process(pid).children(recursive=True):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _peak_rss_mb(pid: int) -> float:
    import psutil

    peak = 0
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, everything but idle)."""
    import psutil

    times = psutil.cpu_times()
    return float(sum(times)) - times.idle - getattr(times, "iowait", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url("platform_bench")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.firms.models import Firm
    from apps.firms.services import firm_create
    from apps.securities.models import Price

    started = time.perf_counter()
    call_command("migrate_schemas", verbosity=0)  # the public schema and the bench firms
    if not Price.objects.exists():
        call_command("load_reference_data", verbosity=0)
    as_of = Price.objects.order_by("-priced_on").values_list("priced_on", flat=True).first()
    slug = f"bench_{args.names}_{args.accounts}"
    firm = Firm.objects.filter(slug=slug).first()
    if firm is None:
        firm = firm_create(
            name=f"Bench {args.names}x{args.accounts}",
            slug=slug,
            domain=f"{slug.replace('_', '-')}.localhost",
            admin_email="bench@bench.test",
        ).firm
        with schema_context(slug):
            from apps.trading.services.synthetic_book import synthetic_book_create

            households = max(1, round(args.accounts / 1.25))  # every 4th household adds an IRA
            book = synthetic_book_create(
                households=households, names=args.names, as_of=as_of, seed=args.seed
            )
            seconds = time.perf_counter() - started
            print(f"seeded {book.accounts} accounts, {book.lots} lots in {seconds:.0f} s")
    with schema_context(slug):
        from apps.trading.services.synthetic_book import synthetic_book_customize

        customized = synthetic_book_customize(as_of=as_of)
        if customized:
            print(f"customized {customized} accounts (restrictions, gains budgets, withdrawals)")

    from apps.trading.models import RebalanceRun, RunAccount
    from apps.trading.services.runs import (
        rebalance_chunk_execute,
        rebalance_run_create,
        rebalance_run_start,
    )

    with schema_context(slug):
        from apps.accounts.models import Account

        total = Account.objects.count()

        # Baseline: the first chunk in this process (no Celery, one process).
        def book_run() -> RebalanceRun:
            return rebalance_run_create(
                scope="book",
                scope_ids=[],
                mode="full_rebalance",
                as_of=as_of,
                requested_by=None,
                enqueue=False,
            )

        base = book_run()
        rebalance_run_start(run_id=base.pk, enqueue=False)
        t0 = time.perf_counter()
        done = rebalance_chunk_execute(run_id=base.pk, chunk=0)
        baseline_rate = done / (time.perf_counter() - t0)
        RunAccount.objects.filter(run=base).delete()
        RebalanceRun.objects.filter(pk=base.pk).delete()
        run = book_run()
    connection.close()

    env = {**os.environ, "OPTIMIZER_QUEUE": f"bench-{os.getpid()}"}
    log = open(ROOT / ".dev" / "bench-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            env["OPTIMIZER_QUEUE"],
            "-c",
            str(args.workers),
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(3)
        cpu_before = _worker_cpu_s(worker.pid)
        machine_before = _machine_busy_s()
        from apps.trading.tasks import rebalance_run_start as start_task

        with schema_context(slug):
            start_task.apply_async(args=[run.pk], queue=env["OPTIMIZER_QUEUE"])
            while True:
                run.refresh_from_db()
                if run.status == "completed":
                    break
                if worker.poll() is not None:
                    raise SystemExit("worker died: see .dev/bench-worker.log")
                time.sleep(0.5)
        peak = _peak_rss_mb(worker.pid)
        cpu_used = _worker_cpu_s(worker.pid) - cpu_before
        machine_used = _machine_busy_s() - machine_before
        with schema_context(slug):
            from apps.trading.models import Proposal

            core_ms = sum(
                float(ms or 0)
                for ms in Proposal.objects.filter(run=run).values_list(
                    "metrics__total_time_ms", flat=True
                )
            )
    finally:
        os.killpg(worker.pid, 15)
        worker.wait()
    wall = (run.finished_at - run.started_at).total_seconds()
    rate = total / wall
    share = run.solver_ms / 1000 / (wall * args.workers)
    print(f"baseline (1 process, in-process, first chunk): {baseline_rate:.1f} accounts/s")
    print(f"workers={args.workers} wall_s={wall:.1f} ratio_vs_baseline={rate / baseline_rate:.2f}")
    print(
        f"worker_cpu_ms_per_account={cpu_used * 1000 / total:.1f} "
        f"other_cpu_ms_per_account={(machine_used - cpu_used) * 1000 / total:.1f} "
        f"core_share={core_ms / 1000 / (wall * args.workers):.2f}"
    )
    print(
        f"book accounts={total} names={args.names} accounts_per_s={rate:.1f} "
        f"solver_share={share:.2f} peak_rss_mb={peak:.0f} failed={run.failed_accounts}"
    )


if __name__ == "__main__":
    main()
