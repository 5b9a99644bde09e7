"""Benchmark: transactions per second through the tax-lot engine (``apps.taxlots.engine.replay``).

Run:  .venv/bin/python bench/tax_replay.py [--transactions 1000000] [--households 200] [--seed 7]

Synthetic data (seeded, reproducible, not real trades): ``--households`` households of three
accounts each (taxable, a second taxable "joint", a traditional IRA), each trading 20 symbols
drawn from a pool of 100. Every symbol's price follows a seeded log-normal random walk (2% daily
volatility, no drift), so roughly half of all sales are losses. Each household gets an equal share
of the transactions over consecutive days (0-2 days between trades): 55% buys of 1-100 shares
and 45% sells of part or all of what the account holds, relieved FIFO (70%), HIFO (20%) or
LIFO (10%). Buys land within days of loss sales all the time, so wash sales (deferred, and
permanent through the IRA) fire throughout, chains included.

Measured: the engine replaying every household (wash sales, tacking, lots, realized rows),
against a baseline run in the same process on the same trades: a deliberately simple reference
implementation of FIFO lot relief with Decimal (per-lot queue, gain per relieved lot; no wash
sales, no pieces, no holding periods, every sell treated as FIFO). The ratio is engine
throughput over baseline throughput. Peak RSS is the process's maximum resident set size
(``resource.getrusage``), which includes the 1M generated trades held in memory; each
household's result is summarized and released before the next. Times are the CPU time of this
process (``time.process_time``), so other load on the machine does not distort them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import resource
import sys
import time
from collections import deque
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.taxlots.engine import (
    AccountSpec,
    AccountType,
    LotMethod,
    ReplayResult,
    Side,
    Trade,
    replay,
)

ACCOUNTS = (
    AccountSpec("taxable", AccountType.TAXABLE),
    AccountSpec("joint", AccountType.TAXABLE),
    AccountSpec("ira", AccountType.TRADITIONAL_IRA),
)
SYMBOL_POOL = [f"S{i:03d}" for i in range(100)]
CENT = Decimal("0.01")


def generate_household(rng: random.Random, household: int, count: int) -> list[Trade]:
    """Return ``count`` valid trades of one household, in date order (see the module docstring)."""
    symbols = rng.sample(SYMBOL_POOL, 20)
    prices = {s: rng.uniform(20.0, 200.0) for s in symbols}
    held: dict[tuple[str, str], int] = {}
    day = dt.date(2015, 1, 2)
    trades: list[Trade] = []
    for n in range(count):
        day += dt.timedelta(days=rng.choice((0, 0, 1, 1, 2)))
        symbol = rng.choice(symbols)
        prices[symbol] *= math.exp(rng.gauss(0.0, 0.02))
        price = Decimal(f"{prices[symbol]:.2f}")
        account = rng.choices(("taxable", "joint", "ira"), weights=(70, 15, 15))[0]
        key = (account, symbol)
        shares = held.get(key, 0)
        trade_id = f"h{household}-{n}"
        if shares and rng.random() < 0.45:
            quantity = rng.randint(1, shares)
            method = rng.choices((None, LotMethod.HIFO, LotMethod.LIFO), weights=(70, 20, 10))[0]
            held[key] = shares - quantity
            amount = (price * quantity).quantize(CENT)
            trades.append(
                Trade(trade_id, day, account, symbol, Side.SELL, Decimal(quantity), amount,
                      lot_method=method)
            )  # fmt: skip
        else:
            quantity = rng.randint(1, 100)
            held[key] = shares + quantity
            amount = (price * quantity).quantize(CENT)
            trades.append(
                Trade(trade_id, day, account, symbol, Side.BUY, Decimal(quantity), amount)
            )
    return trades


def baseline_fifo(trades: list[Trade]) -> Decimal:
    """Reference: FIFO lot relief only; returns the total realized gain (USD)."""
    lots: dict[tuple[str, str], deque[list[Decimal]]] = {}
    total = Decimal(0)
    for trade in trades:
        queue = lots.setdefault((trade.account, trade.symbol), deque())
        if trade.side is Side.BUY:
            queue.append([trade.quantity, trade.amount])
            continue
        left = trade.quantity
        while left:
            lot = queue[0]
            take = min(left, lot[0])
            basis = lot[1] if take == lot[0] else (lot[1] * take / lot[0]).quantize(CENT)
            proceeds = (trade.amount * take / trade.quantity).quantize(CENT)
            total += proceeds - basis
            lot[0] -= take
            lot[1] -= basis
            if not lot[0]:
                queue.popleft()
            left -= take
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    per_household = args.transactions // args.households
    started = time.process_time()
    households = [generate_household(rng, h, per_household) for h in range(args.households)]
    total = sum(len(h) for h in households)
    print(f"generated {total} trades in {args.households} households "
          f"in {time.process_time() - started:.1f}s (seed {args.seed})")  # fmt: skip

    # Each household's result is summarized and dropped, as a batch job would store it.
    realized = matches = washed = 0
    disallowed = Decimal(0)
    engine_seconds = 0.0
    for trades in households:
        started = time.process_time()
        result: ReplayResult = replay(ACCOUNTS, trades)
        engine_seconds += time.process_time() - started
        realized += len(result.realized)
        matches += len(result.wash_matches)
        washed += sum(1 for row in result.realized if row.form8949_code == "W")
        disallowed += result.totals.wash_disallowed_total
        del result

    started = time.process_time()
    for trades in households:
        baseline_fifo(trades)
    baseline_seconds = time.process_time() - started

    print(f"engine: {engine_seconds:.2f}s, {realized} realized rows ({washed} with code W), "
          f"{matches} wash matches, {disallowed:.2f} USD disallowed")  # fmt: skip
    print(f"baseline (simple FIFO relief, no wash sales): {baseline_seconds:.2f}s")

    tx_per_s = total / engine_seconds
    baseline_tx_per_s = total / baseline_seconds
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"tax_replay transactions={total} tx_per_s={tx_per_s:.0f} peak_rss_mb={peak_rss_mb:.0f} "
        f"baseline_tx_per_s={baseline_tx_per_s:.0f} ratio={tx_per_s / baseline_tx_per_s:.2f}"
    )


if __name__ == "__main__":
    main()
