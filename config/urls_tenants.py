"""A firm's host: its pages, its admin and its API (everything in the firm's schema).

Each app owns its URLs: its pages in ``urls_pages`` (mounted at the root) and its API in
``urls`` (mounted under ``api/v1/``); this module only mounts them.
"""

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.access.admin_sites import firm_admin_site
from apps.common.api import unrouted
from apps.firms import views as firm_views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("apps.access.urls")),
    path("securities/", include("apps.securities.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.trading.urls")),
    path("", include("apps.models.urls")),
    path("", include("apps.restrictions.urls")),
    path("", include("apps.reports.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]

handler400 = "apps.common.api.bad_request"
handler404 = "apps.common.api.not_found"

urlpatterns = [
    path("", include("apps.reports.urls_pages")),
    path("", include("apps.access.urls_pages")),
    path("", include("apps.trading.urls_pages")),
    path("", include("apps.accounts.urls_pages")),
    path("", include("apps.securities.urls_pages")),
    path("", include("apps.models.urls_pages")),
    path("", include("apps.restrictions.urls_pages")),
    path("sub-advisory/enter/", firm_views.sub_advisory_enter, name="sub-advisory-enter"),
    path("admin/", firm_admin_site.urls),
    path("api/v1/", include(api_v1)),
    # Last: what no API route matched answers JSON 404, whatever DEBUG says.
    re_path(r"^api/(?P<path>.*)$", unrouted),
]
