"""Runs always recover: refused before they are stored when they cannot be computed, failed with
their reason when they cannot proceed (without blocking the others), re-sent when a chunk goes
silent, and created once per idempotency key. Worker and broker faults: test_run_worker.py."""

import html
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.access.models import AuditEvent, OutboxMessage, OutboxStatus
from apps.access.roles import Role
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today
from apps.trading.errors import TradingErrorCode
from apps.trading.models import RebalanceRun, RunChunk, RunStatus
from apps.trading.services.runs import (
    CHUNK_TASK,
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
    rebalance_runs_resume,
)
from tests.conftest import api_client, login_client
from tests.integration.trading.conftest import AS_OF

STALLED_AFTER_S = settings.OPTIMIZER_RUN_STALLED_AFTER_S
# The run book's model has its first version on 2024-01-01; its prices start in 2023.
BEFORE_THE_MODEL = date(2023, 12, 1)
BEFORE_THE_PRICES = date(1950, 1, 2)


def _impossible_dates() -> dict[str, date]:
    return {
        "before the price history": BEFORE_THE_PRICES,
        "outside model CORE8's life": BEFORE_THE_MODEL,
        "in the future": firm_today() + timedelta(days=1),
    }


def test_run_with_an_impossible_as_of_is_refused_before_it_is_stored(firms, run_book):
    for why, as_of in {
        **_impossible_dates(),
        "before the price history": date(1382, 7, 23),
    }.items():
        with pytest.raises(ApplicationError) as refused:
            rebalance_run_create(
                scope="book", scope_ids=[], mode="full_rebalance", as_of=as_of, requested_by=None
            )
        assert refused.value.code == TradingErrorCode.INVALID_AS_OF
        assert why in refused.value.message
    assert not RebalanceRun.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_impossible_as_of_is_a_400_a_form_error_and_a_command_error(firms, run_book):
    api = api_client(firms["a"], Role.TRADER)
    page = login_client(firms["a"], Role.TRADER)
    for why, as_of in _impossible_dates().items():
        response = api.post("/api/v1/runs/", {"scope": "book", "as_of": str(as_of)}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "run_as_of_invalid"
        assert why in response.json()["message"]
        data = {"target": "book", "mode": "full_rebalance", "as_of": str(as_of)}
        form = page.post("/runs/", data)
        assert form.status_code == 400
        assert why in html.unescape(form.content.decode())
        with pytest.raises(CommandError, match=why):
            call_command("rebalance", "--firm", "firm_a", "--as-of", str(as_of))
    assert not RebalanceRun.objects.exists()
    response = api.post("/api/v1/runs/", {"scope": "book", "as_of": str(AS_OF)}, format="json")
    assert response.status_code == 202


def _stalled(run: RebalanceRun) -> None:
    """Age the run as if it had been created and last heard of an hour ago."""
    old = timezone.now() - timedelta(hours=1)
    RebalanceRun.objects.filter(pk=run.pk).update(created_at=old, started_at=old)
    RunChunk.objects.filter(run=run).update(sent_at=old, heartbeat_at=old)


def test_resume_fails_a_run_that_cannot_proceed_and_still_resends_the_others(
    firms, run_book, django_capture_on_commit_callbacks
):
    # An old row, stored before as-of dates were checked: no model version in force in 1382.
    impossible = RebalanceRun.objects.create(scope="book", as_of=date(1382, 7, 23))
    lost = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        assert rebalance_run_start(run_id=lost.pk) == [0]  # its chunk message is then lost
    _stalled(impossible)
    _stalled(lost)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        assert rebalance_runs_resume(stalled_after_s=STALLED_AFTER_S) == [lost.pk]
    assert len(sends) == 1
    impossible.refresh_from_db()
    assert impossible.status == RunStatus.FAILED
    assert impossible.failure_reason == "model CORE8 has no current version"
    assert AuditEvent.objects.filter(
        action="rebalance_run.fail", object_id=str(impossible.pk)
    ).exists()
    chunk = RunChunk.objects.get(run=lost, chunk=0)
    assert (chunk.resent_count, chunk.silent_s >= 3600) == (1, True)
    assert OutboxMessage.objects.filter(
        task=CHUNK_TASK, args=[lost.pk, 0], status=OutboxStatus.PENDING
    ).exists()
    page = login_client(firms["a"], Role.VIEWER)
    assert (
        "Failed: model CORE8 has no current version"
        in page.get(f"/runs/{impossible.pk}/").content.decode()
    )
    detail = page.get(f"/runs/{lost.pk}/").content.decode()
    assert f"Chunk 0: no progress for {chunk.silent_s} s, re-sent at " in detail
    api = api_client(firms["a"], Role.VIEWER).get(f"/api/v1/runs/{impossible.pk}/").json()
    assert (api["status"], api["failure_reason"]) == ("failed", impossible.failure_reason)
    # The next cycle leaves both alone: one failed, the other just sent again.
    assert rebalance_runs_resume(stalled_after_s=STALLED_AFTER_S) == []
    rebalance_chunk_execute(run_id=lost.pk, chunk=0)
    lost.refresh_from_db()
    assert lost.status == RunStatus.COMPLETED


def test_a_chunk_still_beating_is_never_resent_a_silent_claimed_one_is(
    firms, run_book, django_capture_on_commit_callbacks
):
    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        rebalance_run_start(run_id=run.pk)
    _stalled(run)
    # A worker claimed the chunk long ago and still beats: a long chunk, running.
    RunChunk.objects.filter(run=run).update(heartbeat_at=timezone.now() - timedelta(seconds=5))
    assert rebalance_runs_resume(stalled_after_s=STALLED_AFTER_S) == []
    # Its worker died: no beat for longer than the threshold.
    silent = timezone.now() - timedelta(seconds=STALLED_AFTER_S + 5)
    RunChunk.objects.filter(run=run).update(heartbeat_at=silent)
    with django_capture_on_commit_callbacks(execute=False):
        assert rebalance_runs_resume(stalled_after_s=STALLED_AFTER_S) == [run.pk]
    assert RunChunk.objects.get(run=run).resent_count == 1


def test_a_retried_request_with_the_same_idempotency_key_returns_the_same_run(
    firms, run_book, django_capture_on_commit_callbacks
):
    api = api_client(firms["a"], Role.TRADER)
    body = {"scope": "model", "scope_ids": [run_book["model"].pk], "as_of": str(AS_OF)}
    with django_capture_on_commit_callbacks(execute=False):
        first = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
        again = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
        other = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-43")
        changed = api.post(
            "/api/v1/runs/",
            {**body, "mode": "harvest_only"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="order-42",
        )
        bad_key = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="a b")
    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 202)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert changed.status_code == 409
    assert changed.json()["code"] == "run_idempotency_conflict"
    assert bad_key.status_code == 400
    assert RebalanceRun.objects.count() == 2
    assert OutboxMessage.objects.count() == 2  # one start message per run


