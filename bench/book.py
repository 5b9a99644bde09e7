"""Book benchmark: one whole-book rebalance through real Celery workers on PostgreSQL and Redis.

    python bench/book.py --accounts 2000 --names 500      (500-name direct-index accounts)
    python bench/book.py --accounts 2000 --names 50       (50-name model accounts)

Uses its own database ``platform_bench`` on the server of DATABASE_URL (or the embedded one:
run ``./dev stack start`` first) and the broker of CELERY_BROKER_URL (or the embedded Redis).
Seeds a firm ``bench_<names>_<accounts>`` unless it exists: the documented synthetic book
(``apps.trading.services.synthetic_book``: about 2,000 lots per 500-name account, every lot
derived by the tax-lot engine's replay) for ``--template-households`` households (200: 250
accounts), then copied in the database (``bench.common.book_copy``: one ``INSERT … SELECT`` per
table) up to ``--accounts``; then customizes it once (``synthetic_book_customize``: a never-buy
name on every 10th account, a gains budget on every 3rd taxable one, a monthly withdrawal on
every 25th), then:

- baseline: the first chunk's accounts optimized in this process, one process, no Celery;
- measured: a book run through ``--workers`` worker processes (``celery worker -c N``).

accounts_per_s = accounts / wall time of the run (first task start to last chunk stored);
solver_share = time inside the solver (PIQP, ``RebalanceRun.solver_ms``) / (wall time x worker
processes); peak_rss_mb = the largest peak resident set of a worker process.

CPU per account, measured from the operating system over the run (``/proc/<pid>/stat``: user +
system time of each process of a tree, plus the time of its exited, reaped children):

- cpu_ms_per_account: the Celery worker's process tree (the main process and its pool);
- db_cpu_ms_per_account: the PostgreSQL server's process tree (the postmaster of the server
  this script is connected to, found as its backend's parent: every backend, including the
  ones a worker opened and closed during the run, which the postmaster reaped, the WAL writer,
  checkpointer and autovacuum), less this script's own backend. The server must be on this
  host and serve nobody else during the run (the per-session embedded one): another
  database's work on it counts as the run's (a chunk's connection lives for one task, so
  per-database backends cannot be told apart after they exit);
- solver_ms_per_account: PIQP's time from the run's results (``RebalanceRun.solver_ms``).

A line before the last reports the rest of the machine's busy CPU per account (this script,
Redis and everybody else's jobs on a shared machine) and core_share: time in the whole optimizer
core (``solve_rebalance``) / (wall time x worker processes). The last line is exactly:

    book accounts=<n> names=<n> accounts_per_s=<x> solver_share=<x> peak_rss_mb=<x> failed=<n>
    cpu_ms_per_account=<x> db_cpu_ms_per_account=<x> solver_ms_per_account=<x>

(on one line).
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

from bench.common import bench_database_url, book_copy  # noqa: E402


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and of its exited children it has reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / ticks  # utime, stime, cutime, cstime


def _tree_cpu_s(pid: int, *, exclude: int | None = None) -> float:
    """CPU seconds so far of a process tree (``_process_cpu_s`` of each), less ``exclude``'s."""
    import psutil

    total = 0.0
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        if proc.pid == exclude:
            continue
        try:
            total += _process_cpu_s(proc.pid)
        except OSError:  # exited in between: its parent counts it once reaped
            continue
    return total


