from enum import StrEnum


class FirmErrorCode(StrEnum):
    """Why an onboarding or entry request was refused."""

    INVALID = "firm_invalid"
    SLUG_TAKEN = "firm_slug_taken"
    DOMAIN_TAKEN = "firm_domain_taken"
    NOT_STAFF = "not_platform_staff"
    NOT_SUB_ADVISED = "firm_not_sub_advised"
    BAD_ENTRY = "bad_entry_token"
