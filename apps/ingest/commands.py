"""The management command pattern: read the file within the size limit, report a rejection."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError, OutputWrapper

from apps.common.limits import FILE_MAX_BYTES
from apps.ingest.problems import FileRejectedError, IngestErrorCode, Problem


def file_content(path: Path) -> bytes:
    """The file's bytes; a file over the size limit is rejected whole (line 0)."""
    try:
        if path.stat().st_size > FILE_MAX_BYTES:
            raise FileRejectedError(
                [Problem(0, "file", f"is larger than {FILE_MAX_BYTES // 2**20} MB")],
                message=f"{path.name} was not read",
                code=IngestErrorCode.FILE_TOO_LARGE,
            )
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc


def rejection_write(stderr: OutputWrapper, exc: FileRejectedError, *, prefix: str = "") -> None:
    """One line per problem on stderr: ``line N: field: reason``, after ``prefix``."""
    for line in exc.lines():
        stderr.write(f"{prefix}{line}")
