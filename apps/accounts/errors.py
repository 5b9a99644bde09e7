from enum import StrEnum


class AccountsErrorCode(StrEnum):
    """Why a books-of-record operation was refused."""

    INVALID = "accounts_invalid"
    LEDGER_INCONSISTENT = "ledger_inconsistent"
    IMPORT_REJECTED = "import_rejected"
    UNKNOWN_SYMBOL = "accounts_unknown_symbol"
    SYMBOL_IN_ANOTHER_GROUP = "identical_symbol_in_another_group"
