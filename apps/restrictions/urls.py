"""Mounted by config/urls_tenants.py under ``api/v1/`` (firm hosts)."""

from django.urls import path

from apps.restrictions import apis

urlpatterns = [
    path("restrictions/", apis.RestrictionListApi.as_view(), name="api-restriction-list"),
    path(
        "restrictions/<int:pk>/end/",
        apis.RestrictionEndApi.as_view(),
        name="api-restriction-end",
    ),
    path("substitutes/", apis.SubstituteListApi.as_view(), name="api-substitute-list"),
    path("accounts/<int:pk>/model/", apis.AccountModelApi.as_view(), name="api-account-model"),
    path(
        "accounts/<int:pk>/outside-holdings/",
        apis.OutsideHoldingListApi.as_view(),
        name="api-account-outside-holdings",
    ),
    path(
        "accounts/<int:pk>/outside-holdings/<int:holding_id>/",
        apis.OutsideHoldingRemoveApi.as_view(),
        name="api-account-outside-holding-remove",
    ),
    path(
        "accounts/<int:pk>/effective-target/",
        apis.EffectiveTargetApi.as_view(),
        name="api-account-effective-target",
    ),
]
