"""The firm's report branding: update it (audited) and turn it into a template context."""

import mimetypes
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from apps.access.services import audit_event_record
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import current_firm, require_tenant_schema
from apps.reports.errors import ReportsErrorCode
from apps.reports.models import FirmBranding
from apps.reports.rendering import data_uri
from apps.reports.selectors import firm_branding_get

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
LOGO_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Branding:
    """What templates need: a name, colours, a logo as a data URI (or None), a disclaimer."""

    name: str
    primary: str
    secondary: str
    logo_uri: str | None
    disclaimer: str


def branding_context() -> Branding:
    """The current firm's branding for a report (the logo read from the firm's storage)."""
    row = firm_branding_get()
    logo_uri = None
    if row.logo_name and default_storage.exists(row.logo_name):
        media_type = mimetypes.guess_type(row.logo_name)[0] or "image/png"
        with default_storage.open(row.logo_name, "rb") as handle:
            logo_uri = data_uri(handle.read(), media_type=media_type)
    return Branding(
        name=row.display_name or str(current_firm().name),
        primary=row.primary_colour,
        secondary=row.secondary_colour,
        logo_uri=logo_uri,
        disclaimer=row.disclaimer,
    )


@transaction.atomic
def firm_branding_update(
    *,
    acting_user: User | None,
    display_name: str | None = None,
    primary_colour: str | None = None,
    secondary_colour: str | None = None,
    disclaimer: str | None = None,
    logo: tuple[str, bytes] | None = None,
) -> FirmBranding:
    """Set the firm's report branding (one row per firm); audited with the fields changed.

    Args:
        acting_user: who changed it.
        display_name: name on the cover (blank: the firm's name).
        primary_colour: ``#rrggbb``.
        secondary_colour: ``#rrggbb``.
        disclaimer: text printed on every report's last page.
        logo: (file name, bytes) of a PNG or JPEG, stored in the firm's storage.

    Raises:
        ApplicationError: ``BAD_BRANDING`` for an invalid colour or logo.
    """
    require_tenant_schema()
    row = FirmBranding.objects.select_for_update().order_by("pk").first() or FirmBranding()
    changed: list[str] = []
    for field, value in (
        ("display_name", display_name),
        ("primary_colour", primary_colour),
        ("secondary_colour", secondary_colour),
        ("disclaimer", disclaimer),
    ):
        if value is not None:
            setattr(row, field, value)
            changed.append(field)
    if logo is not None:
        name, content = logo
        suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        if suffix not in LOGO_TYPES or not content or len(content) > LOGO_MAX_BYTES:
            raise ApplicationError(
                "the logo must be a PNG or JPEG under 512 KB",
                code=ReportsErrorCode.BAD_BRANDING,
            )
        row.logo_name = default_storage.save(f"branding/logo{suffix}", ContentFile(content))
        changed.append("logo")
    try:
        row.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            f"invalid branding: {'; '.join(exc.messages)}",
            code=ReportsErrorCode.BAD_BRANDING,
            extra=exc.message_dict,
        ) from exc
    row.save()
    audit_event_record(
        action="reports.branding.update",
        acting_user=acting_user,
        obj=row,
        payload={"fields": changed},
    )
    return row
