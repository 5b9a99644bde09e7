"""One book run shared by two worker processes on one broker: every account solved exactly once.

Two Celery nodes with different hostnames, each consuming the optimizer queue and a queue of its
own (as workers on two machines would): the run's start goes to one node's own queue, its chunks
to the shared optimizer queue, where both nodes take them.
"""

import os
import re
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from apps.trading.models import RunChunk, RunStatus
from apps.trading.tasks import rebalance_run_start
from tests.integration.trading.conftest import (
    WORKER_SCHEMA,
    worker_run_check_complete,
    worker_run_get,
    worker_run_new,
)
from tests.processes import celery_worker, wait_for

pytestmark = pytest.mark.worker


def _succeeded(log: Path, task: str) -> int:
    """How many ``task`` messages the node's log reports as succeeded."""
    pattern = rf"Task apps\.trading\.tasks\.{task}\[[^\]]+\] succeeded"
    return len(re.findall(pattern, log.read_text()))


def test_two_nodes_share_a_book_run_and_solve_every_account_once(
    worker_firm, django_db_blocker, tmp_path
):
    queue = f"test-two-{os.getpid()}"
    env = {"OPTIMIZER_CHUNK_SIZE": "4"}
    logs = {node: tmp_path / f"{node}.log" for node in ("a", "b")}
    with django_db_blocker.unblock():
        run = worker_run_new()
        with (
            celery_worker(
                logs["a"], queue=queue, hostname=f"a-{queue}@%h", own_queue=f"{queue}-a",
                extra_env=env,
            ),
            celery_worker(
                logs["b"], queue=queue, hostname=f"b-{queue}@%h", own_queue=f"{queue}-b",
                extra_env=env,
            ),
        ):  # fmt: skip
            with schema_context(WORKER_SCHEMA):
                rebalance_run_start.apply_async(args=[run.pk], queue=f"{queue}-b")
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED, timeout_s=180
            ), logs["a"].read_text()[-2000:] + logs["b"].read_text()[-2000:]
        # One proposal per account, none pending, none failed: each account solved and stored once.
        run = worker_run_check_complete(run.pk)
        assert run.failed_accounts == 0
        with schema_context(WORKER_SCHEMA):
            chunks = RunChunk.objects.filter(run_id=run.pk)
            assert not chunks.filter(resent_count__gt=0).exists()
            chunk_count = chunks.count()
    assert "a-" + queue in logs["a"].read_text() and "b-" + queue in logs["b"].read_text()
    assert _succeeded(logs["a"], "rebalance_run_start") == 0  # sent to b's own queue
    assert _succeeded(logs["b"], "rebalance_run_start") == 1
    by_node = {node: _succeeded(log, "rebalance_chunk_execute") for node, log in logs.items()}
    assert sum(by_node.values()) == chunk_count  # each chunk's message executed once, overall
    assert min(by_node.values()) > 0, by_node  # and both nodes took chunks
