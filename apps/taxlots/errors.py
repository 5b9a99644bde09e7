"""Typed input errors of the tax-lot engine: every problem found, each with where and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Characters str.splitlines() breaks at, shown escaped so that a problem stays on one line.
_LINE_BREAKS = str.maketrans(
    {char: repr(char)[1:-1] for char in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
)


def shortened(text: str, limit: int = 60) -> str:
    """Return ``text``, or its start and its length when longer than ``limit`` characters."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, precise enough to fix without reading the code.

    Attributes:
        where: what the problem is in, e.g. ``"trade s1 (trades[3])"`` or ``"params"``.
        field: the field at fault, e.g. ``"quantity"``; empty when the whole item is at fault.
        message: why it is wrong, in plain words.
    """

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        # One physical line whatever the file put in ids, symbols or keys.
        if self.field:
            return f"{self.where}: {self.field}: {self.message}".translate(_LINE_BREAKS)
        return f"{self.where}: {self.message}".translate(_LINE_BREAKS)


class TaxLotInputError(ValueError):
    """Bad input to the tax-lot engine; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def lines(self) -> list[str]:
        """Return one human-readable line per problem, in the order found."""
        return [str(problem) for problem in self.problems]


class ReplayError(TaxLotInputError):
    """A trade history that cannot be replayed (bad fields, oversells, unknown lots...)."""


class CarryforwardError(TaxLotInputError):
    """A Schedule D carryover input that cannot be computed."""
