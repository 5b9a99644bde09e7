"""Risk-model check (issue 18, item 7): its statistics, its portfolios, its summary line; data
files with industries."""

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from apps.backtest.data import load_dataset
from apps.backtest.riskcheck import (
    HARVEST_WEIGHT,
    RANDOM_GROSS,
    Tally,
    active_portfolios,
    main,
)
from apps.backtest.simulate import risk_model_on
from tests.unit.backtest.datasets import skfolio_window_files

NUMBER = r"\d+\.\d{3}"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return skfolio_window_files(
        tmp_path_factory.mktemp("prices"), date(2020, 6, 1), date(2022, 12, 28)
    )


def test_industries_round_trip_and_a_sector_only_file_still_loads(files, tmp_path) -> None:
    data = load_dataset(*files)
    industry = dict(zip(data.symbols, data.industries, strict=True))
    assert industry["JNJ"] == industry["PFE"] == "Pharmaceuticals"
    assert industry["UNH"] == "Health Care Providers & Services"
    plain = tmp_path / "plain.sectors.json"
    plain.write_text(json.dumps(dict(zip(data.symbols, data.sectors, strict=True))))
    assert load_dataset(files[0], plain).industries == data.sectors


def test_tally_bias_is_one_for_a_calibrated_forecast_and_half_for_a_doubled_one() -> None:
    rng = np.random.default_rng(0)
    predicted = np.array([0.02, 0.05, 0.10])
    active = rng.normal(size=(20000, 3)) * predicted / np.sqrt(252.0)
    calibrated, doubled = Tally(), Tally()
    calibrated.add(predicted, active)
    doubled.add(2.0 * predicted, active)
    assert calibrated.bias() == pytest.approx(1.0, abs=0.01)
    assert doubled.bias() == pytest.approx(0.5, abs=0.01)
    assert calibrated.mae_log() < 0.02
    assert doubled.mae_log() == pytest.approx(np.log(2.0), abs=0.02)


def test_portfolios_are_active_and_harvests_fill_the_sector() -> None:
    sectors = ("A", "A", "A", "B", "B", "C", "D", "D")
    portfolios = active_portfolios(sectors, np.random.default_rng(1))
    random, harvest = portfolios["random"], portfolios["harvest"]
    assert np.allclose(random.sum(axis=0), 0.0)
    assert np.allclose(np.abs(random).sum(axis=0), RANDOM_GROSS)
    assert np.all((random != 0.0).sum(axis=0) == 4)
    assert np.allclose(harvest.sum(axis=0), 0.0)
    assert harvest[0, 0] == -HARVEST_WEIGHT and harvest[1, 0] == harvest[2, 0] == HARVEST_WEIGHT / 2
    assert harvest[3:, 0].sum() == 0.0
    assert np.allclose(harvest[np.arange(8) != 5, 5], HARVEST_WEIGHT / 7)  # C: alone in its sector


def test_command_line_prints_both_specs_and_the_summary_line_last(files) -> None:
    lines: list[str] = []
    assert (
        main(["--prices", str(files[0]), "--sectors", str(files[1]), "--step", "63"], lines.append)
        == 0
    )
    assert re.fullmatch(
        rf"riskcheck old_bias={NUMBER} new_bias={NUMBER} old_mae_log={NUMBER} new_mae_log={NUMBER}",
        lines[-1],
    )
    assert any(line.split()[:3] == ["2022", "harvest", "new"] for line in lines)


def test_holdout_uses_the_years_between_the_windows(files) -> None:
    # The files start in June 2020: the holdout years (up to 2018) have no check day in them.
    with pytest.raises(SystemExit):
        main(["--prices", str(files[0]), "--sectors", str(files[1]), "--holdout"], print)


def test_the_backtest_risk_model_has_industry_and_style_factors(files) -> None:
    data = load_dataset(*files)
    model = risk_model_on(data, len(data.dates) - 1)
    assert "industry:Pharmaceuticals" in model.factor_names
    assert {"style:beta", "style:momentum", "style:volatility"} <= set(model.factor_names)
