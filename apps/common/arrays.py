"""One row of one-dimensional PostgreSQL arrays, read in binary, numeric arrays into numpy.

For set-based reads of hundreds of thousands of values (a book chunk's lots, a universe's
price history): the query aggregates each column with ``array_agg`` and returns one row, so no
Python tuple is built per database row and numeric columns never become Python objects.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from psycopg import postgres
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format


class _ArrayLoader(Loader):
    """A one-dimensional array without NULLs, in binary, straight into a numpy array.

    PostgreSQL's binary array format (src/backend/utils/adt/arrayfuncs.c, array_send): int32
    ndim, int32 has-nulls flag, int32 element type, then (int32 size, int32 lower bound) per
    dimension, then per element an int32 length and the value, big-endian. psycopg's default
    loader builds a Python object per element.
    """

    format = Format.BINARY
    _value = ">i8"  # the element's binary form
    _dtype: type[np.generic] = np.int64  # the array handed back

    def load(self, data: Buffer) -> npt.NDArray[Any]:
        raw = bytes(data)
        ndim, has_nulls = int.from_bytes(raw[0:4], "big"), int.from_bytes(raw[4:8], "big")
        if ndim == 0:
            return np.zeros(0, dtype=self._dtype)
        if ndim != 1 or has_nulls:
            raise ValueError("expected a one-dimensional array without NULLs")
        element = np.dtype([("length", ">i4"), ("value", self._value)])
        return np.frombuffer(raw, dtype=element, offset=20)["value"].astype(self._dtype)


class _Int4ArrayLoader(_ArrayLoader):
    _value = ">i4"


class _Float8ArrayLoader(_ArrayLoader):
    _value = ">f8"
    _dtype = np.float64


_LOADERS = (("int8", _ArrayLoader), ("int4", _Int4ArrayLoader), ("float8", _Float8ArrayLoader))


def array_row(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run ``sql`` (one row of ``array_agg`` columns) and return that row, or None.

    bigint[] and integer[] come back as int64 arrays, double precision[] as float64 arrays
    (NULL elements raise ``ValueError``); other arrays as psycopg loads them (lists). An
    aggregate over no rows is NULL: None in the row.
    """
    # Through Django's cursor wrapper: errors become django.db errors (a lost connection is an
    # OperationalError the tasks retry) and the query is counted and logged like any other.
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: loaders and format for this cursor only
        for name, loader in _LOADERS:
            raw.adapters.register_loader(postgres.types[name].array_oid, loader)
        raw.format = Format.BINARY
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None
