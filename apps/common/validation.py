"""Model validation for services: ``full_clean()`` failures become one ApplicationError."""

from enum import StrEnum
from typing import Final

from django.core.exceptions import ValidationError
from django.db.models import Model

from apps.common.csv_out import formula_leading, formula_leading_message
from apps.common.exceptions import ApplicationError

CONSTRAINT_MESSAGE: Final = "these values do not go together: check the fields above and try again"


def validate_not_formula_leading(value: str) -> None:
    """Model-field validator for identifiers: refuse a value a spreadsheet reads as a formula.

    Custodians never issue such identifiers; the CSVs we write would carry them (OWASP CSV
    injection). Imports apply the same rule with the line (``formula_leading``).
    """
    if formula_leading(value):
        raise ValidationError(formula_leading_message(value), code="formula_leading")


def full_clean_or_error(obj: Model, *, code: StrEnum) -> None:
    """Validate a model instance; raise an ApplicationError naming every field at fault.

    Raises:
        ApplicationError: with ``extra`` = the field -> messages mapping.
    """
    try:
        obj.full_clean()
    except ValidationError as raw:
        exc = plain_errors(raw)
        raise ApplicationError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            code=code,
            extra=exc.message_dict,
        ) from raw


def plain_errors(errors: ValidationError) -> ValidationError:
    """The same errors, with Django's "Constraint “name” is violated." said in plain words.

    Constraints carry their own ``violation_error_message`` where a sentence fits one; any
    other constraint message (it names a database object) becomes ``CONSTRAINT_MESSAGE``.
    """
    if hasattr(errors, "error_dict"):
        return ValidationError(
            {field: [_plain(e) for e in errs] for field, errs in errors.error_dict.items()}
        )
    return ValidationError([_plain(e) for e in errors.error_list])


def _plain(error: ValidationError) -> ValidationError:
    text = " ".join(error.messages)
    if text.startswith("Constraint “") or " is violated" in text:
        return ValidationError(CONSTRAINT_MESSAGE, code="constraint")
    return error
