"""The target core imports only the standard library (no Django, no other app)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_targets_import_only_the_standard_library():
    code = "import sys, apps.targets; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = set(out.stdout.split())
    third_party = {"django", "rest_framework", "numpy", "celery", "django_tenants"}
    assert not {m.split(".")[0] for m in modules} & third_party
    assert {m for m in modules if m.startswith("apps.")} <= {
        "apps.targets",
        "apps.targets.flatten",
        "apps.targets.effective",
    }
