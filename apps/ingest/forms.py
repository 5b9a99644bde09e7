"""The upload page pattern: a file field refused above the size limit, one way to run imports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from apps.common.exceptions import ApplicationError
from apps.common.limits import FILE_MAX_BYTES
from apps.ingest.problems import FileRejectedError


def upload_size_check(upload: Any) -> Any:
    """Refuse an upload over ``FILE_MAX_BYTES`` before it is read (a form field's error)."""
    if upload.size > FILE_MAX_BYTES:
        raise forms.ValidationError(f"the file is larger than {FILE_MAX_BYTES // 2**20} MB")
    return upload


class UploadForm(forms.Form):
    """A form with the file to import; subclasses add what the import needs (kind, layout)."""

    file = forms.FileField()

    def clean_file(self) -> Any:
        """Refuse oversized uploads before reading them."""
        return upload_size_check(self.cleaned_data["file"])


def upload_import(
    form: UploadForm, run: Callable[[bytes, str], Any], *, default_name: str
) -> tuple[Any, str, int]:
    """Run an import on a valid form's file: ``(report, error message, HTTP status)``.

    A rejected file gives its report (every problem by line) and 400; another refusal (an
    unknown layout) gives its message and 400.
    """
    upload = form.cleaned_data["file"]
    try:
        return run(upload.read(), upload.name or default_name), "", 200
    except FileRejectedError as exc:
        return exc.report, "", 400
    except ApplicationError as exc:
        return None, exc.message, 400
