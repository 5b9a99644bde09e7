"""Price files for the backtest tests: a window of the skfolio closes, as the CLI reads them."""

from datetime import date
from pathlib import Path

from apps.backtest.data import PriceData, skfolio_dataset, write_dataset


def skfolio_window_files(out_dir: Path, start: date, end: date) -> tuple[Path, Path]:
    """PRICES.csv and SECTORS.json of the skfolio closes from ``start`` to ``end``."""
    full = skfolio_dataset()
    first = full.index_on_or_after(start)
    last = full.index_on_or_before(end)
    sliced = PriceData(
        dates=full.dates[first : last + 1],
        symbols=full.symbols,
        closes=full.closes[first : last + 1],
        sectors=full.sectors,
        source=full.source,
        industries=full.industries,
    )
    return write_dataset(sliced, out_dir, "sp500_20")