def test_a_chunk_overtaken_by_a_later_one_is_resent(
    firms, run_book, django_capture_on_commit_callbacks
):
    """Chunks are queued first in, first out: when a chunk sent after another was claimed and
    the earlier one never was, the earlier message went to a worker that died before starting
    it (or was lost). It is re-sent within the bound even while the run shows life."""
    from apps.trading.models import RunAccount

    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        rebalance_run_start(run_id=run.pk)
    for chunk, account_id in enumerate(
        RunAccount.objects.filter(run=run)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    ):  # one chunk per account: 0, 1, 2, all sent together
        RunAccount.objects.filter(run=run, account_id=account_id).update(chunk=chunk)
        RunChunk.objects.get_or_create(run=run, chunk=chunk)
    _stalled(run)  # created, started and sent an hour ago
    RunChunk.objects.filter(run=run).update(heartbeat_at=None)
    # Chunk 0 is running (beats); 1 and 2 wait behind it: nothing to re-send.
    RunChunk.objects.filter(run=run, chunk=0).update(heartbeat_at=timezone.now())
    assert rebalance_runs_resume(stalled_after_s=STALLED_AFTER_S) == []
    # Chunk 2 was claimed, chunk 1 never was: 1 was overtaken (0 is still running).
    RunChunk.objects.filter(run=run, chunk=2).update(heartbeat_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        assert rebalance_runs_resume(stalled_after_s=STALLED_AFTER_S) == [run.pk]
    resent = dict(RunChunk.objects.filter(run=run).values_list("chunk", "resent_count"))
    assert resent == {0: 0, 1: 1, 2: 0}
