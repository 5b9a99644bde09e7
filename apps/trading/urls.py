from django.urls import include, path

from apps.trading import apis

urlpatterns = [
    path("runs/", apis.RunListApi.as_view(), name="api-run-list"),
    path("runs/<int:pk>/", apis.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<int:pk>/progress/", apis.RunProgressApi.as_view(), name="api-run-progress"),
    path("runs/<int:pk>/cancel/", apis.RunCancelApi.as_view(), name="api-run-cancel"),
    path("proposals/", apis.ProposalListApi.as_view(), name="api-proposal-list"),
    path("proposals/<int:pk>/", apis.ProposalDetailApi.as_view(), name="api-proposal-detail"),
    path("proposals/decide/", apis.ProposalDecideApi.as_view(), name="api-proposal-decide"),
    path("proposals/<int:pk>/rerun/", apis.ProposalRerunApi.as_view(), name="api-proposal-rerun"),
    path("", include("apps.trading.orders.urls")),
]
