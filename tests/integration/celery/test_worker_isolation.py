"""A real worker process, over the real broker, runs a task in firm A's schema and sees only A."""

import csv
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent
from apps.access.tasks import audit_export_csv
from tests.processes import celery_worker, wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def probes(firms, django_db_blocker):
    """Committed audit rows in both firms, tagged so the test finds only its own."""
    tag = f"probe-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        for key in ("a", "b"):
            with schema_context(firms[key].schema):
                for i in range(3 if key == "a" else 2):
                    AuditEvent.objects.create(action=f"{tag}.{key}", acting_username=f"{key}{i}")
    yield tag
    with django_db_blocker.unblock():
        for key in ("a", "b"):
            with schema_context(firms[key].schema):
                AuditEvent.objects.filter(action__startswith=tag).delete()
                AuditEvent.objects.filter(payload__action_prefix=tag).delete()


def _export_events(schema: str, tag: str) -> list[AuditEvent]:
    with schema_context(schema):
        return list(AuditEvent.objects.filter(action="audit.export", payload__action_prefix=tag))


def test_real_worker_runs_in_firm_a_schema_only(firms, probes, django_db_blocker, tmp_path):
    tag = probes
    with django_db_blocker.unblock(), celery_worker(tmp_path / "worker.log") as queue:
        with schema_context(firms["a"].schema):
            audit_export_csv.apply_async(args=[tag, None], queue=queue)
        # The same task sent from public carries no schema: the worker must refuse it.
        audit_export_csv.apply_async(args=[tag, None], queue=queue)
        assert wait_for(lambda: len(_export_events(firms["a"].schema, tag)) == 1)
        assert wait_for(lambda: "TenantContextError" in (tmp_path / "worker.log").read_text())
        events = _export_events(firms["a"].schema, tag)
        assert _export_events(firms["b"].schema, tag) == []

    event = events[0]
    assert event.payload["rows"] == 3
    assert event.payload["schema"] == "firm_a"
    path = Path(settings.MEDIA_ROOT) / "firm_a" / event.payload["file"]
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["acting_username"] for r in rows) == ["a0", "a1", "a2"]
    assert all(r["action"] == f"{tag}.a" for r in rows)
    path.unlink()


def test_a_task_finds_its_firm_after_the_database_dropped_the_connection(firms, django_db_blocker):
    """The firm lookup before a task (tenant-schemas-celery's prerun) on a connection the
    database terminated since the last task: read again on a fresh connection, not logged and
    skipped (which ran the task in public, refused, and lost its chunk until the resume)."""
    import psycopg
    from django.db import connection

    from config.celery import PlatformTask

    with django_db_blocker.unblock():
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        with psycopg.connect(
            **{k: v for k, v in params.items() if k in ("host", "port", "user", "dbname")},
            autocommit=True,
        ) as other:
            assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        assert not settings.CELERY_TASK_TENANT_CACHE_SECONDS  # so the firm is read, not cached
        firm = PlatformTask.get_tenant_for_schema(schema_name=firms["a"].schema)
        assert firm.schema_name == firms["a"].schema
        assert connection.connection.info.backend_pid != pid
