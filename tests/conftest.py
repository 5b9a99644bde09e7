"""Suite-wide settings: every test runs with the test settings module (pyproject)."""

import os
from pathlib import Path

ARTIFACTS_DIR = Path(os.environ.get("TEST_ARTIFACTS_DIR", Path(__file__).parent.parent / "artifacts"))
