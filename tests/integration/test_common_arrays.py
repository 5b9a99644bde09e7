"""``common.arrays.array_row``: binary arrays into numpy exactly, NULLs refused, counted queries."""

import numpy as np
import pytest

from apps.common.arrays import array_row

pytestmark = pytest.mark.django_db


def test_numeric_arrays_arrive_as_exact_numpy_arrays(django_assert_num_queries):
    big = 2**62 + 3  # not representable as a float64: must not pass through one
    array_row("SELECT ARRAY[1]::bigint[]", [])  # the connection's own set-up is not counted
    with django_assert_num_queries(1):
        row = array_row(
            "SELECT ARRAY[%s, -1, 0]::bigint[], ARRAY[2147483647, -5]::integer[], "
            "ARRAY[0.1, -2.5e300, 5e-324]::float8[], ARRAY['a', 'b']::text[]",
            [big],
        )
    assert row is not None
    bigs, ints, floats, texts = row
    assert bigs.dtype == np.int64 and bigs.tolist() == [big, -1, 0]
    assert ints.dtype == np.int64 and ints.tolist() == [2147483647, -5]
    assert floats.dtype == np.float64 and floats.tolist() == [0.1, -2.5e300, 5e-324]
    assert texts == ["a", "b"]


def test_empty_aggregates_are_none_and_empty_arrays_are_empty():
    row = array_row("SELECT array_agg(x), '{}'::bigint[] FROM generate_series(1, 0) AS x", [])
    assert row is not None
    assert row[0] is None and row[1].dtype == np.int64 and row[1].size == 0


@pytest.mark.parametrize(
    "sql", ["SELECT ARRAY[1, NULL]::bigint[]", "SELECT ARRAY[[1, 2], [3, 4]]::integer[]"]
)
def test_nulls_and_several_dimensions_are_refused(sql):
    with pytest.raises(ValueError, match="one-dimensional array without NULLs"):
        array_row(sql, [])
