"""Boundaries enforced by tests (STYLE.md §5, §7, §10): purity, no floats, app placement."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ROOT / "apps"


def _imported_modules(package: str) -> set[str]:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_optimizer_core_imports_no_django_and_no_app_but_the_tax_engine():
    modules = _imported_modules("apps.optimizer.core")
    assert not {m for m in modules if m == "django" or m.startswith("django.")}
    assert not {m for m in modules if m.startswith(("rest_framework", "celery"))}
    apps = {m for m in modules if m.startswith("apps.")} - {"apps.optimizer"}  # parent package
    assert all(m.startswith(("apps.optimizer.core", "apps.taxlots")) for m in apps), apps


def test_tax_engine_imports_only_the_standard_library():
    modules = _imported_modules("apps.taxlots")
    third_party = {"django", "numpy", "cvxpy", "pandas", "scipy", "rest_framework", "celery"}
    assert not {m.split(".")[0] for m in modules} & third_party


def test_no_float_fields_anywhere():
    offenders = [
        str(path.relative_to(ROOT))
        for path in APPS.rglob("*.py")
        if "models.FloatField" in path.read_text()
    ]
    assert offenders == []


def test_no_schema_switching_in_app_code():
    # Only firms (dispatchers, onboarding) and management commands may enter a tenant's schema.
    pattern = re.compile(r"\b(set_schema|set_tenant|tenant_context|schema_context)\b")
    offenders = []
    for path in APPS.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        # firm_schema_for_command in common.tenancy is the one named escape hatch for commands.
        if rel.startswith("apps/firms/") or "/management/commands/" in rel:
            continue
        if rel == "apps/common/tenancy.py":
            continue
        if pattern.search(path.read_text()):
            offenders.append(rel)
    assert offenders == []


def test_every_app_sits_in_exactly_one_list():
    import importlib
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    base = importlib.import_module("config.settings.base")
    contrib = {a for a in base.SHARED_APPS if a.startswith("django.contrib.")}
    shared = {a for a in base.SHARED_APPS if a.startswith("apps.")}
    tenant = {a for a in base.TENANT_APPS if a.startswith("apps.")}
    assert not shared & tenant
    # TOTP devices belong to logins, which live in every schema (like contrib's auth).
    assert set(base.TENANT_APPS) - tenant - contrib == {"django_otp", "django_otp.plugins.otp_totp"}
    assert {"apps.firms", "apps.securities"} <= shared
    assert "apps.access" in tenant


def test_the_optimizer_core_has_no_import_loop() -> None:
    """Every import between core modules, at any depth (a function's too), points one way."""
    import ast
    from pathlib import Path

    core = Path(__file__).resolve().parents[2] / "apps" / "optimizer" / "core"
    graph: dict[str, set[str]] = {}
    for path in core.glob("*.py"):
        tree = ast.parse(path.read_text())
        graph[path.stem] = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("apps.optimizer.core.")
        }
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in visiting, f"import loop: {' -> '.join((*path, module))}"
        if module in done:
            return
        visiting.add(module)
        for imported in graph.get(module, ()):
            visit(imported, (*path, module))
        visiting.discard(module)
        done.add(module)

    for module in graph:
        visit(module, ())
    assert "solve" in graph and {"result", "rounding"} <= graph["solve"]
