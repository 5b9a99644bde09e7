"""The format document shipped in the repository (docs/formats/tax-replay.md) states what the
engine does: its input examples run, and give the figures the document states."""

import re
from pathlib import Path

from apps.taxlots.replay_format import carryforward_document, replay_document

DOC = Path(__file__).resolve().parents[3] / "docs" / "formats" / "tax-replay.md"


def _json_blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_replay_input_example_runs_and_loses_the_stated_amount() -> None:
    out = replay_document(_json_blocks()[0])
    (row,) = out["realized"]  # type: ignore[misc]
    assert (row["sell_id"], row["lot_id"], row["gain_loss"]) == ("s1", "b1", -1000.0)
    assert out["lots_open"] == []


def test_the_carryforward_input_example_runs_with_the_stated_limit() -> None:
    out = carryforward_document(_json_blocks()[2])
    (year,) = out["years"]  # type: ignore[index]
    assert year["net_capital"] == 49017 - 63149
    assert year["deduction_against_ordinary_income"] == 3000
