"""Every state-changing service writes an audit row, or says here why it does not."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WRITES = (".save(", ".create(", "bulk_create", ".update(", ".delete(", "copy_rows", "get_or_create")
# Services that change state without their own audit row, each with the reason.
NOT_AUDITED = {
    "ledger_rebuild": "derives lots and gains from the ledger; the import or fill that changed "
    "the ledger is audited",
    "staff_entry_request": "the public StaffEntry row it writes is the audit of staff entries",
    "staff_entry_consume": "marks the StaffEntry used; the firm side audits platform_staff.enter",
    "staff_book_run_start": "delegates to rebalance_run_create, which audits",
    "report_batch_start": "progress of a batch whose creation is audited",
    "trading_settings_get": "creates the default policy row on first read",
    "screen_settings_get": "creates the default screening policy row on first read",
    "securities_upsert": "the shared security master (public schema, no firm's audit trail): "
    "written by platform staff's imports and the reference-data load",
    "synthetic_book_create": "demo and benchmark data; its models go through audited services",
    "api_token_touch": "the last-use time of a token; its creation and revocation are audited",
    "proposals_close": "moves ordered proposals to filled or cancelled as their allocations "
    "close; the fills import or order cancellation that closed them is audited",
}


def _service_functions():
    for path in sorted((ROOT / "apps").rglob("*.py")):
        if "services" not in path.parts and path.name != "services.py":
            continue
        text = path.read_text()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield path.relative_to(ROOT), node.name, ast.get_source_segment(text, node) or ""


def test_state_changing_services_write_an_audit_row():
    unaudited = [
        f"{path}:{name}"
        for path, name, source in _service_functions()
        if any(w in source for w in WRITES)
        and "audit_event_record" not in source
        and name not in NOT_AUDITED
    ]
    assert unaudited == []


def test_the_exceptions_still_exist():
    names = {name for _, name, _ in _service_functions()}
    assert set(NOT_AUDITED) <= names
