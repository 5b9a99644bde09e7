from enum import StrEnum


class FirmErrorCode(StrEnum):
    """Why an onboarding, entry, backup or restore request was refused."""

    INVALID = "firm_invalid"
    SLUG_TAKEN = "firm_slug_taken"
    DOMAIN_TAKEN = "firm_domain_taken"
    NOT_STAFF = "not_platform_staff"
    NOT_SUB_ADVISED = "firm_not_sub_advised"
    BAD_ENTRY = "bad_entry_token"
    SCHEMA_EXISTS = "firm_schema_exists"
    BACKUP_FAILED = "firm_backup_failed"
    ARCHIVE_CORRUPT = "firm_archive_corrupt"
    ARCHIVE_FORMAT_UNKNOWN = "firm_archive_format_unknown"
    RESTORE_FAILED = "firm_restore_failed"
