"""Lot relief in the custodian's order, for accounts whose sells name no lots.

When an account's custodian takes no lot instructions (``Constraints.lot_order``), a sale of
some shares of a name relieves the account's lots of that name in the custodian's standing
order, as the tax-lot engine does (``apps.taxlots.engine``): FIFO when shares are not
identified (Treas. Reg. 1.1012-1(c)(1)); LIFO and HIFO as standing orders of specific
identification (Treas. Reg. 1.1012-1(c)(2)-(3)).

* ``FIFO``: the lots in acquisition order, which is the order of the account's lots in the
  input (the adapter supplies the ledger's: acquisition date, then booking order; the rows of
  one lot, its wash-sale pieces, front to back).
* ``LIFO``: the lots in reverse acquisition order, the rows of one lot front to back.
* ``HIFO``: highest *adjusted* basis per share first, compared exactly (cents over millionths
  of a share), ties in acquisition order.

The optimizer's choice then reduces to how many shares of each name to sell, which is not
convex in the lots (the cost of the next share depends on how many were sold before), so it
is honoured around the solve rather than inside it: ``states_in_order`` makes the lot states
consistent with the order before the solve (a lot behind a frozen lot cannot be reached; a
forced lot behind a free one is no longer forced), and after the solve each name's sale is
re-assigned to the lots in order (``amounts_in_order``) before rounding, so the gains budget,
the cash floor and every reported figure are computed on the lots the custodian relieves.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from apps.optimizer.core.types import FloatArray, IntArray

LOT_ORDERS = ("FIFO", "LIFO", "HIFO")


def relief_groups(
    *,
    lot_order: str,
    lot_account: IntArray,
    lot_symbol: IntArray,
    lot_ids: tuple[str, ...],
    lot_shares: FloatArray,
    lot_basis_amounts: FloatArray,
) -> list[IntArray]:
    """The lot indices of each (account, name), in the custodian's relief order.

    Args:
        lot_order: ``FIFO``, ``LIFO`` or ``HIFO``.
        lot_account: per lot, its account's index.
        lot_symbol: per lot, its name's index.
        lot_ids: per lot, its id (the rows of one lot share it).
        lot_shares: per lot, shares (at most 6 decimal places).
        lot_basis_amounts: per lot, total adjusted basis (cents).

    Returns:
        One index array per (account, name) holding lots, in relief order.
    """
    count = len(lot_ids)
    if not count:
        return []
    position = np.arange(count, dtype=np.int64)
    first: dict[tuple[int, str], int] = {}
    accounts = lot_account.tolist()
    for j, key in enumerate(zip(accounts, lot_ids, strict=True)):
        first.setdefault(key, j)
    lot_rank = np.array([first[key] for key in zip(accounts, lot_ids, strict=True)], np.int64)
    if lot_order == "FIFO":
        keys: tuple[IntArray, ...] = (position, lot_rank)
    elif lot_order == "LIFO":
        keys = (position, -lot_rank)
    else:
        # Exact per-share cost: basis in cents over shares in millionths (the ledger's units).
        costs = [
            Fraction(round(basis * 100), max(round(shares * 1e6), 1))
            for basis, shares in zip(lot_basis_amounts.tolist(), lot_shares.tolist(), strict=True)
        ]
        rank_of = {cost: r for r, cost in enumerate(sorted(set(costs), reverse=True))}
        cost_rank = np.array([rank_of[c] for c in costs], dtype=np.int64)
        keys = (position, lot_rank, cost_rank)
    sequence = np.lexsort((*keys, lot_symbol, lot_account)).astype(np.int64)
    account, symbol = lot_account[sequence], lot_symbol[sequence]
    change = np.flatnonzero((account[1:] != account[:-1]) | (symbol[1:] != symbol[:-1])) + 1
    return np.split(sequence, change)


def states_in_order(
    state: IntArray, groups: list[IntArray], *, free: int, forced: int, frozen: int
) -> IntArray:
    """Lot states a custodian relieving in order can honour.

    Within each group, in relief order: every lot behind a frozen lot is frozen (no sale
    reaches it without relieving the frozen lot first); a forced lot behind a free lot is free
    (it is sold only if the sale of the name reaches it).

    Returns:
        A new state array (the constants are ``prepare``'s lot states).
    """
    out = state.copy()
    for group in groups:
        seen_free = False
        for k, j in enumerate(group.tolist()):
            if out[j] == frozen:
                out[group[k:]] = frozen
                break
            if out[j] == forced and seen_free:
                out[j] = free
            seen_free = seen_free or out[j] == free
    return out


def amounts_in_order(
    amounts: FloatArray, lot_values: FloatArray, groups: list[IntArray]
) -> FloatArray:
    """Each group's total amount sold, re-assigned to its lots in relief order.

    Args:
        amounts: per lot, the amount sold (account currency).
        lot_values: per lot, its value (the most a sale can take from it).
        groups: ``relief_groups``.

    Returns:
        Per lot, the amount the custodian's relief of the same total takes from it.
    """
    out = np.zeros_like(amounts)
    for group in groups:
        total = float(amounts[group].sum())
        if total <= 0.0:
            continue
        values = lot_values[group]
        before = np.cumsum(values) - values
        out[group] = np.clip(total - before, 0.0, values)
    return out


def sold_out_of_order(
    sell_shares: FloatArray, caps: FloatArray, groups: list[IntArray], tolerance: float = 1e-9
) -> list[int]:
    """Lots sold while a lot before them in relief order is not sold up to its cap."""
    out: list[int] = []
    for group in groups:
        short = sell_shares[group] < caps[group] - tolerance
        behind = np.cumsum(short) - short > 0  # a lot before it in the group is short
        out.extend(group[behind & (sell_shares[group] > 0.0)].tolist())
    return out
