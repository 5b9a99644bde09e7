"""``tax_replay`` / ``tax_carryforward`` management commands: file in, JSON out, no database."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.accounts.management.commands import tax_carryforward, tax_replay
from tests.unit.taxlots.test_replay_format import SPEC_INPUT, SPEC_REALIZED, SPEC_TOTALS

CARRY_INPUT = {
    "filing_status": "single",
    "years": [{"year": 2023, "short_term_net": 49017, "long_term_net": -63149,
               "carryover_in_short_term": 0, "carryover_in_long_term": 0}],
}  # fmt: skip

BAD_INPUT = {
    "accounts": [{"id": "t", "type": "taxable"}],
    "trades": [
        {"id": "b1", "date": "2024-01-02", "account": "t", "symbol": "S", "side": "buy",
         "quantity": 10, "amount": 100},
        {"id": "s1", "date": "2024-02-01", "account": "t", "symbol": "S", "side": "sell",
         "quantity": 11, "amount": 50},
        {"id": "s2", "date": "2024-02-02", "account": "nope", "symbol": "S", "side": "sell",
         "quantity": 1, "amount": 5},
    ],
}  # fmt: skip
BAD_LINES = [
    "trade s2 (trades[2]): account: unknown account 'nope'",
    "trade s1 (trades[1]): quantity: sells 11 shares of S in account t but only 10 are held",
]


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def call(command: BaseCommand | str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_tax_replay_prints_the_result(tmp_path: Path) -> None:
    out, err = call(tax_replay.Command(), str(write(tmp_path, "in.json", SPEC_INPUT)))
    result = json.loads(out)
    assert result["realized"] == [SPEC_REALIZED]
    assert result["totals"] == SPEC_TOTALS
    assert err == ""


def test_tax_replay_writes_the_output_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    out, _ = call(
        tax_replay.Command(), str(write(tmp_path, "in.json", SPEC_INPUT)), "-o", str(target)
    )
    assert out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["totals"] == SPEC_TOTALS


def test_tax_replay_bad_input_prints_one_line_per_problem_and_no_result(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            tax_replay.Command(),
            str(write(tmp_path, "bad.json", BAD_INPUT)),
            "-o",
            str(target),
            stdout=out,
            stderr=err,
        )
    assert exited.value.code == 2
    assert err.getvalue().splitlines() == BAD_LINES
    assert out.getvalue() == ""
    assert not target.exists()


def test_tax_replay_unreadable_file(tmp_path: Path) -> None:
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command(tax_replay.Command(), str(tmp_path / "missing.json"), stderr=err)
    [line] = err.getvalue().splitlines()
    assert "missing.json: cannot read" in line


def test_tax_carryforward_prints_each_year(tmp_path: Path) -> None:
    out, _ = call(tax_carryforward.Command(), str(write(tmp_path, "c.json", CARRY_INPUT)))
    [year] = json.loads(out)["years"]
    assert year["carryover_out_long_term"] == 11132.0
    assert year["deduction_against_ordinary_income"] == 3000.0


def test_tax_carryforward_bad_input(tmp_path: Path) -> None:
    err = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            tax_carryforward.Command(),
            str(write(tmp_path, "c.json", {"filing_status": "x", "years": []})),
            stderr=err,
        )
    assert exited.value.code == 2
    assert len(err.getvalue().splitlines()) == 2


@pytest.mark.skipif(
    not apps.is_installed("apps.accounts"), reason="apps.accounts is not installed yet"
)
def test_commands_are_found_by_name(tmp_path: Path) -> None:
    out, _ = call("tax_replay", str(write(tmp_path, "in.json", SPEC_INPUT)))
    assert json.loads(out)["totals"] == SPEC_TOTALS
    out, _ = call("tax_carryforward", str(write(tmp_path, "c.json", CARRY_INPUT)))
    assert json.loads(out)["years"][0]["net_capital"] == -14132.0


def test_tax_replay_output_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.json"
    err = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            tax_replay.Command(),
            str(write(tmp_path, "in.json", SPEC_INPUT)),
            "-o",
            str(target),
            stderr=err,
        )
    assert exited.value.code == 2
    [line] = err.getvalue().splitlines()
    assert line.startswith(f"{target}: cannot write: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json"]