def _database_cpu_s() -> float:
    """CPU seconds so far of the PostgreSQL server's processes, less this script's backend."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    return _tree_cpu_s(psutil.Process(backend).ppid(), exclude=backend)


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
    parser.add_argument(
        "--template-households",
        type=int,
        default=200,
        help="households generated and replayed; the rest of the book copies them",
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url("platform_bench")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

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
        with tenant_context(firm):
            from apps.trading.services.synthetic_book import synthetic_book_create

            households = max(1, round(args.accounts / 1.25))  # every 4th household adds an IRA
            template = min(households, args.template_households)
            synthetic_book_create(
                households=template, names=args.names, as_of=as_of, seed=args.seed
            )
            generated = time.perf_counter() - started
            if households > template:
                book_copy(households=households, template_households=template, seed=args.seed)
            from apps.accounts.models import Account, TaxLot

            print(
                f"seeded {Account.objects.count()} accounts, {TaxLot.objects.count()} lots in "
                f"{time.perf_counter() - started:.0f} s ({template} households generated in "
                f"{generated:.0f} s, the rest copied)"
            )
    with tenant_context(firm):
        from apps.trading.services.synthetic_book import synthetic_book_customize

        customized = synthetic_book_customize(as_of=as_of)
        if customized:
            print(f"customized {customized} accounts (restrictions, gains budgets, withdrawals)")
        # The firm's tables vacuumed, as a live book's are long since: otherwise autovacuum
        # works through the freshly loaded lots during the run and counts as the run's.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [slug]
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f'VACUUM (ANALYZE) "{slug}"."{table}"')

    from apps.trading.models import RebalanceRun, RunAccount
    from apps.trading.services.runs import (
        rebalance_chunk_execute,
        rebalance_run_create,
        rebalance_run_start,
    )

    with tenant_context(firm):
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
        cpu_before = _tree_cpu_s(worker.pid)
        with tenant_context(firm):
            db_before = _database_cpu_s()
        machine_before = _machine_busy_s()
        from apps.trading.tasks import rebalance_run_start as start_task

        with tenant_context(firm):
            start_task.apply_async(args=[run.pk], queue=env["OPTIMIZER_QUEUE"])
            while True:
                run.refresh_from_db()
                if run.status == "completed":
                    break
                if worker.poll() is not None:
                    raise SystemExit("worker died: see .dev/bench-worker.log")
                time.sleep(0.5)
        peak = _peak_rss_mb(worker.pid)
        cpu_used = _tree_cpu_s(worker.pid) - cpu_before
        machine_used = _machine_busy_s() - machine_before
        with tenant_context(firm):
            db_used = _database_cpu_s() - db_before
        with tenant_context(firm):
            from apps.trading.models import Proposal

            first_sent = run.chunks.order_by("sent_at").values_list("sent_at", flat=True)[0]
            core_ms = sum(
                float(ms or 0)
                for ms in Proposal.objects.filter(run=run).values_list(
                    "metrics__total_time_ms", flat=True
                )
            )
    finally:
        os.killpg(worker.pid, 15)
        worker.wait()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sum(pg_total_relation_size(format('%%I.%%I', schemaname, tablename)))"
                " FROM pg_tables WHERE schemaname = %s",
                [slug],
            )
            (schema_bytes,) = cursor.fetchone()
    wall = (run.finished_at - run.started_at).total_seconds()
    rate = total / wall
    share = run.solver_ms / 1000 / (wall * args.workers)
    per_account = 1000 / total  # ms per account, from seconds
    print(f"baseline (1 process, in-process, first chunk): {baseline_rate:.1f} accounts/s")
    print(
        f"workers={args.workers} wall_s={wall:.1f} ratio_vs_baseline={rate / baseline_rate:.2f} "
        f"run_start_s={(first_sent - run.started_at).total_seconds():.2f} "
        f"firm_database_mb={schema_bytes / 2**20:.0f}"
    )
    print(
        f"worker_plus_db_cpu_ms_per_account={(cpu_used + db_used) * per_account:.1f} "
        f"rest_of_machine_cpu_ms_per_account="
        f"{(machine_used - cpu_used - db_used) * per_account:.1f} "
        f"core_share={core_ms / 1000 / (wall * args.workers):.2f} "
        f"load_average_1m={os.getloadavg()[0]:.1f}"
    )
    print(
        f"book accounts={total} names={args.names} accounts_per_s={rate:.1f} "
        f"solver_share={share:.2f} peak_rss_mb={peak:.0f} failed={run.failed_accounts} "
        f"cpu_ms_per_account={cpu_used * per_account:.1f} "
        f"db_cpu_ms_per_account={db_used * per_account:.1f} "
        f"solver_ms_per_account={run.solver_ms * per_account / 1000:.1f}"
    )


if __name__ == "__main__":
    main()
