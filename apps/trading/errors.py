from enum import StrEnum


class TradingErrorCode(StrEnum):
    """Why a trading operation was refused."""

    INVALID = "trading_invalid"
    EMPTY_SCOPE = "run_scope_empty"
    NOT_PENDING = "proposal_not_pending"
    RUN_FINISHED = "run_finished"
    INVALID_AS_OF = "run_as_of_invalid"
    IDEMPOTENCY_CONFLICT = "run_idempotency_conflict"
