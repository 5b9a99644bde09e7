"""Stored proposal snapshots: packed arrays come back exactly, earlier forms still unpack."""

from __future__ import annotations

import json
import zlib

import numpy as np
import zstandard

from apps.optimizer.adapters import snapshot_pack, snapshot_unpack


def _bits(values: list[float]) -> list[int]:
    return np.array(values, dtype=np.float64).view(np.int64).tolist()


def test_packed_arrays_round_trip_exactly() -> None:
    rng = np.random.default_rng(1)
    shares = np.round(rng.uniform(0.0, 80.0, 300), 6)
    basis = np.round(rng.uniform(0.0, 9000.0, 300), 2)
    weights = rng.dirichlet(np.ones(40)) * 0.97  # not decimal: kept as float64
    own = {
        "cash_amount": 12.5,
        "target_weights": weights,
        "lot_columns": {
            "lot_id": [f"lot-{i}" for i in range(300)],
            "symbol_index": rng.integers(0, 40, 300),
            "shares": shares,
            "basis_amount": basis,
            "holding_period_start_days": rng.integers(730_000, 740_000, 300),
        },
        "odd": np.array([-0.0, 3.0, 1e300, 0.1]),
        "whole": np.array([1.0, -7.0, 2.0**40]),
        "empty": np.zeros(0),
    }
    packed = snapshot_pack(own)
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # a Zstandard frame
    data = snapshot_unpack(packed)
    columns = data["lot_columns"]
    assert columns["lot_id"] == own["lot_columns"]["lot_id"]
    assert _bits(columns["shares"]) == _bits(shares.tolist())
    assert _bits(columns["basis_amount"]) == _bits(basis.tolist())
    assert columns["symbol_index"] == own["lot_columns"]["symbol_index"].tolist()
    assert all(isinstance(v, int) for v in columns["holding_period_start_days"])
    assert _bits(data["target_weights"]) == _bits(weights.tolist())
    assert _bits(data["odd"]) == _bits([-0.0, 3.0, 1e300, 0.1])
    assert data["whole"] == [1.0, -7.0, 2.0**40] and isinstance(data["whole"][0], float)
    assert data["empty"] == [] and data["cash_amount"] == 12.5


def test_text_tuples_round_trip_as_lists() -> None:
    own = {
        "ids": (*(f"lot-{i}-é" for i in range(50)), "", "tab\there"),
        "one_empty": ("",),
        "none": (),
        "with_nul": ("a\0b", "c"),  # not from the database: kept as a JSON list
        "mixed": ("a", 1),
    }
    assert snapshot_unpack(snapshot_pack(own)) == {
        "ids": [f"lot-{i}-é" for i in range(50)] + ["", "tab\there"],
        "one_empty": [""],
        "none": [],
        "with_nul": ["a\0b", "c"],
        "mixed": ["a", 1],
    }


def test_earlier_snapshots_still_unpack() -> None:
    plain = {"lot_columns": {"lot_id": ["a"], "shares": [1.5]}, "cash_amount": 3.0}
    assert snapshot_unpack(zlib.compress(json.dumps(plain).encode())) == plain
    # First packed form: array references without the compact integer fields.
    header = json.dumps({"x": {"$array": ["<f8", 0, 2]}}).encode()
    raw = b"RBS2" + len(header).to_bytes(4, "little") + header + np.array([0.5, 2.0]).tobytes()
    assert snapshot_unpack(zlib.compress(raw)) == {"x": [0.5, 2.0]}
    # Packed and zlib-compressed (before Zstandard): the same content comes back.
    own = {"lot_columns": {"lot_id": ["a", "b"], "shares": np.array([1.5, 2.25])}}
    repacked = zlib.compress(zstandard.ZstdDecompressor().decompress(snapshot_pack(own)), 1)
    assert snapshot_unpack(repacked) == {
        "lot_columns": {"lot_id": ["a", "b"], "shares": [1.5, 2.25]}
    }
