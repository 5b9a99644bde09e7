"""The tenant-aware Celery app: every task message carries its firm's schema in its headers."""

import os
from contextlib import suppress
from queue import Empty
from typing import Any

from django.db import InterfaceError, OperationalError, connections
from kombu.transport import redis as kombu_redis
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

_redis_channel_close = kombu_redis.Channel.close


def _redis_channel_close_after_server_loss(self: kombu_redis.Channel) -> None:
    """Close a Redis channel whose server went away while a BRPOP was waiting.

    kombu 5.7 first reads the pending BRPOP's reply, which raises before the channel is marked
    closed; Celery 5.7 then closes it a second time after the transport has dropped its client,
    the restore of the unacknowledged messages fails with AttributeError and the worker exits
    ("Unrecoverable error"). That is any worker with a task running and a slot free when Redis
    restarts. A reply from a dead server is nothing to read: go on closing. Proved by
    tests/integration/trading/test_redis_restart.py (the worker must outlive the restart).
    """
    # _in_poll and _brpop_read are the redis Channel's private poll state (absent from its stubs).
    if self._in_poll:  # type: ignore[attr-defined]
        # On a lost server _brpop_read drops the dead connection and clears _in_poll.
        with suppress(Empty, *self.connection.connection_errors):
            self._brpop_read()  # type: ignore[attr-defined]
    _redis_channel_close(self)


kombu_redis.Channel.close = _redis_channel_close_after_server_loss  # type: ignore[method-assign]


class PlatformTask(TenantTask):
    """A tenant task whose firm lookup survives a connection the database dropped between tasks.

    tenant-schemas-celery reads the firm in its ``task_prerun`` handler, before Django's own
    handlers discard a broken connection; a failure there is only logged, and the task body then
    runs in ``public`` and is refused (``require_tenant_schema``): a chunk lost until the
    stalled-run resume. The read is tried once more on a fresh connection; if the database is
    still down the task is refused as before (fails closed).
    """

    @classmethod
    def get_tenant_for_schema(cls, schema_name: str) -> Any:
        """The firm of ``schema_name``; on a dropped connection, once more on a fresh one."""
        try:
            return super().get_tenant_for_schema(schema_name)
        except (OperationalError, InterfaceError):
            for alias in cls.get_tenant_databases():
                connections[alias].close()
            return super().get_tenant_for_schema(schema_name)


class PlatformCeleryApp(CeleryApp):
    """The tenant-aware app with ``PlatformTask`` as every task's base class."""

    task_cls = "config.celery:PlatformTask"


app = PlatformCeleryApp("platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
