"""The order API, mounted under ``api/v1/`` of firm hosts (``apps.trading.urls``)."""

from django.urls import path

from apps.trading.orders import apis

urlpatterns = [
    path("orders/", apis.OrderListApi.as_view(), name="api-order-list"),
    path("orders/create/", apis.OrderCreateApi.as_view(), name="api-order-create"),
    path("orders/<int:pk>/cancel/", apis.OrderCancelApi.as_view(), name="api-order-cancel"),
    path("trade-files/", apis.TradeFileListApi.as_view(), name="api-trade-file-list"),
    path(
        "trade-files/generate/",
        apis.TradeFileGenerateApi.as_view(),
        name="api-trade-file-generate",
    ),
    path(
        "trade-files/<int:pk>/download/",
        apis.TradeFileDownloadApi.as_view(),
        name="api-trade-file-download",
    ),
    path("fills/", apis.FillsImportApi.as_view(), name="api-fills-import"),
]
