from django.urls import path

from apps.accounts import apis

urlpatterns = [
    path("households/", apis.HouseholdListApi.as_view(), name="api-household-list"),
    path("accounts/", apis.AccountListApi.as_view(), name="api-account-list"),
    path("accounts/<int:pk>/", apis.AccountDetailApi.as_view(), name="api-account-detail"),
    path("accounts/<int:pk>/lots/", apis.TaxLotListApi.as_view(), name="api-account-lots"),
    path(
        "accounts/<int:pk>/transactions/",
        apis.TransactionListApi.as_view(),
        name="api-account-transactions",
    ),
    path(
        "accounts/<int:pk>/realized/",
        apis.RealizedGainListApi.as_view(),
        name="api-account-realized",
    ),
    path(
        "accounts/<int:pk>/realized/summary/",
        apis.RealizedSummaryApi.as_view(),
        name="api-account-realized-summary",
    ),
    path("accounts/<int:pk>/form8949/", apis.Form8949Api.as_view(), name="api-account-form8949"),
    path(
        "identical-groups/", apis.IdenticalGroupListApi.as_view(), name="api-identical-group-list"
    ),
    path(
        "identical-groups/effective/",
        apis.EffectiveIdenticalGroupListApi.as_view(),
        name="api-identical-group-effective",
    ),
    path(
        "identical-groups/index-opt-outs/",
        apis.IdenticalIndexOptOutListApi.as_view(),
        name="api-identical-index-opt-out-list",
    ),
    path(
        "identical-groups/index-opt-outs/<int:pk>/",
        apis.IdenticalIndexOptOutDetailApi.as_view(),
        name="api-identical-index-opt-out-detail",
    ),
    path(
        "identical-groups/<int:pk>/",
        apis.IdenticalGroupDetailApi.as_view(),
        name="api-identical-group-detail",
    ),
]
