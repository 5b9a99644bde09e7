"""JSON round trip of problems and configs (``asdict``-style + ``tolist()``): replayable runs.

The same JSON is stored with every rebalance run and used as unit-test fixtures, so any run can be
replayed through the core. Encoding walks the dataclasses; decoding is driven by their type hints.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date
from enum import Enum
from typing import Any

import numpy as np

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.types import HouseholdProblem, RebalanceProblem, SolverConfig

FORMAT_VERSION = 1
_KINDS: dict[str, type[Any]] = {"rebalance": RebalanceProblem, "household": HouseholdProblem}


def to_jsonable(value: object) -> Any:
    """Convert core dataclasses, arrays, dates, enums and sets to plain JSON values.

    Args:
        value: A core dataclass or any value it contains.

    Returns:
        Nested dicts, lists, strings, numbers, booleans and None.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _array_dtype(hint: Any) -> Any:
    """The scalar type of an ``NDArray[...]`` hint (float64 when it says none)."""
    args = typing.get_args(hint)
    if len(args) == 2:
        scalar = typing.get_args(args[1])
        if scalar and isinstance(scalar[0], type) and issubclass(scalar[0], np.generic):
            return scalar[0]
    return np.float64


def _decode(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if data is None:
            return None
        if len(options) > 1:  # e.g. lots: a list of TaxLot objects or a LotTable's columns
            records = [o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)]
            others = [o for o in options if o not in records]
            options = (records if isinstance(data, dict) else others) or options
        return _decode(options[0], data)
    if origin is np.ndarray or hint is np.ndarray:
        return np.asarray(data, dtype=_array_dtype(hint))
    if origin is tuple:
        (item, *_rest) = typing.get_args(hint)
        return tuple(_decode(item, v) for v in data)
    if origin is frozenset:
        (item,) = typing.get_args(hint)
        return frozenset(_decode(item, v) for v in data)
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return from_jsonable(hint, data)
        if issubclass(hint, Enum):
            return hint(data)
        if hint is date:
            return date.fromisoformat(data)
        if hint is float:
            return float(data)
        if hint in (int, str, bool):
            return hint(data)
    raise ProblemShapeError(f"cannot decode a value of type {hint!r}")


def from_jsonable(cls: type[Any], data: dict[str, Any]) -> Any:
    """Rebuild a core dataclass from ``to_jsonable`` output (``__post_init__`` re-validates).

    Args:
        cls: The dataclass type.
        data: Its JSON form.

    Returns:
        The instance.
    """
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _decode(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.name in data
    }
    return cls(**kwargs)


def problem_to_json(
    problem: RebalanceProblem | HouseholdProblem, config: SolverConfig | None = None
) -> str:
    """Serialise a problem (and optionally its config) to a JSON string.

    Args:
        problem: A single-account or household problem.
        config: The solver configuration used with it.

    Returns:
        JSON text with ``version``, ``kind``, ``problem`` and ``config``.
    """
    kind = "rebalance" if isinstance(problem, RebalanceProblem) else "household"
    payload = {
        "version": FORMAT_VERSION,
        "kind": kind,
        "problem": to_jsonable(problem),
        "config": to_jsonable(config) if config is not None else None,
    }
    return json.dumps(payload, sort_keys=True)


def problem_from_json(
    text: str | dict[str, Any],
) -> tuple[RebalanceProblem | HouseholdProblem, SolverConfig | None]:
    """Rebuild a problem and its config from ``problem_to_json`` output.

    Args:
        text: The JSON text, or the already parsed object.

    Returns:
        The problem and the config (None when none was stored).

    Raises:
        ProblemShapeError: On an unknown kind or version.
    """
    payload = json.loads(text) if isinstance(text, str) else text
    if payload.get("version") != FORMAT_VERSION or payload.get("kind") not in _KINDS:
        raise ProblemShapeError("unknown problem JSON version or kind")
    problem = from_jsonable(_KINDS[payload["kind"]], payload["problem"])
    raw_config = payload.get("config")
    config = from_jsonable(SolverConfig, raw_config) if raw_config is not None else None
    return problem, config
