"""The open lots of many accounts as column arrays, in one query (the optimizer's read).

Shares and basis arrive as exact integers (millionths of a share, cents), so the solver's floats
are ``int / 10^k``, the correctly rounded value of the Decimal, without a Decimal per lot.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from apps.accounts.models import (
    TaxLot,
)
from apps.common.arrays import array_row
from apps.common.bulk import sql_table


@dataclass(frozen=True)
class LotArrays:
    """The open lots of a chunk of accounts column-wise, grouped by account (one query).

    Shares and basis arrive as exact integers (millionths of a share, cents: the fields' decimal
    places), so the floats for the core are ``int / 10^k``: the correctly rounded value of the
    Decimal, the same as ``money.to_float``, without a Decimal per lot.
    """

    account_ids: npt.NDArray[np.int64]
    lot_keys: npt.NDArray[np.object_]  # str per lot (an object array reorders in C)
    shares_micro: npt.NDArray[np.int64]
    basis_cents: npt.NDArray[np.int64]  # 0 where the basis is missing
    start_days: npt.NDArray[np.int64]  # holding-period start, date ordinals
    acquired_days: npt.NDArray[np.int64]  # purchase date, date ordinals
    has_basis: npt.NDArray[np.bool_]
    names: tuple[str, ...]  # the distinct symbols, sorted
    codes: npt.NDArray[np.int64]  # position of each lot's symbol in ``names``
    slices: dict[int, slice]

    @classmethod
    def read(cls, account_ids: Sequence[int]) -> "LotArrays":
        """Read the lots of the accounts, each account's in (symbol, acquired on, row id) order.

        That is the tax-lot engine's acquisition order (FIFO): ``ledger_rebuild`` writes the
        rows in the order the engine booked the buys, a lot's wash-sale pieces in its order.

        One SQL query returning one row (no Python tuple per lot), and no ORDER BY: sorting
        100,000 rows on text keys cost the database more than the rest of the read, so the lots
        are ordered here, on integers. Every aggregated element costs the database ~0.1 µs, so
        the two dates and the basis flag travel packed in one bigint and the text columns as
        one string each (half the database's time of one array per column); shares and basis
        come from the lot's generated integer columns (numeric arithmetic per lot cost more).
        """
        columns = _lot_columns(account_ids, texts=_TEXTS_JOINED)
        lot_ids, accounts, keys, symbols, shares, basis, packed = columns
        if len(keys) != len(lot_ids) or len(symbols) != len(lot_ids):  # a separator in a key
            lot_ids, accounts, keys, symbols, shares, basis, packed = _lot_columns(
                account_ids, texts=_TEXTS_ARRAYS
            )
        has_basis = (packed & 1).astype(bool)
        acquired = (packed >> 1) & _DAY_MASK
        starts = packed >> (_DAY_BITS + 1)
        count = len(keys)
        names = tuple(sorted(set(symbols)))
        code_of = {name: j for j, name in enumerate(names)}
        codes = np.fromiter(map(code_of.__getitem__, symbols), dtype=np.int64, count=count)
        order = np.lexsort((lot_ids, acquired, codes, accounts))
        account_array = accounts[order]
        slices: dict[int, slice] = {}
        if count:
            change = np.flatnonzero(account_array[1:] != account_array[:-1]) + 1
            bounds = [0, *change.tolist(), count]
            for begin, end in itertools.pairwise(bounds):
                slices[int(account_array[begin])] = slice(begin, end)
        return cls(
            account_ids=account_array,
            lot_keys=np.array(keys, dtype=object)[order],
            names=names,
            codes=codes[order],
            shares_micro=shares[order],
            basis_cents=basis[order],
            start_days=starts[order],
            acquired_days=acquired[order],
            has_basis=has_basis[order],
            slices=slices,
        )

    def without(self, reserved: dict[tuple[int, str], Decimal]) -> "LotArrays":
        """These lots less the shares that open sell orders reserve, per (account, lot key).

        A lot's basis shrinks in proportion; a lot reserved whole leaves the table. A key held in
        several pieces (a lot split by a wash sale) is reserved from its first piece on.
        """
        wanted = {
            key: int(shares * 1_000_000)
            for key, shares in reserved.items()
            if key[0] in self.slices
        }
        if not wanted:
            return self
        shares, basis = self.shares_micro.copy(), self.basis_cents.copy()
        for (account_id, lot_key), micro in wanted.items():
            where = self.slices[account_id]
            for i in np.flatnonzero(self.lot_keys[where] == lot_key) + where.start:
                taken = min(micro, int(shares[i]))
                if taken:
                    basis[i] -= round(int(basis[i]) * taken / int(shares[i]))
                    shares[i] -= taken
                    micro -= taken
        keep = shares > 0
        account_array = self.account_ids[keep]
        slices: dict[int, slice] = {}
        if len(account_array):
            change = np.flatnonzero(account_array[1:] != account_array[:-1]) + 1
            for begin, end in itertools.pairwise([0, *change.tolist(), len(account_array)]):
                slices[int(account_array[begin])] = slice(begin, end)
        return replace(
            self,
            account_ids=account_array,
            lot_keys=self.lot_keys[keep],
            shares_micro=shares[keep],
            basis_cents=basis[keep],
            start_days=self.start_days[keep],
            acquired_days=self.acquired_days[keep],
            has_basis=self.has_basis[keep],
            codes=self.codes[keep],
            slices=slices,
        )


_DAY_BITS = 24  # a date ordinal (days since 0001-01-01, 1-based) is below 2^22 up to 9999-12-31
_DAY_MASK = (1 << _DAY_BITS) - 1
_SEPARATOR = "\x1f"  # ASCII unit separator, between the texts of ``string_agg``
_TEXTS_JOINED = "string_agg(lot_key, E'\\x1f'), string_agg(symbol, E'\\x1f')"
_TEXTS_ARRAYS = "array_agg(lot_key), array_agg(symbol)"  # a key holds the separator


def _lot_columns(account_ids: Sequence[int], *, texts: str) -> tuple[Any, ...]:
    """The chunk's lot columns, per lot in the database's order.

    Ids, account ids, lot keys, symbols (``texts`` aggregates these two), shares x 10^6, basis
    in cents (0 when missing) and (holding-period start ordinal << 25 | acquired-on ordinal
    << 1 | has basis).
    """
    sql = (
        f"SELECT array_agg(id), array_agg(account_id), {texts}, "  # noqa: S608 - constant expressions and the model's own table, quoted  # nosec B608
        "array_agg(shares_micro), array_agg(basis_cents), "
        "array_agg(((holding_period_start_on - DATE '0001-01-01' + 1)::bigint "
        f"* {1 << _DAY_BITS} + (acquired_on - DATE '0001-01-01' + 1)) * 2 + has_basis::int) "
        f"FROM {sql_table(TaxLot)} WHERE account_id = ANY(%s)"
    )
    row = array_row(sql, [list(account_ids)])
    if row is None or row[0] is None:  # no lots
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, [], [], empty, empty, empty
    ids, accounts, keys, symbols, shares, basis, packed = row
    if isinstance(keys, str):
        keys, symbols = keys.split(_SEPARATOR), symbols.split(_SEPARATOR)
    return ids, accounts, keys, symbols, shares, basis, packed
