"""Model validation for services: ``full_clean()`` failures become one ApplicationError."""

from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db.models import Model

from apps.common.exceptions import ApplicationError


def full_clean_or_error(obj: Model, *, code: StrEnum) -> None:
    """Validate a model instance; raise an ApplicationError naming every field at fault.

    Raises:
        ApplicationError: with ``extra`` = the field -> messages mapping.
    """
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            code=code,
            extra=exc.message_dict,
        ) from exc
