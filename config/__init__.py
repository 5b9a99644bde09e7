"""The project package: settings, URLs, the Celery app.

Every process of the platform (Celery workers, the web server, commands) solves with one BLAS
thread: parallelism comes from processes (Celery's pool, gunicorn's workers), and OpenBLAS's own
threads spun on the same cores, doubling the CPU of a book run (``bench/book.py`` at 500 names on
2 cores: 32.8 → 15.0 ms of worker CPU per account, 54 → 110 accounts/s). Set before numpy is
first imported; an operator's own setting wins.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from config.celery import app as celery_app  # noqa: E402 - after the thread settings

__all__ = ("celery_app",)
