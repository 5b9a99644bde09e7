"""Mounted by config/urls_tenants.py under ``api/v1/`` (firm hosts)."""

from django.urls import path

from apps.models import apis

urlpatterns = [
    path("models/", apis.ModelListApi.as_view(), name="api-model-list"),
    path("models/<int:pk>/", apis.ModelDetailApi.as_view(), name="api-model-detail"),
    path(
        "models/<int:pk>/versions/",
        apis.ModelVersionListApi.as_view(),
        name="api-model-versions",
    ),
    path(
        "models/<int:pk>/versions/<int:number>/csv/",
        apis.ModelVersionCsvApi.as_view(),
        name="api-model-version-csv",
    ),
    path(
        "models/<int:pk>/flattened/",
        apis.ModelFlattenedApi.as_view(),
        name="api-model-flattened",
    ),
]
