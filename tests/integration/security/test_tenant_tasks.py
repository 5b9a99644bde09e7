"""Every tenant task, enumerated from the Celery app's registry, is a door too.

Sent without a firm's schema (a message with no ``_schema_name`` header runs in ``public``) it
is refused with ``TenantContextError``. Sent in firm B's schema with firm A's ids it finds
nothing: firm A's tables do not change, and a task naming firm A's objects leaves firm B's
unchanged too. Tasks run eagerly in-process through ``apply``, which stamps the schema header
exactly as tenant-schemas-celery does for a worker (``TenantTask.apply``); the real worker
process is exercised by ``tests/integration/celery/test_worker_isolation.py``.
"""

import importlib
import importlib.util
import inspect
import threading
from typing import Any

from celery import Task
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from apps.common.exceptions import TenantContextError
from config.celery import app
from tests.integration.security.conftest import schema_fingerprint
from tests.integration.security.doors import AS_OF, TRIED, Seed, UnseededDoorError

# Task arguments that name firm objects, and plain arguments with a harmless value.
OBJECT_ARGS = {"run_id": "trading.rebalancerun", "batch_id": "reports.reportbatch"}
ACTOR_ARGS = {"acting_user_id": "auth.user"}
PLAIN_ARGS = {"chunk": 0, "as_of": AS_OF, "action_prefix": ""}
TENANT_TASK_MODULES = tuple(f"{a}.tasks" for a in settings.TENANT_APPS if a.startswith("apps."))


def tenant_tasks() -> dict[str, Task]:
    """The registered tasks defined in tenant apps' ``tasks`` modules."""
    app.loader.import_default_modules()
    return {
        name: task
        for name, task in sorted(app.tasks.items())
        if task.__module__ in TENANT_TASK_MODULES
    }


def _arguments(task: Task, seed: Seed) -> tuple[list[Any], bool]:
    """The task's arguments with firm A's ids; whether any names a firm A object."""
    values, names_objects = [], False
    for name in inspect.signature(task.run).parameters:
        if name in OBJECT_ARGS:
            values.append(seed.value(OBJECT_ARGS[name], f"task {task.name}"))
            names_objects = True
        elif name in ACTOR_ARGS:
            values.append(seed.value(ACTOR_ARGS[name], f"task {task.name}"))
        elif name in PLAIN_ARGS:
            values.append(PLAIN_ARGS[name])
        else:
            raise UnseededDoorError(f"task {task.name}: no value for argument {name!r}")
    return values, names_objects


def test_every_tenant_task_is_registered():
    """The registry holds every task object of the tenant apps' modules (none slips past)."""
    defined = {
        obj.name
        for module in TENANT_TASK_MODULES
        if importlib.util.find_spec(module)
        for obj in vars(importlib.import_module(module)).values()
        if isinstance(obj, Task)
    }
    assert defined
    assert set(tenant_tasks()) == defined
    assert not any(name.startswith("apps.firms.") for name in tenant_tasks())


def _apply_on_own_connection(task: Task, args: list[Any], schema: str | None = None) -> Any:
    """``task.apply`` on a thread, with its own database connection (autocommit).

    A task's failure handler calls ``close_old_connections()``, which would close the test's
    own transaction. A refusing task writes nothing, so nothing is left committed; had it
    written, the fingerprints (read on the test's connection) would show it.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        headers = {"_schema_name": schema} if schema else None  # None: this thread's "public"
        try:
            outcome["result"] = task.apply(args=args, headers=headers).result
        except Exception as exc:
            outcome["result"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome["result"]


def test_tenant_tasks_refuse_public_and_find_nothing_of_firm_a_in_firm_b(seed, firms):
    from apps.access.models import AuditEvent

    tasks = tenant_tasks()
    firm_a_before = schema_fingerprint(firms["a"].schema)
    tried, failures = 0, []
    for name, task in tasks.items():
        args, names_objects = _arguments(task, seed)
        refused = _apply_on_own_connection(task, args)
        tried += 1
        if not isinstance(refused, TenantContextError):
            failures.append(f"{name} without a schema: {refused!r}")

        firm_b_before = schema_fingerprint(firms["b"].schema)
        if names_objects:  # must find nothing: run where a failure handler may close
            _apply_on_own_connection(task, args, firms["b"].schema)
        else:  # works on firm B's own data: in the test's transaction, rolled back
            task.apply(args=args, headers={"_schema_name": firms["b"].schema})
        tried += 1
        firm_b_after = schema_fingerprint(firms["b"].schema)
        changed = [t for t, v in firm_b_after.items() if firm_b_before.get(t) != v]
        if names_objects and changed:
            failures.append(f"{name} in firm B with firm A's ids changed firm B: {changed}")
        with schema_context(firms["b"].schema):
            if AuditEvent.objects.filter(acting_user_id=seed.ids["auth.user"]).exists():
                failures.append(f"{name} recorded firm A's user in firm B")
    firm_a_after = schema_fingerprint(firms["a"].schema)
    TRIED["tenant tasks (no schema, firm B's schema)"] += tried
    print(f"tenant tasks: {len(tasks)}; sends tried: {tried}")
    assert failures == [], "\n".join(failures)
    assert sorted(t for t in firm_a_before if firm_a_before[t] != firm_a_after.get(t)) == []
    assert tried == 2 * len(tasks)
