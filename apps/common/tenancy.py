"""The few functions through which code learns which firm it serves (STYLE.md §5).

Tenant apps never switch schemas; they ask here, and these refuse to answer in ``public``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

from apps.common.exceptions import TenantContextError
from apps.common.limits import page_date


def current_schema() -> str:
    """The schema of the current database connection."""
    return str(getattr(connection, "schema_name", ""))


def require_tenant_schema() -> str:
    """Return the current firm's schema, or raise if the connection is in ``public``.

    Every tenant task and command calls this first: a task message without a schema header
    runs in ``public`` (tenant-schemas-celery), and must be refused, not run.

    Raises:
        TenantContextError: the connection is not set to a firm's schema.
    """
    schema = current_schema()
    if not schema or schema == get_public_schema_name():
        raise TenantContextError("refused: tenant data requires a firm's schema, got 'public'")
    return schema


def current_firm() -> Any:
    """The Firm whose schema the connection uses.

    ``schema_context`` (tests, maintenance) sets a stand-in tenant with the schema's name only;
    the firm is then the row of that schema.

    Raises:
        TenantContextError: in ``public``, or in a schema no firm owns.
    """
    schema = require_tenant_schema()
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and tenant.__class__.__name__ == "FakeTenant":
        tenant = get_tenant_model().objects.filter(schema_name=schema).first()
    if tenant is None or tenant.pk is None:
        raise TenantContextError("refused: the connection carries no real firm")
    return tenant


def firm_today(firm: Any | None = None) -> date:
    """Today's business date in the firm's time zone (never ``now().date()`` in UTC)."""
    firm = firm if firm is not None else current_firm()
    now: datetime = timezone.now()
    return now.astimezone(ZoneInfo(str(firm.timezone))).date()


def page_as_of(request: HttpRequest) -> date:
    """A page's ``as_of`` date (query or form), else the firm's today.

    Raises:
        BadRequest: a malformed date or one outside the range (see ``page_date``).
    """
    return page_date(request) or firm_today()


@contextmanager
def firm_schema_for_command(slug: str) -> Iterator[Any]:
    """Management commands only: run the block inside the firm's schema, found by its slug.

    The one sanctioned way for a tenant app's command to enter a schema (tenant apps never
    import ``apps.firms``).

    Raises:
        TenantContextError: no firm has that slug.
    """
    tenant = get_tenant_model().objects.filter(slug=slug).first()
    if tenant is None:
        raise TenantContextError(f"no firm with slug '{slug}'")
    with tenant_context(tenant):
        yield tenant
