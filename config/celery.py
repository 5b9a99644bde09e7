"""The tenant-aware Celery app: every task message carries its firm's schema in its headers."""

import os
from queue import Empty

from kombu.transport import redis as kombu_redis
from tenant_schemas_celery.app import CeleryApp

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
    if self._in_poll:
        try:
            self._brpop_read()
        except (Empty, *self.connection.connection_errors):
            pass  # _brpop_read has dropped the dead connection and cleared _in_poll
    _redis_channel_close(self)


kombu_redis.Channel.close = _redis_channel_close_after_server_loss  # type: ignore[method-assign]

app = CeleryApp("platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
