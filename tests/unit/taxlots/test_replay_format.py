"""The tax-replay JSON format: the spec's own examples, exactly, and one line per bad field."""

import codecs
import json
from typing import Any

import pytest

from apps.taxlots.errors import CarryforwardError, ReplayError
from apps.taxlots.replay_format import carryforward_document, dumps, loads, replay_document

# docs/formats/tax-replay.md: the input example, with the purchases its output implies
# (b2: 50 shares on 2012-12-19 for $2,750; 25 more shares replaced, here in the IRA).
SPEC_INPUT: dict[str, Any] = {
    "params": {"lot_method": "FIFO", "wash_sale_window_days": 30, "long_term_months": 12},
    "accounts": [{"id": "taxable", "type": "taxable"}, {"id": "ira", "type": "traditional_ira"}],
    "trades": [
        {"id": "b1", "date": "2012-09-26", "account": "taxable", "symbol": "M", "side": "buy",
         "quantity": 100, "amount": 5000},
        {"id": "b2", "date": "2012-12-19", "account": "taxable", "symbol": "M", "side": "buy",
         "quantity": 50, "amount": 2750},
        {"id": "b3", "date": "2012-12-28", "account": "ira", "symbol": "M", "side": "buy",
         "quantity": 25, "amount": 1125},
        {"id": "s1", "date": "2013-01-09", "account": "taxable", "symbol": "M", "side": "sell",
         "quantity": 100, "amount": 4000, "lots": [{"lot_id": "b1", "quantity": 100}]},
    ],
}  # fmt: skip

# The output example of the spec, verbatim.
SPEC_REALIZED = {
    "sell_id": "s1", "lot_id": "b1", "account": "taxable", "symbol": "M", "quantity": 100,
    "acquired_date": "2012-09-26", "holding_period_start": "2012-09-26",
    "proceeds": 4000.0, "cost_basis": 5000.0, "gain_loss": -1000.0,
    "wash_sale_disallowed": 750.0, "disallowed_quantity": 75,
    "reportable_gain_loss": -250.0, "term": "short", "form8949_code": "W",
}  # fmt: skip
SPEC_OPEN_B2 = {
    "lot_id": "b2", "account": "taxable", "symbol": "M", "quantity": 50,
    "acquired_date": "2012-12-19", "holding_period_start": "2012-09-05",
    "cost_basis_unadjusted": 2750.0, "adjusted_basis": 3250.0, "wash_adjustment": 500.0,
}  # fmt: skip
SPEC_MATCH_B2 = {
    "loss_sell_id": "s1", "loss_lot_id": "b1", "replacement_lot_id": "b2", "quantity": 50,
    "disallowed_loss": 500.0, "kind": "deferred", "replacement_holding_period_start": "2012-09-05",
}  # fmt: skip
SPEC_TOTALS = {"short_term": -250.0, "long_term": 0.0, "wash_disallowed_total": 750.0}


def replay_text(document: object) -> dict[str, Any]:
    return replay_document(json.dumps(document))


def problems_of(document: object) -> list[str]:
    with pytest.raises(ReplayError) as caught:
        replay_text(document)
    return caught.value.lines()


def test_spec_example_output_reproduced_exactly() -> None:
    out = replay_text(SPEC_INPUT)
    assert out["realized"] == [SPEC_REALIZED]
    assert SPEC_OPEN_B2 in out["lots_open"]
    assert out["wash_matches"][0] == SPEC_MATCH_B2
    assert out["wash_matches"][1]["kind"] == "permanent"
    assert out["totals"] == SPEC_TOTALS
    assert list(out) == ["realized", "lots_open", "wash_matches", "totals"]


def test_spec_input_example_alone() -> None:
    document = {**SPEC_INPUT, "trades": [SPEC_INPUT["trades"][0], SPEC_INPUT["trades"][3]]}
    out = replay_text(document)
    assert out["realized"][0] | {"wash_sale_disallowed": 0} == SPEC_REALIZED | {
        "wash_sale_disallowed": 0,
        "disallowed_quantity": 0,
        "reportable_gain_loss": -1000.0,
        "form8949_code": "",
    }
    assert out["lots_open"] == []
    assert out["wash_matches"] == []


def test_params_are_optional_and_text_numbers_are_exact() -> None:
    document = {
        "accounts": [{"id": "t", "type": "taxable"}],
        "trades": [
            {"id": "b", "date": "2024-01-02", "account": "t", "symbol": "S", "side": "buy",
             "quantity": "0.1", "amount": "0.30"},
            {"id": "s", "date": "2024-02-02", "account": "t", "symbol": "S", "side": "sell",
             "quantity": 0.1, "amount": 0.2},
        ],
    }  # fmt: skip
    out = replay_text(document)
    assert out["realized"][0]["gain_loss"] == -0.1
    assert out["realized"][0]["quantity"] == 0.1


def test_output_is_json_numbers_not_strings() -> None:
    text = dumps(replay_text(SPEC_INPUT))
    assert '"proceeds": 4000.0' in text
    assert text.endswith("}\n")


