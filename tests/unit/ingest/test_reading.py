"""The ingest pipeline: decoding, the three header rules, rows keyed by our fields, one error."""

import pytest

from apps.common.exceptions import CommonErrorCode
from apps.ingest import fields
from apps.ingest.problems import FileRejectedError, Problem
from apps.ingest.reading import Column, Header, Layout, Reading, columns, rows_read

OURS = Layout(columns("symbol", "shares", optional=("note",)))
THEIRS = Layout(
    {"symbol": Column("Symbol"), "shares": Column("Quantity", aliases=("Qty",))},
    header=Header.SEARCH,
    total_rows=frozenset({"total"}),
)


def _read(content, layout):
    reading = Reading()
    rows = [(row.line, row.cells) for row in rows_read(content, layout, reading)]
    return rows, reading


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "symbol,shares\n".encode("utf-16"),
            "line 0: file: is UTF-16; save it as UTF-8 (CSV UTF-8)",
        ),
        (b"symbol,shares\n\x00", "line 0: file: contains NUL bytes: a binary file, not CSV text"),
        (
            b"symbol,shares\nA,\xe9\n",
            "line 2: file: is not UTF-8 (byte 0xe9 at offset 16); save it as UTF-8 (CSV UTF-8)",
        ),
        (b"  \n", "line 1: header: the file is empty; a header row is required"),
        (
            b'symbol,shares\nA,"' + b"x" * 200_000 + b'"\n',
            "line 2: file: is not valid CSV: field larger than field limit (131072)",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_broken_as_a_whole(content, problem):
    rows, reading = _read(content, OURS)
    assert (rows, [str(p) for p in reading.problems], reading.is_file_broken) == (
        [],
        [problem],
        True,
    )


def test_the_size_limit_comes_from_common_limits(monkeypatch):
    monkeypatch.setattr("apps.ingest.reading.FILE_MAX_BYTES", 10)
    _, reading = _read(b"symbol,shares\nA,1\n", OURS)
    assert [str(p) for p in reading.problems] == ["line 0: file: is larger than 0 MB; split it"]


def test_a_bom_is_dropped_and_rows_are_keyed_by_our_fields():
    rows, reading = _read("\ufeffsymbol,shares\nA,1\n\nB,2\n".encode(), OURS)
    assert rows == [(2, {"symbol": "A", "shares": "1"}), (4, {"symbol": "B", "shares": "2"})]
    assert (reading.problems, reading.data_lines) == ([], 2)


def test_a_strict_header_reports_unknown_missing_and_repeated_columns():
    _, reading = _read(b"symbol,symbol,price\nA,A,1\n", OURS)
    assert sorted(str(p) for p in reading.problems) == [
        "line 1: header: column 'symbol' appears twice",
        "line 1: header: missing column 'shares'",
        "line 1: header: unknown column 'price'",
    ]


def test_a_first_line_header_ignores_columns_it_does_not_know():
    layout = Layout(OURS.columns, header=Header.FIRST)
    rows, reading = _read(b"\nprice,shares,symbol\n9,1,A\n", layout)
    assert (rows, reading.problems) == ([(3, {"shares": "1", "symbol": "A"})], [])


def test_a_searched_header_skips_titles_totals_and_footers():
    text = "Positions as of 01/02/2024\n\nSymbol,Qty\nA,1\nTotal,1\n\nDownloaded today\nB,2\n"
    rows, reading = _read(text.encode(), THEIRS)
    assert rows == [(4, {"symbol": "A", "shares": "1"}), (8, {"symbol": "B", "shares": "2"})]
    assert reading.preamble == [["Positions as of 01/02/2024"]]
    assert (reading.footer_lines, reading.skipped) == (["Downloaded today"], 2)


def test_a_problem_names_the_files_column_and_remembers_the_broken_row():
    reading = Reading()
    for row in rows_read(b"Symbol,Qty\nA,-1\nB\n", THEIRS, reading):
        fields.positive(row, "shares", fields.shares(row, "shares"))
    assert [str(p) for p in reading.problems] == [
        "line 2: Quantity: must be > 0, got -1",
        "line 3: row: truncated: 1 values, at least 2 are needed",
    ]
    assert reading.broken_rows == [{"symbol": "A", "shares": "-1"}, {"symbol": "B"}]


def test_an_unsigned_number_refuses_a_sign():
    reading = Reading()
    for row in rows_read(b"symbol,shares\nA,-1\n", OURS, reading):
        assert fields.shares(row, "shares", signed=False) is None
    assert [str(p) for p in reading.problems] == ["line 2: shares: '-1' is not a positive number"]


def test_the_rejected_file_error_carries_every_problem_for_the_api():
    error = FileRejectedError(
        [Problem(2, "shares", "is required")], message="1 problem", code=CommonErrorCode.INVALID
    )
    assert error.extra == {"problems": [{"line": 2, "field": "shares", "reason": "is required"}]}
    assert error.lines() == ["line 2: shares: is required"]
