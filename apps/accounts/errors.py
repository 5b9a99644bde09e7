from enum import StrEnum


class AccountsErrorCode(StrEnum):
    """Why a books-of-record operation was refused."""

    INVALID = "accounts_invalid"
    LEDGER_INCONSISTENT = "ledger_inconsistent"
    IMPORT_REJECTED = "import_rejected"
