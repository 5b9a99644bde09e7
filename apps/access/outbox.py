"""The transactional outbox: every task a change asks for is committed with the change, then sent.

``outbox_enqueue`` writes an ``OutboxMessage`` row in the caller's transaction and sends it right
after the commit (``on_commit``). When the broker is down the send fails, the row stays pending
and the caller's request still succeeds; beat's ``outbox_dispatch`` (every
``PLATFORM_OUTBOX_SWEEP_EVERY_S`` seconds) has each firm send what is pending once the broker is
back. Delivery is at least once (a send whose "sent" mark is lost is sent again), which every
task here tolerates: they are idempotent.
"""

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from apps.access.models import OutboxMessage, OutboxStatus
from apps.common.tenancy import require_tenant_schema
from config.celery import app

logger = logging.getLogger(__name__)

# A publish waits this long for the broker at most (a request must not hang on a dead broker).
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
SENT_KEPT_FOR = timedelta(days=7)


def outbox_enqueue(*, task: str, args: list[Any]) -> OutboxMessage:
    """Record ``task(*args)`` in this transaction; send it to the broker once it commits.

    Args:
        task: the Celery task name (``apps.trading.tasks.rebalance_run_start``).
        args: JSON arguments (ids, never model instances).
    """
    require_tenant_schema()
    message = OutboxMessage.objects.create(task=task, args=args)
    transaction.on_commit(lambda: outbox_send(ids=[message.pk]), robust=True)
    return message


def outbox_enqueue_many(*, task: str, args_list: list[list[Any]]) -> list[OutboxMessage]:
    """``outbox_enqueue`` for many messages of one task, sent together after the commit."""
    require_tenant_schema()
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task, args=args) for args in args_list]
    )
    ids = [m.pk for m in messages]
    if ids:
        transaction.on_commit(lambda: outbox_send(ids=ids), robust=True)
    return messages


def outbox_held(*, task: str, args: list[Any]) -> OutboxMessage | None:
    """The message for ``task(*args)`` if it is still waiting for the broker, else None."""
    return OutboxMessage.objects.filter(task=task, args=args, status=OutboxStatus.PENDING).first()


def outbox_send(*, ids: list[int] | None = None) -> int:
    """Send pending messages (these ``ids``, else every pending one) and mark them sent.

    Stops at the first failed publish (the broker is down: the rest would fail too); the failed
    message keeps its error and stays pending for the next sweep. Returns how many were sent.
    """
    require_tenant_schema()
    sent = 0
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            status=OutboxStatus.PENDING
        )
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        done: list[int] = []
        for message in pending.order_by("id"):
            try:
                app.send_task(
                    message.task, args=message.args, retry=True, retry_policy=_PUBLISH_RETRY
                )
            except (BrokerError, OSError) as exc:
                logger.warning("outbox: %s not sent (%s); the sweep retries", message, exc)
                OutboxMessage.objects.filter(pk=message.pk).update(
                    attempts=message.attempts + 1, last_error=str(exc)[:2000]
                )
                break
            done.append(message.pk)
        if done:
            OutboxMessage.objects.filter(pk__in=done).update(
                status=OutboxStatus.SENT, sent_at=timezone.now()
            )
            sent = len(done)
    if ids is None:
        OutboxMessage.objects.filter(
            status=OutboxStatus.SENT, sent_at__lt=timezone.now() - SENT_KEPT_FOR
        ).delete()
    return sent
