"""Load benchmark: 50 signed-in users on the main pages and API of a 10,000-account firm.

    python bench/load.py                       (10,000 accounts, 50 users, 60 s)
    python bench/load.py --users 50 --run-time 60 --database platform_load

Uses its own database (``--database``, default ``platform_load``) on the server of DATABASE_URL
(or the embedded one: run ``./dev stack start`` first). A firm ``load_<accounts>`` is seeded unless
it exists (each step is skipped when its rows are there):

- the documented synthetic book (``apps.trading.services.synthetic_book``, 50-name model, lots
  derived by the ledger replay) for 200 households, then copied in SQL (set-based
  ``INSERT … SELECT``) up to ``--accounts`` accounts with renumbered households and accounts;
- account restrictions on every 100th account; one completed whole-book run (every account
  optimized in this process); 200 proposals approved and turned into orders; a client-report
  batch of 5 accounts rendered; the daily scan of the run's date; every account's stored
  position valued today (``AccountPosition``: what the accounts list, its "Needs" filters and
  the dashboard read).

``--seed-only`` stops after seeding (to seed while something else is being measured).

Then the server: ``collectstatic`` and gunicorn (``--workers`` sync workers, 127.0.0.1 only) with
``config.settings.production`` (DEBUG off, whitenoise serving the hashed static files, persistent
connections). Loopback is plain HTTP, so it runs with ``DJANGO_SECURE_SSL_REDIRECT=false`` and
``DJANGO_SECURE_COOKIES=false``; every other production setting keeps its default.

Then locust, headless (``bench/load_users.py``): ``--users`` users spawned at ``--spawn-rate``
per second, three page users (session sign-in) for each API user (token sign-in), each waiting
1 to 3 s between requests; after the last user has signed in, ``--warmup`` seconds unmeasured,
then ``--run-time`` seconds measured. A response other than 200 is an error.

Prints the per-endpoint table of the measured window (latencies in ms), then
``server_cpu_ms_per_request``: CPU time of the gunicorn workers and of their PostgreSQL backends
over the measured window per request, the figure to compare on a shared machine (latencies
depend on everybody's load; connections live 600 s so no backend's CPU is lost). The last line
is exactly:

    load users=<n> requests_per_s=<x> p50_ms=<x> p95_ms=<x> p99_ms=<x> errors=<n>
"""

import argparse
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

from bench.common import bench_database_url, book_copy  # noqa: E402

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from apps.trading.models import RebalanceRun

PASSWORD = "load-pass-2026"  # noqa: S105 - a benchmark login on a loopback-only server
TEMPLATE_HOUSEHOLDS = 200  # every 4th household adds an IRA: 250 accounts, replayed for real
SAMPLE = 500  # ids of each kind handed to the locust users


def _seed(*, accounts: int, seed: int) -> dict[str, str]:
    """Create (or reuse) the firm and return what the locust users need, as env variables."""
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from apps.firms.models import Firm
    from apps.firms.services import firm_create
    from apps.securities.models import Price

    call_command("migrate_schemas", verbosity=0)  # a reused firm gets the newer migrations
    if not Price.objects.exists():
        call_command("load_reference_data", verbosity=0)
    as_of = Price.objects.order_by("-priced_on").values_list("priced_on", flat=True).first()
    if as_of is None:
        raise SystemExit("no prices: load_reference_data loaded none")
    slug = f"load_{accounts}"
    host = f"load-{accounts}.localhost"
    username = "admin@load.test"
    if not Firm.objects.filter(slug=slug).exists():
        firm_create(
            name=f"Load {accounts}",
            slug=slug,
            domain=host,
            admin_email=username,
            admin_password=PASSWORD,
        )
    with tenant_context(Firm.objects.get(slug=slug)):  # a real firm: runs read its business date
        return _seed_tenant(accounts=accounts, seed=seed, as_of=as_of, host=host, user=username)


