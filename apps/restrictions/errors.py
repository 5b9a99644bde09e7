from enum import StrEnum


class RestrictionsErrorCode(StrEnum):
    """Why a restriction, outside holding or substitute change was refused."""

    INVALID = "restriction_invalid"
    UNKNOWN_VALUE = "restriction_unknown_value"
    ALREADY_ENDED = "restriction_already_ended"
    NO_MODEL = "account_has_no_model"
