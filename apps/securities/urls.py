"""Mounted by config/urls_tenants.py under ``api/v1/securities/`` (firm hosts)."""

from django.urls import path

from apps.securities import apis

urlpatterns = [
    path("", apis.SecurityListApi.as_view(), name="api-security-list"),
    path("<str:symbol>/", apis.SecurityDetailApi.as_view(), name="api-security-detail"),
]
