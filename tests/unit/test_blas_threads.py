"""A platform process solves with one BLAS thread (``config/__init__.py``)."""

import os
import subprocess
import sys

PROBE = (
    "import config, numpy, threadpoolctl;"
    "print(max(p['num_threads'] for p in threadpoolctl.threadpool_info()"
    " if p['user_api'] == 'blas'))"
)


def test_importing_the_project_first_limits_blas_to_one_thread() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"


def test_an_operators_own_setting_wins() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "2"
