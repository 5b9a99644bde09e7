from enum import StrEnum


class ModelsErrorCode(StrEnum):
    """Why a model-portfolio operation was refused."""

    INVALID = "model_invalid"
    WEIGHTS_SUM = "model_weights_sum"
    UNKNOWN_SYMBOL = "model_unknown_symbol"
    UNKNOWN_MODEL = "model_unknown_sleeve"
    CYCLE = "model_sleeve_cycle"
    NO_VERSION = "model_no_version"
    CSV_INVALID = "model_csv_invalid"
    INACTIVE = "model_inactive"
