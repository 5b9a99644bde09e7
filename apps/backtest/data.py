"""Price and sector data for the backtest: CSV/JSON files in, one aligned ``PriceData`` out.

Formats (both written and read here, so a run can be reproduced from its files alone):

* ``PRICES.csv``: a header ``date,<SYM1>,<SYM2>,...`` and one row per trading day, oldest first,
  ISO dates, one adjusted daily close per symbol (every cell > 0; no gaps).
* ``SECTORS.json``: ``{"<SYM>": "<sector>", ...}`` or ``{"<SYM>": {"sector": "<sector>",
  "industry": "<industry>"}, ...}`` covering every price column (a name without an industry is
  its sector's only industry).

Sources (no downloads at run time; attribution in ``docs/evidence.md``):

* real: skfolio's ``load_sp500_dataset()`` (BSD-3): 20 S&P 500 stocks' split/dividend-adjusted
  daily closes 1990-01-02..2022-12-28, written out by :func:`export_skfolio_dataset`; GICS
  sectors and industries from pytickersymbols (MIT) through
  ``apps.securities.reference_data.reference_securities``, which also places RRC (missing
  from pytickersymbols) in Energy.
* synthetic: :func:`synthetic_dataset`, a seeded factor model for a 500-name universe built by
  chaining 260-day segments of ``apps.optimizer.core.synthetic.make_universe`` (same sector
  structure, a fresh seed per segment). It is labelled ``synthetic`` everywhere it is used.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from apps.common.csv_out import SafeCsvWriter
from apps.optimizer.core.types import FloatArray

__all__ = [
    "PriceData",
    "export_skfolio_dataset",
    "export_synthetic_dataset",
    "load_dataset",
    "synthetic_dataset",
    "write_dataset",
]


class DataError(ValueError):
    """A price or sector file is malformed; the message names the file, line and field."""


@dataclass(frozen=True, slots=True)
class PriceData:
    """Daily closes of a universe with its sectors and industries.

    Attributes:
        dates: trading days, oldest first.
        symbols: column order of ``closes``.
        closes: ``len(dates) x len(symbols)`` adjusted closes, > 0.
        sectors: sector of each symbol.
        source: where the prices come from ("real: ..." or "synthetic: ...").
        industries: industry of each symbol; empty means each sector is one industry.
        holdings: for a universe of funds, each fund's holdings (weights, fractions) among
            ``underlying``'s symbols; the risk model then sees them through their holdings.
        underlying: the prices the funds hold (same dates), or None.
    """

    dates: tuple[date, ...]
    symbols: tuple[str, ...]
    closes: FloatArray
    sectors: tuple[str, ...]
    source: str
    industries: tuple[str, ...] = ()
    holdings: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    underlying: PriceData | None = None
    _days: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_days", np.array(self.dates, dtype="datetime64[D]"))
        shape = (len(self.dates), len(self.symbols))
        if self.closes.shape != shape:
            raise DataError(f"closes have shape {self.closes.shape}, expected {shape}")
        if len(self.sectors) != len(self.symbols):
            raise DataError("one sector per symbol is required")
        if not self.industries:
            object.__setattr__(self, "industries", self.sectors)
        if len(self.industries) != len(self.symbols):
            raise DataError("one industry per symbol is required")
        if not np.all(np.isfinite(self.closes)) or np.any(self.closes <= 0.0):
            raise DataError("every close must be a finite number > 0")
        if any(b <= a for a, b in zip(self.dates, self.dates[1:], strict=False)):
            raise DataError("dates must be strictly increasing")

    def index_on_or_after(self, day: date) -> int:
        """Index of the first trading day on or after ``day``."""
        position = int(np.searchsorted(self._days, np.datetime64(day, "D")))
        if position >= len(self.dates):
            raise DataError(f"no trading day on or after {day.isoformat()} in the prices")
        return position

    def index_on_or_before(self, day: date) -> int:
        """Index of the last trading day on or before ``day``."""
        position = int(np.searchsorted(self._days, np.datetime64(day, "D"), "right"))
        if position == 0:
            raise DataError(f"no trading day on or before {day.isoformat()} in the prices")
        return position - 1


def load_prices_csv(path: str | Path) -> tuple[tuple[date, ...], tuple[str, ...], FloatArray]:
    """Read PRICES.csv (see the module docstring).

    Raises:
        DataError: on a missing ``date`` column, a bad date or a non-positive/missing close.
    """
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or header[0].strip().lower() != "date" or len(header) < 2:
            raise DataError(f"{path}: the first column must be 'date', then one per symbol")
        symbols = tuple(name.strip() for name in header[1:])
        if len(set(symbols)) != len(symbols):
            raise DataError(f"{path}: duplicate symbol columns")
        dates: list[date] = []
        rows: list[list[float]] = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(f"{path}:{line}: {len(row)} cells, expected {len(header)}")
            try:
                dates.append(date.fromisoformat(row[0].strip()))
            except ValueError as exc:
                raise DataError(f"{path}:{line}: date {row[0]!r} is not ISO (YYYY-MM-DD)") from exc
            try:
                values = [float(cell) for cell in row[1:]]
            except ValueError as exc:
                raise DataError(f"{path}:{line}: a close is not a number") from exc
            if not all(np.isfinite(v) and v > 0.0 for v in values):
                raise DataError(f"{path}:{line}: every close must be > 0 (fill gaps first)")
            rows.append(values)
    if not rows:
        raise DataError(f"{path}: no price rows")
    return tuple(dates), symbols, np.array(rows, dtype=np.float64)


def load_sectors_json(path: str | Path) -> dict[str, tuple[str, str]]:
    """Read SECTORS.json (see the module docstring): ``{symbol: (sector, industry)}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected an object {{symbol: sector}}")
    labels: dict[str, tuple[str, str]] = {}
    for symbol, value in data.items():
        if isinstance(value, dict) and set(value) == {"sector", "industry"}:
            sector, industry = value["sector"], value["industry"]
        else:
            sector = industry = value
        if not all(isinstance(label, str) and label for label in (sector, industry)):
            raise DataError(
                f"{path}: {symbol}: expected a sector or {{sector, industry}} of non-empty strings"
            )
        labels[symbol] = (sector, industry)
    return labels


