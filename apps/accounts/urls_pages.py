"""Account pages, mounted at the root of firm hosts by config/urls_tenants.py."""

from django.urls import path

from apps.accounts import import_views, views

urlpatterns = [
    path("realized-gains/", views.realized_gain_list_page, name="realized-gain-list"),
    path("accounts/<int:pk>/", views.account_detail_page, name="account-detail"),
    path("accounts/<int:pk>/form8949.csv", views.form8949_download, name="account-form8949"),
    path("imports/", import_views.custodian_import, name="custodian-import"),
]
