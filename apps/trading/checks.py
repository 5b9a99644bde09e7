"""System checks: the recovery settings agree (docs/operations.md, "Recovery").

A lost chunk is re-sent within ``OPTIMIZER_RUN_STALLED_AFTER_S + OPTIMIZER_RUN_RESUME_EVERY_S``
(90 s by default, documented as at most 120 s); a chunk still running must never look stalled
(it beats several times within the stall threshold); and Redis must not deliver a task a second
time while it may still run (the visibility timeout outlasts every task's hard time limit).
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

RECOVERY_BOUND_S = 120


def _longest_task_time_limit_s() -> int:
    from config.celery import app

    default = settings.CELERY_TASK_TIME_LIMIT
    return max(int(task.time_limit or default) for task in app.tasks.values())


@register()
def recovery_settings_check(**kwargs: Any) -> list[CheckMessage]:
    """Errors for recovery settings that break the documented bound or re-send live chunks."""
    stalled = settings.OPTIMIZER_RUN_STALLED_AFTER_S
    every = settings.OPTIMIZER_RUN_RESUME_EVERY_S
    beat = settings.OPTIMIZER_CHUNK_HEARTBEAT_S
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    errors: list[CheckMessage] = []
    if min(stalled, every, beat) <= 0:
        errors.append(Error("recovery intervals must be positive", id="trading.E001"))
    if stalled + every > RECOVERY_BOUND_S:
        errors.append(
            Warning(
                f"a lost chunk would wait up to {stalled + every} s "
                f"(OPTIMIZER_RUN_STALLED_AFTER_S + OPTIMIZER_RUN_RESUME_EVERY_S), "
                f"over the documented {RECOVERY_BOUND_S} s",
                id="trading.W002",
            )
        )
    if beat * 3 > stalled:
        errors.append(
            Error(
                "OPTIMIZER_CHUNK_HEARTBEAT_S must be at most a third of "
                "OPTIMIZER_RUN_STALLED_AFTER_S, or a running chunk looks stalled",
                id="trading.E003",
            )
        )
    longest = _longest_task_time_limit_s()
    if visibility <= longest:
        errors.append(
            Error(
                f"CELERY_VISIBILITY_TIMEOUT_S ({visibility} s) must exceed the longest task "
                f"time limit ({longest} s), or Redis delivers a task again while it still runs",
                id="trading.E004",
            )
        )
    return errors