def _seed_tenant(*, accounts: int, seed: int, as_of: date, host: str, user: str) -> dict[str, str]:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection

    from apps.accounts.attention import account_positions_store, stale_account_ids
    from apps.accounts.models import Account
    from apps.common.tenancy import firm_today
    from apps.models.models import ModelPortfolio
    from apps.reports.models import ReportBatch, ReportKind
    from apps.reports.services.batches import report_batch_create, report_batch_run_inline
    from apps.restrictions.models import Restriction
    from apps.restrictions.services import restriction_add
    from apps.trading.models import Order, Proposal, ProposalStatus, RebalanceRun, RunStatus
    from apps.trading.services.orders import orders_create_from_approved
    from apps.trading.services.review import proposals_decide
    from apps.trading.services.scan import daily_scan_run
    from apps.trading.services.synthetic_book import synthetic_book_create

    admin = get_user_model().objects.get(username=user)
    if not admin.password.startswith("scrypt$"):
        # The server's hasher (production settings): a sign-in that re-hashed the password
        # would change its fingerprint and kill every API token issued before it (401s).
        from django.contrib.auth.hashers import make_password

        admin.password = make_password(PASSWORD, hasher="scrypt")
        admin.save(update_fields=["password"])
    started = time.perf_counter()
    seeded = not ReportBatch.objects.exists()  # the last step below
    if not Account.objects.exists():
        synthetic_book_create(
            households=TEMPLATE_HOUSEHOLDS, names=50, as_of=as_of, seed=seed, model_code="CORE50"
        )
        print(f"seeded the template book in {time.perf_counter() - started:.0f} s", flush=True)
    households = round(accounts / 1.25)
    if Account.objects.count() < accounts:
        book_copy(households=households, template_households=TEMPLATE_HOUSEHOLDS, seed=seed)
        print(f"copied the book in {time.perf_counter() - started:.0f} s", flush=True)
    if not Restriction.objects.exists():
        for i, account in enumerate(Account.objects.order_by("pk")[::100]):
            restriction_add(
                kind="never_buy" if i % 2 else "exclude_esg",
                value="AAPL" if i % 2 else "tobacco",
                starts_on=as_of - timedelta(days=30),
                acting_user=admin,
                account=account,
                reason="client request (load benchmark)",
            )
    run = RebalanceRun.objects.filter(status=RunStatus.COMPLETED).order_by("-pk").first()
    if run is None:
        run = _book_run(as_of=as_of)
        print(f"book run done in {time.perf_counter() - started:.0f} s", flush=True)
    if not Order.objects.exists():
        pending = list(
            Proposal.objects.filter(run=run, status=ProposalStatus.PENDING_APPROVAL)
            .order_by("pk")
            .values_list("pk", flat=True)[:200]
        )
        proposals_decide(proposal_ids=pending, approve=True, acting_user=admin)
        orders_create_from_approved(acting_user=admin)
    daily_scan_run(as_of=as_of)  # once per date: a no-op when stored
    if stale_account_ids(as_of=firm_today(), limit=1):  # what the pages read, valued today
        account_positions_store(as_of=firm_today())
        print(f"positions stored in {time.perf_counter() - started:.0f} s", flush=True)
    if not ReportBatch.objects.exists():
        batch = report_batch_create(
            kind=ReportKind.CLIENT,
            year=as_of.year,
            as_of=as_of,
            account_ids=list(Account.objects.order_by("pk").values_list("pk", flat=True)[:5]),
            requested_by=admin,
            enqueue=False,
        )
        report_batch_run_inline(batch=batch)
    if seeded:  # planner statistics, as autovacuum would have them on a live server
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def sample(query: "QuerySet[Any]") -> str:
        ids = list(query.values_list("pk", flat=True))
        step = max(1, len(ids) // SAMPLE)
        return ",".join(str(i) for i in ids[::step][:SAMPLE])

    return {
        "LOAD_HOST": host,
        "LOAD_USERNAME": user,
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_ACCOUNT_IDS": sample(Account.objects.order_by("pk")),
        "LOAD_PROPOSAL_IDS": sample(Proposal.objects.filter(run=run).order_by("pk")),
        "LOAD_RUN_ID": str(run.pk),
        "LOAD_MODEL_ID": str(ModelPortfolio.objects.order_by("pk").values_list("pk", flat=True)[0]),
        "LOAD_ACCOUNT_PAGES": str(-(-Account.objects.count() // 50)),
    }


def _book_run(*, as_of: date) -> "RebalanceRun":
    """A whole-book run executed chunk by chunk in this process (no Celery)."""
    from apps.trading.models import RebalanceRun, RunMode, RunScope
    from apps.trading.services.runs import (
        rebalance_chunk_execute,
        rebalance_run_create,
        rebalance_run_start,
    )

    run = rebalance_run_create(
        scope=RunScope.BOOK,
        scope_ids=[],
        mode=RunMode.FULL_REBALANCE,
        as_of=as_of,
        requested_by=None,
        enqueue=False,
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    return RebalanceRun.objects.get(pk=run.pk)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, host: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit("gunicorn died: see .dev/load-server.log")
        try:
            request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback
                return
        except OSError:  # refused, reset or timed out while the workers boot
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer within 60 s")


def _percentile(times: dict[int, int], fraction: float) -> int:
    """The response time (ms, locust's rounding) below which ``fraction`` of requests fall."""
    total, seen = sum(times.values()), 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= fraction * total:
            return ms
    return 0


def _report(stats_json: Path, users: int, *, server_cpu_s: float, database_cpu_s: float) -> None:
    """Print the per-endpoint table (ms), the server's CPU per request and the last line."""
    entries = [e for e in json.loads(stats_json.read_text()) if e["num_requests"]]
    print(f"{'endpoint':48} {'reqs':>6} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}")
    merged: Counter[int] = Counter()
    for e in sorted(entries, key=lambda e: e["name"]):
        times = {int(ms): n for ms, n in e["response_times"].items()}
        merged.update(times)
        print(
            f"{(e['method'] + ' ' + e['name'])[:48]:48} {e['num_requests']:>6} "
            f"{e['num_failures']:>5} {_percentile(times, 0.5):>6} {_percentile(times, 0.95):>6} "
            f"{_percentile(times, 0.99):>6} {e['max_response_time']:>7.0f}"
        )
    requests = sum(e["num_requests"] for e in entries)
    errors = sum(e["num_failures"] for e in entries)
    seconds = max(e["last_request_timestamp"] for e in entries) - min(
        e["start_time"] for e in entries
    )
    print(
        f"server_cpu_ms_per_request={server_cpu_s * 1000 / max(requests, 1):.1f} "
        f"(gunicorn workers and their PostgreSQL backends; of which PostgreSQL "
        f"{database_cpu_s * 1000 / max(requests, 1):.1f})"
    )
    print(
        f"load users={users} requests_per_s={requests / seconds:.1f} "
        f"p50_ms={_percentile(merged, 0.5)} p95_ms={_percentile(merged, 0.95)} "
        f"p99_ms={_percentile(merged, 0.99)} errors={errors}"
    )


def _server_cpu_s(server_pid: int, database: str) -> dict[tuple[str, int], float]:
    """CPU seconds so far of each gunicorn worker and each PostgreSQL backend of ``database``.

    Keys are ``("gunicorn" | "postgres", pid)``.
    """
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        backends = [psutil.Process(pid) for (pid,) in cursor.fetchall()]
    cpu = {}
    for kind, proc in [
        *(("gunicorn", p) for p in psutil.Process(server_pid).children()),
        *(("postgres", p) for p in backends),
    ]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        cpu[kind, proc.pid] = times.user + times.system
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--run-time", type=int, default=60, help="seconds measured")
    parser.add_argument(
        "--warmup", type=int, default=15, help="seconds after the last sign-in, not measured"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (>1: gthread workers)"
    )
    parser.add_argument("--database", default="platform_load")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seed-only", action="store_true", help="seed the firm, measure nothing")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url(args.database)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from config import devstack

    users_env = _seed(accounts=args.accounts, seed=args.seed)
    connection.close()
    if args.seed_only:
        return

    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # Production refuses a per-process cache (sign-in lockouts): the embedded Redis, db 1.
        "DJANGO_CACHE_URL": f"redis://{devstack.redis_socket()}?db=1",
        "DJANGO_ALLOWED_HOSTS": f"{users_env['LOAD_HOST']},127.0.0.1",
        # Persistent connections outlive the run, so the CPU of their backends is all counted.
        "DJANGO_CONN_MAX_AGE": "600",
        "DJANGO_LOG_LEVEL": "WARNING",
        # Plain HTTP on loopback: no HTTPS redirect, cookies not HTTPS-only (see docstring).
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=server_env,
        check=True,
    )
    port = _free_port()
    (ROOT / ".dev").mkdir(exist_ok=True)
    log = open(ROOT / ".dev" / "load-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    prefix = ROOT / ".dev" / "load"
    flag = ROOT / ".dev" / "load-measuring"
    flag.unlink(missing_ok=True)
    locust_env = {
        **os.environ,
        **users_env,
        "LOAD_WARMUP_S": str(args.warmup),
        "LOAD_RUN_S": str(args.run_time),
        "LOAD_MEASURING_FLAG": str(flag),
    }
    # Hard bound: spawning, two minutes to sign everybody in, the warm-up and the measured time.
    bound = math.ceil(args.users / args.spawn_rate) + 120 + args.warmup + args.run_time
    try:
        _wait_ready(f"http://127.0.0.1:{port}/login/", users_env["LOAD_HOST"], server)
        load = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "load_users.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{bound}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--json-file",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--exit-code-on-error",
                "0",
            ],
            cwd=ROOT,
            env=locust_env,
        )
        while not flag.exists() and load.poll() is None:
            time.sleep(0.2)
        if not flag.exists():
            raise SystemExit("locust ended before every user had signed in")
        cpu_before = _server_cpu_s(server.pid, args.database)
        if load.wait() != 0:
            raise SystemExit(f"locust failed with exit code {load.returncode}")
        cpu_after = _server_cpu_s(server.pid, args.database)
        connection.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait()
    used = {key: cpu_after[key] - cpu_before[key] for key in cpu_after if key in cpu_before}
    _report(
        Path(f"{prefix}.json"),
        args.users,
        server_cpu_s=sum(used.values()),
        database_cpu_s=sum(s for (kind, _), s in used.items() if kind == "postgres"),
    )


if __name__ == "__main__":
    main()
