"""Input validation: shapes, signs and ranges fail early with ProblemShapeError."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from apps.optimizer.core.errors import OptimizerError, ProblemShapeError
from apps.optimizer.core.types import Constraints, SolverConfig, TaxLot, TaxProfile
from tests.unit.optimizer.builders import AS_OF, lot, problem, universe

ROOT = Path(__file__).resolve().parents[3]


def test_problem_shape_errors_are_optimizer_errors():
    assert issubclass(ProblemShapeError, OptimizerError)


@pytest.mark.parametrize(
    "build",
    [
        lambda: universe([100.0, -1.0], ["A", "B"]),
        lambda: universe([100.0], ["A", "B"]),
        lambda: TaxLot("x", 0, 0.0, 10.0, AS_OF),
        lambda: TaxLot("x", 0, 1.0, -10.0, AS_OF),
        lambda: TaxProfile(short_term_rate=40.8, long_term_rate=0.2),
        lambda: Constraints(sector_band_weight=-0.1),
        lambda: Constraints(must_sell_symbols=frozenset("A"), never_sell_symbols=frozenset("A")),
        lambda: SolverConfig(solver="GUROBI"),
        lambda: SolverConfig(risk_aversion=0.0),
    ],
)
def test_invalid_inputs_raise(build):
    with pytest.raises(ProblemShapeError):
        build()


def test_targets_must_align_and_sum_to_one_with_cash():
    u = universe([100.0, 100.0], ["A", "B"])
    ok = problem(u, [lot("a", 0, 1.0, 90.0, 10)], [0.5, 0.5], cash=10.0)
    with pytest.raises(ProblemShapeError, match="sum to"):
        dataclasses.replace(ok, cash_target_weight=0.2)
    with pytest.raises(ProblemShapeError, match="shape"):
        dataclasses.replace(ok, target_weights=np.array([1.0]))
    with pytest.raises(ProblemShapeError, match="shorting"):
        dataclasses.replace(ok, target_weights=np.array([1.2, -0.2]))


def test_core_imports_no_django_and_no_other_apps():
    code = textwrap.dedent(
        """
        import sys
        import apps.optimizer.core.problem, apps.optimizer.core.risk
        import apps.optimizer.core.serialization, apps.optimizer.core.locks
        bad = [m for m in sys.modules if m == "django" or m.startswith("django.")]
        other = [m for m in sys.modules if m.startswith("apps.") and not (
            m.startswith("apps.optimizer") or m.startswith("apps.taxlots"))]
        assert not bad and not other, (bad, other)
        """
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_core_is_mypy_strict_clean(tmp_path):
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\npython_version = 3.11\n"
        "[mypy-cvxpy.*,piqp.*,clarabel.*,scipy.*]\nignore_missing_imports = True\n"
    )
    # pyproject's django-stubs plugin needs importable settings; the core needs none of it.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "apps/optimizer/core"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
