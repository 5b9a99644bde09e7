"""The backtest's fund model (issue 23): documented baskets of the real closes, seen through
their holdings, and a run on it."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from apps.backtest import BacktestOptions, run_backtest
from apps.backtest.data import load_dataset
from apps.backtest.funds import FUNDS, fund_dataset, fund_holdings
from apps.backtest.simulate import risk_model_on
from tests.unit.backtest.datasets import skfolio_window_files


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return skfolio_window_files(
        tmp_path_factory.mktemp("prices"), date(2018, 1, 2), date(2019, 7, 31)
    )


def test_each_fund_is_its_documented_basket(files: tuple[Path, Path]) -> None:
    stocks = load_dataset(*files)
    holdings = fund_holdings(stocks)
    assert set(holdings["TMF"]) == set(stocks.symbols)
    assert set(holdings["TECH"]) == {"AAPL", "AMD", "MSFT"}
    assert not {"CVX", "XOM", "RRC", "GE", "HD", "BBY"} & set(holdings["LCF"])
    assert {"KO", "XOM", "PFE"} <= set(holdings["DIVF"]) and "UNH" not in holdings["DIVF"]
    funds = fund_dataset(stocks)
    # A fund's daily return is its holdings' mean return less its expense ratio's day.
    column = [stocks.symbols.index(s) for s in holdings["DIVF"]]
    day = 100
    basket = np.mean(stocks.closes[day, column] / stocks.closes[day - 1, column]) - 1.0
    expense = FUNDS["DIVF"][2]
    divf = funds.symbols.index("DIVF")
    assert funds.closes[day, divf] / funds.closes[day - 1, divf] == pytest.approx(
        (1.0 + basket) * (1.0 - expense / 252)
    )


def test_the_fund_universe_risk_model_is_look_through(files: tuple[Path, Path]) -> None:
    stocks = load_dataset(*files)
    funds = fund_dataset(stocks)
    t = len(funds.dates) - 1
    model = risk_model_on(funds, t)
    stock_model = risk_model_on(stocks, t)
    sigma_stocks = (
        stock_model.loadings @ stock_model.factor_covariance @ stock_model.loadings.T
        + np.diag(stock_model.specific_variance)
    )
    sigma = model.loadings @ model.factor_covariance @ model.loadings.T + np.diag(
        model.specific_variance
    )
    weights = np.zeros((len(funds.symbols), len(stocks.symbols)))
    for f, fund in enumerate(funds.symbols):
        for symbol, weight in funds.holdings[fund].items():
            weights[f, stocks.symbols.index(symbol)] = weight
    expected = weights @ sigma_stocks @ weights.T
    off = ~np.eye(len(funds.symbols), dtype=bool)
    np.testing.assert_allclose(sigma[off], expected[off], rtol=1e-9)
    # Without look-through each fund is estimated from its own prices: a different model.
    priced = risk_model_on(fund_dataset(stocks, look_through=False), t)
    assert priced.factor_names != model.factor_names


def test_a_backtest_runs_on_the_fund_model(files: tuple[Path, Path]) -> None:
    result = run_backtest(
        *files,
        BacktestOptions(
            start=date(2019, 1, 2),
            end=date(2019, 6, 28),
            accounts=4,
            seed=5,
            workers=1,
            model="funds",
        ),
    )
    assert result.model == "funds"
    assert "accounts=4" in result.summary_line()
