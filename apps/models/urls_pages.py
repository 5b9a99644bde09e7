"""Pages of model portfolios, mounted at the root of firm hosts by config/urls_tenants.py."""

from django.urls import path

from apps.models import views

urlpatterns = [
    path("models/", views.model_list_page, name="model-list"),
    path("models/<int:pk>/", views.model_detail_page, name="model-detail"),
    path("models/<int:pk>/edit/", views.model_edit_page, name="model-edit"),
    path(
        "models/<int:pk>/versions/<int:number>.csv",
        views.model_version_csv_download,
        name="model-version-csv",
    ),
]