def test_descriptive_top_level_keys_are_ignored() -> None:
    out = replay_text({**SPEC_INPUT, "description": "Pub 550", "expected": {"totals": {}}})
    assert out["totals"] == SPEC_TOTALS


def test_one_line_per_problem_with_trade_and_field() -> None:
    document = {
        "params": {"lot_method": "AVERAGE", "long_term_month": 12},
        "accounts": [{"id": "t", "type": "brokerage"}, {"id": "i", "type": "roth_ira"}],
        "trades": [
            {"id": "b1", "date": "2024-01-02", "account": "t", "symbol": "S", "side": "buy",
             "quantity": 10, "amount": 100},
            {"id": "b2", "date": "2024-13-01", "account": "t", "symbol": "S", "side": "buy",
             "quantity": 10},
            {"id": "s1", "date": "2024-02-01", "account": "t", "symbol": "S", "side": "short",
             "quantity": 5, "amount": 50},
            {"id": "s2", "date": "2024-02-02", "account": "x", "symbol": "S", "side": "sell",
             "quantity": 5, "amount": 50, "lots": [{"lot_id": "b9", "qty": 5}]},
            {"id": "s3", "date": "2024-02-03", "account": "i", "symbol": "S", "side": "sell",
             "quantity": 5, "amount": 50, "fees": 1},
            {"id": "s4", "date": "2024-02-04", "account": "t", "symbol": "S", "side": "sell",
             "quantity": 50, "amount": True},
            "not a trade",
        ],
    }  # fmt: skip
    assert problems_of(document) == [
        "params: long_term_month: unknown field (misspelt?)",
        "params: lot_method: must be one of FIFO, LIFO, HIFO, got 'AVERAGE'",
        "accounts[0]: type: must be one of taxable, traditional_ira, roth_ira, got 'brokerage'",
        "trade b2 (trades[1]): date: '2024-13-01' is not a valid date: month must be in 1..12",
        "trade b2 (trades[1]): amount: is required",
        "trade s1 (trades[2]): side: must be one of buy, sell, got 'short'",
        "trade s2 (trades[3]): lots[0].qty: unknown field (misspelt?)",
        "trade s2 (trades[3]): lots[0].quantity: is required",
        "trade s3 (trades[4]): fees: unknown field (misspelt?)",
        "trade s4 (trades[5]): amount: must be a number, got a boolean",
        "trades[6]: must be an object, got the string 'not a trade'",
        "trade s3 (trades[4]): quantity: sells 5 shares of S in account i but only 0 are held",
    ]


def test_holdings_problems_are_reported_with_field_problems() -> None:
    document = json.loads(json.dumps(SPEC_INPUT))
    document["trades"][3]["quantity"] = 150
    document["trades"][3]["lots"][0]["quantity"] = 150
    assert problems_of(document) == [
        "trade s1 (trades[3]): lots[0].quantity: sells 150 shares of lot b1 but only 100 are "
        "still held"
    ]


def test_invalid_json_is_one_problem() -> None:
    with pytest.raises(ReplayError) as caught:
        replay_document('{"trades": [}')
    assert caught.value.lines() == ["input: invalid JSON at line 1 column 13: Expecting value"]
    with pytest.raises(ReplayError) as caught:
        loads('{"amount": NaN}')
    assert caught.value.lines() == ["input: invalid JSON at line 1 column 12: NaN is not a number"]


def test_a_field_given_twice_in_one_object_is_refused() -> None:
    """JSON keeps the last of two equal keys silently: an amount or date given twice is an
    error in the file, not a choice the engine may make."""
    with pytest.raises(ReplayError) as caught:
        replay_document('{"accounts": [], "trades": [{"id": "t1", "id": "t2"}]}')
    assert caught.value.lines() == [
        'input: invalid JSON: an object gives "id" twice (each field once: which value was '
        "meant is unknown)"
    ]
    with pytest.raises(CarryforwardError) as caught:
        carryforward_document('{"filing_status": "single", "filing_status": "single"}')
    assert caught.value.lines()[0].startswith('input: invalid JSON: an object gives "filing_')
    # The same key in different objects, and equal values under different keys, are fine.
    assert loads('[{"a": 1}, {"a": 1, "b": 1}]') == [{"a": 1}, {"a": 1, "b": 1}]


def test_missing_sections_are_reported() -> None:
    assert problems_of({}) == [
        "input: accounts: must be an array, got null",
        "input: trades: must be an array, got null",
    ]


# ------------------------------------------------------------------------- tax_carryforward


def test_carryforward_spec_example() -> None:
    out = carryforward_document(
        json.dumps(
            {
                "filing_status": "single",
                "years": [
                    {"year": 2023, "short_term_net": 49017, "long_term_net": -63149,
                     "carryover_in_short_term": 0, "carryover_in_long_term": 0},
                    {"year": 2024, "short_term_net": 0, "long_term_net": 0},
                ],
            }
        )
    )  # fmt: skip
    first, second = out["years"]  # type: ignore[misc]
    assert first == {
        "year": 2023,
        "carryover_in_short_term": 0.0,
        "carryover_in_long_term": 0.0,
        "net_short_term": 49017.0,
        "net_long_term": -63149.0,
        "net_capital": -14132.0,
        "deduction_against_ordinary_income": 3000.0,
        "carryover_out_short_term": 0.0,
        "carryover_out_long_term": 11132.0,
    }
    assert second["carryover_in_long_term"] == 11132.0
    assert second["deduction_against_ordinary_income"] == 3000.0
    assert second["carryover_out_long_term"] == 8132.0


