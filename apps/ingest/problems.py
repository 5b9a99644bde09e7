"""What is wrong with a file: one ``Problem`` type and the one error that rejects a file whole."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apps.common.exceptions import ApplicationError


class IngestErrorCode(StrEnum):
    """Error codes of the pipeline itself (the owning app's code names a rejected file)."""

    FILE_TOO_LARGE = "file_too_large"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: the line (0 or 1 for the whole file), the field, why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class ProblemLines:
    """What reads a file's ``problems`` out: a report, or the error rejecting the file."""

    problems: tuple[Problem, ...]

    def lines(self) -> list[str]:
        """One line per problem: ``line N: field: reason``."""
        return [str(p) for p in self.problems]


def problems_sorted(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Each problem once, by line, field and reason."""
    return tuple(sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.field, p.reason)))


class FileRejectedError(ProblemLines, ApplicationError):
    """A file had problems and nothing was applied; ``problems`` lists every one.

    ``report`` is the owning service's report of the file (counts read so far) when it keeps
    one; ``extra`` defaults to ``{"problems": [{line, field, reason}, ...]}`` for the API.
    """

    def __init__(
        self,
        problems: Iterable[Problem],
        *,
        message: str,
        code: StrEnum,
        report: Any = None,
        extra: dict[str, Any] | None = None,
    ):
        self.problems = tuple(problems)
        self.report = report
        super().__init__(
            message,
            code=code,
            extra=extra
            if extra is not None
            else {
                "problems": [
                    {"line": p.line, "field": p.field, "reason": p.reason} for p in self.problems
                ]
            },
        )