def load_dataset(prices_path: str | Path, sectors_path: str | Path, source: str = "") -> PriceData:
    """Load PRICES.csv and SECTORS.json into one aligned ``PriceData``.

    Raises:
        DataError: on malformed files or a symbol without a sector.
    """
    dates, symbols, closes = load_prices_csv(prices_path)
    sectors = load_sectors_json(sectors_path)
    missing = [s for s in symbols if s not in sectors]
    if missing:
        raise DataError(f"{sectors_path}: no sector for {', '.join(missing)}")
    label = source or _source_label(Path(prices_path))
    return PriceData(
        dates=dates,
        symbols=symbols,
        closes=closes,
        sectors=tuple(sectors[s][0] for s in symbols),
        source=label,
        industries=tuple(sectors[s][1] for s in symbols),
    )


def _source_label(prices_path: Path) -> str:
    note = prices_path.with_name(prices_path.stem + ".source.txt")
    return note.read_text().strip() if note.exists() else f"file: {prices_path.name}"


def write_dataset(data: PriceData, out_dir: str | Path, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.csv``, ``<stem>.sectors.json`` and ``<stem>.source.txt`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prices_path = out / f"{stem}.csv"
    sectors_path = out / f"{stem}.sectors.json"
    with prices_path.open("w", newline="") as handle:
        writer = SafeCsvWriter(handle)
        writer.writerow(["date", *data.symbols])
        for day, row in zip(data.dates, data.closes, strict=True):
            # repr() of a float read from a short decimal gives that decimal back (skfolio's
            # closes round-trip exactly); synthetic closes are written to 6 decimals.
            writer.writerow([day.isoformat(), *(_format_close(v) for v in row)])
    labels = zip(data.symbols, data.sectors, data.industries, strict=True)
    if data.industries == data.sectors:
        content: dict[str, object] = {symbol: sector for symbol, sector, _ in labels}
    else:
        content = {s: {"sector": sector, "industry": i} for s, sector, i in labels}
    sectors_path.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    (out / f"{stem}.source.txt").write_text(data.source + "\n")
    return prices_path, sectors_path


def _format_close(value: float) -> str:
    text = repr(float(value))
    return text if len(text) <= 12 else f"{value:.6f}"


# --- real data: skfolio + pytickersymbols ----------------------------------------------------

SKFOLIO_SOURCE = (
    "real: skfolio load_sp500_dataset() (BSD-3), 20 S&P 500 stocks, split/dividend-adjusted "
    "daily closes; GICS sectors and industries: pytickersymbols (MIT) via "
    "apps.securities.reference_data"
)


def skfolio_dataset() -> PriceData:
    """The 20 skfolio stocks (1990-01-02..2022-12-28) with their GICS sectors and industries."""
    from apps.securities.reference_data import reference_securities, skfolio_real_prices

    real = skfolio_real_prices()
    rows = {row.symbol: row for row in reference_securities() if row.sector}
    closes = np.array([[float(cell) for cell in row] for row in real.closes], dtype=np.float64)
    return PriceData(
        dates=real.dates,
        symbols=real.symbols,
        closes=closes,
        sectors=tuple(rows[s].sector for s in real.symbols),
        source=SKFOLIO_SOURCE,
        industries=tuple(rows[s].industry or rows[s].sector for s in real.symbols),
    )


def export_skfolio_dataset(out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``sp500_20.csv`` and ``sp500_20.sectors.json`` (the real data files) to ``out_dir``.

    Returns:
        The paths of the prices CSV and the sectors JSON.
    """
    return write_dataset(skfolio_dataset(), out_dir, "sp500_20")


# --- synthetic data: the optimizer's seeded factor model, chained ----------------------------


def synthetic_dataset(
    n: int = 500, *, seed: int = 0, start: date = date(2016, 1, 4), end: date = date(2021, 12, 31)
) -> PriceData:
    """A seeded synthetic universe of ``n`` names on business days ``start..end``.

    ``apps.optimizer.core.synthetic.make_universe`` generates 260 daily returns from its factor
    process (market, 11 sectors, 3 styles, idiosyncratic). Longer paths chain its segments:
    segment ``k`` uses seed ``seed * 1000 + k``; symbols, sectors and starting prices come from
    segment 0 and every later segment contributes its daily returns. Sector membership is the
    same in every segment (name ``i`` is in sector ``i % 11``); style loadings change from one
    segment to the next (about once a year), which a real market does too.

    Args:
        n: Number of names.
        seed: Random seed.
        start: First business day.
        end: Last business day.

    Returns:
        The synthetic ``PriceData`` (source "synthetic: ...").
    """
    from apps.optimizer.core.synthetic import make_universe
    from apps.securities.reference_data import business_days

    days = business_days(start, end)
    if len(days) < 2:
        raise DataError("the synthetic window needs at least two business days")
    first = make_universe(n, seed=seed * 1000, statistical_factors=0)
    path = [first.price_history[0]]
    segment = 0
    current = first
    while len(path) < len(days):
        history = current.price_history
        returns = history[1:] / history[:-1]
        for step in returns:
            if len(path) >= len(days):
                break
            path.append(path[-1] * step)
        segment += 1
        current = make_universe(n, seed=seed * 1000 + segment, statistical_factors=0)
    closes = np.round(np.array(path), 6)
    closes = np.maximum(closes, 0.01)
    return PriceData(
        dates=tuple(days),
        symbols=first.universe.symbols,
        closes=closes,
        sectors=first.universe.sectors,
        source=(
            f"synthetic: seeded factor model (apps.optimizer.core.synthetic, seed={seed}, "
            f"n={n}), business days {start.isoformat()}..{end.isoformat()}; not market data"
        ),
    )


def export_synthetic_dataset(
    out_dir: str | Path,
    n: int = 500,
    *,
    seed: int = 0,
    start: date = date(2016, 1, 4),
    end: date = date(2021, 12, 31),
) -> tuple[Path, Path]:
    """Write ``synthetic_<n>.csv`` and its sectors JSON to ``out_dir``."""
    return write_dataset(
        synthetic_dataset(n, seed=seed, start=start, end=end), out_dir, f"synthetic_{n}"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m apps.backtest.data skfolio|synthetic OUT_DIR [--names N] [--seed S]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m apps.backtest.data")
    parser.add_argument("kind", choices=("skfolio", "synthetic"))
    parser.add_argument("out_dir")
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2016, 1, 4))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2021, 12, 31))
    args = parser.parse_args(argv)
    if args.kind == "skfolio":
        paths = export_skfolio_dataset(args.out_dir)
    else:
        paths = export_synthetic_dataset(
            args.out_dir, args.names, seed=args.seed, start=args.start, end=args.end
        )
    print(f"wrote {paths[0]} {paths[1]}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
