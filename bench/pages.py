"""Pages one at a time: each page's own latency and CPU on the firm bench/load.py seeded.

    python bench/pages.py                          (the 20,000-account firm, 20 requests a page)
    python bench/pages.py --accounts 20000 --requests 20 --database platform_load

Where ``bench/load.py`` measures 50 users queued in front of two gunicorn workers (on a shared
machine mostly the queue, i.e. everybody else's load), this measures what each page costs by
itself: one Django test client in this process, signed in as the firm's admin, requests one
after the other (one warm-up each, not counted), with the production code paths (DEBUG off).
Per page it prints the median and p95 of wall time, the median CPU time of this process (the
page's Python) and the median number of queries; the last line is

    pages accounts=<n> requests=<n> worst_p95_ms=<x> worst_page=<path> load_avg=<x>

Needs the firm seeded first (``bench/load.py --accounts <n> --seed-only``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

from bench.common import bench_database_url  # noqa: E402


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20, help="per page, after one warm-up")
    parser.add_argument("--database", default="platform_load")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url(args.database)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from apps.accounts.models import Account
    from apps.firms.models import Firm
    from apps.trading.models import Proposal, RebalanceRun

    settings.ALLOWED_HOSTS = ["*"]
    firm = Firm.objects.filter(slug=f"load_{args.accounts}").first()
    if firm is None:
        raise SystemExit(f"no firm load_{args.accounts}: run bench/load.py --seed-only first")
    with tenant_context(firm):
        run_id = RebalanceRun.objects.order_by("-pk").values_list("pk", flat=True).first()
        account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
        proposal_id = Proposal.objects.filter(run_id=run_id).order_by("pk").first().pk  # type: ignore[union-attr]
        client = Client(HTTP_HOST=f"load-{args.accounts}.localhost")
        client.force_login(get_user_model().objects.get(username="admin@load.test"))
    pages = args.accounts // 50
    paths = {
        "dashboard": lambda i: "/",
        "accounts list": lambda i: f"/accounts/?page={1 + (i * 37) % pages}",
        "accounts by value": lambda i: f"/accounts/?sort=-value&page={1 + i % 5}",
        "Needs filter": lambda i: (
            "/accounts/?flag=" + ("drift", "harvest", "cash_due", "budget_nearly_used")[i % 4]
        ),
        "search": lambda i: f"/accounts/?q=Household+{(i * 53) % 800:03d}",
        "registration filter": lambda i: f"/accounts/?registration=traditional_ira&page={1 + i}",
        "run page": lambda i: f"/runs/{run_id}/?page={1 + (i * 7) % 400}",
        "runs": lambda i: "/runs/",
        "approvals": lambda i: f"/approvals/?page={1 + i % 5}",
        "account": lambda i: f"/accounts/{account_ids[(i * 997) % len(account_ids)]}/",
        "proposal": lambda i: f"/proposals/{proposal_id + i}/",
        "orders": lambda i: "/orders/",
        "reports": lambda i: "/reports/",
    }
    print(f"{'page':22} {'p50_ms':>7} {'p95_ms':>7} {'cpu_ms':>7} {'queries':>7}  example")
    worst = (0.0, "")
    for name, path_of in paths.items():
        client.get(path_of(args.requests))  # warm-up: caches, connection, templates
        walls, cpus, queries = [], [], []
        for i in range(args.requests):
            path = path_of(i)
            started, cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            queries.append(len(captured.captured_queries))
            if response.status_code != 200:
                raise SystemExit(f"{path}: status {response.status_code}")
        p95 = _percentile(walls, 0.95)
        worst = max(worst, (p95, name))
        print(
            f"{name:22} {_percentile(walls, 0.5):>7.0f} {p95:>7.0f} "
            f"{_percentile(cpus, 0.5):>7.0f} {_percentile(queries, 0.5):>7.0f}  {path_of(0)}"
        )
    print(
        f"pages accounts={args.accounts} requests={args.requests} worst_p95_ms={worst[0]:.0f} "
        f"worst_page={worst[1].replace(' ', '_')} load_avg={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
