from enum import StrEnum


class ReportsErrorCode(StrEnum):
    """Error codes of the reports app."""

    BAD_KIND = "report_bad_kind"
    NO_ACCOUNTS = "report_no_accounts"
    BATCH_FINISHED = "report_batch_finished"
    RENDER_FAILED = "report_render_failed"
    BAD_BRANDING = "report_bad_branding"
    YEAR_AFTER_AS_OF = "report_year_after_as_of"