def test_carryforward_problems() -> None:
    with pytest.raises(CarryforwardError) as caught:
        carryforward_document(
            json.dumps(
                {"filing_status": "single", "years": [{"year": "2023", "short_term_net": 1}]}
            )
        )
    assert caught.value.lines() == [
        "years[0]: year: must be an integer year, got the string '2023'"
    ]
    with pytest.raises(CarryforwardError) as caught:
        carryforward_document(json.dumps({"years": [{"year": 2023, "long_term_net": "x"}]}))
    assert caught.value.lines() == [
        "input: filing_status: is required",
        "year 2023 (years[0]): short_term_net: is required",
        "year 2023 (years[0]): long_term_net: must be a number, got the string 'x'",
    ]


# ------------------------------------------------------------- what the fuzzing found (#10)


def test_file_bytes_must_be_utf8_and_a_byte_order_mark_is_ignored() -> None:
    text = json.dumps(SPEC_INPUT, indent=1)
    assert replay_document(codecs.BOM_UTF8 + text.encode()) == replay_document(text)
    with pytest.raises(ReplayError) as caught:
        replay_document(text.encode("utf-16"))
    assert caught.value.lines() == [
        "input: not UTF-8 text at line 1 column 1: the file is UTF-16; save it as UTF-8"
    ]
    with pytest.raises(ReplayError) as caught:
        replay_document('{\n  "note": "Café"}'.encode("latin-1"))
    assert caught.value.lines() == [
        "input: not UTF-8 text at line 2 column 15: byte 0xe9 (invalid continuation byte); "
        "save the file as UTF-8"
    ]


def test_json_too_deep_or_too_long_is_a_located_problem() -> None:
    with pytest.raises(ReplayError) as caught:
        replay_document('{"trades":\n' + "[" * 5000 + "]" * 5000 + "}")
    assert caught.value.lines() == [
        "input: invalid JSON at line 2 column 5000: arrays and objects nested 5001 deep, "
        "too deep to read"
    ]
    document = json.loads(json.dumps(SPEC_INPUT))
    document["trades"][0]["quantity"] = 7
    with pytest.raises(ReplayError) as caught:
        replay_document(json.dumps(document).replace('"quantity": 7', '"quantity": ' + "7" * 5000))
    assert caught.value.lines() == [
        "trade b1 (trades[0]): quantity: must be below 10**14 shares, "
        "got 7777777777777777777777777777777777777777... (5000 characters)"
    ]


def test_sizes_beyond_the_ledger_and_the_calendar_are_problems() -> None:
    document = json.loads(json.dumps(SPEC_INPUT))
    document["params"]["wash_sale_window_days"] = 10**40
    document["trades"][1]["amount"] = 10**18
    document["trades"][2]["quantity"] = "1e400"
    assert problems_of(document) == [
        "params: wash_sale_window_days: must be at most 36525",
        "trade b2 (trades[1]): amount: must be below 10**18 USD, got 1000000000000000000",
        "trade b3 (trades[2]): quantity: must be below 10**14 shares, got 1E+400",
    ]


def test_a_holding_period_tacked_before_0001_01_01_is_a_problem() -> None:
    # IRC §1223(3): the replacement (b2, bought 5 days before the loss sale) would start
    # holding 5 days before b1's start, which is the calendar's first day.
    document = {
        "accounts": [{"id": "t", "type": "taxable"}],
        "trades": [
            {"id": "b1", "date": "0001-01-01", "account": "t", "symbol": "S", "side": "buy",
             "quantity": 10, "amount": 100},
            {"id": "b2", "date": "0001-01-05", "account": "t", "symbol": "S", "side": "buy",
             "quantity": 10, "amount": 100},
            {"id": "s1", "date": "0001-01-10", "account": "t", "symbol": "S", "side": "sell",
             "quantity": 10, "amount": 50, "lots": [{"lot_id": "b1", "quantity": 10}]},
        ],
    }  # fmt: skip
    assert problems_of(document) == [
        "trade s1 (trades[2]): date: lot b2 replaces the loss of sell s1 and its holding period "
        "would start before 0001-01-01"
    ]
    document["trades"][1]["date"] = "0001-01-10"  # bought on the sale day: starts 0001-01-01
    assert replay_text(document)["wash_matches"][0]["replacement_holding_period_start"] == (
        "0001-01-01"
    )


def test_a_line_break_in_a_file_value_stays_on_the_problem_line() -> None:
    document = json.loads(json.dumps(SPEC_INPUT))
    document["trades"][3]["symbol"] = "M\nN"
    document["trades"][3].pop("lots")
    assert problems_of(document) == [
        "trade s1 (trades[3]): quantity: sells 100 shares of M\\nN in account taxable but only "
        "0 are held"
    ]
