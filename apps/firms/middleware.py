"""Tenant selection from the host name only (STYLE.md §5.2): never from body, query or header."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware


class FirmHostMiddleware(TenantMainMiddleware):
    """A firm's domain serves that firm; the platform's own hosts serve the public site.

    Any other host gets a 404: an unknown host must never fall back to some schema.
    """

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse | None:
        """Serve the public URLconf on the platform's hosts; refuse every other host."""
        if hostname in settings.PLATFORM_PUBLIC_HOSTS:
            self.setup_url_routing(request=request, force_public=True)
            return None
        raise self.TENANT_NOT_FOUND_EXCEPTION(f'No firm is served at "{hostname}"')
