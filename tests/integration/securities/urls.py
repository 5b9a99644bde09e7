"""The firm host's URLs plus the securities API, until config/urls_tenants.py includes it."""

from django.urls import include, path

from config.urls_tenants import urlpatterns as tenant_urlpatterns

urlpatterns = [
    path("api/v1/", include("apps.securities.urls")),
    *tenant_urlpatterns,
]
