"""The desk's order pages, mounted at the root of firm hosts (``apps.trading.urls_pages``)."""

from django.urls import path

from apps.trading.orders import views

urlpatterns = [
    path("orders/", views.orders_page, name="orders"),
    path("orders/create/", views.orders_create, name="orders-create"),
    path("orders/<int:pk>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("orders/trade-files/", views.trade_file_generate_view, name="trade-file-generate"),
    path(
        "orders/trade-files/<int:pk>/download/",
        views.trade_file_download,
        name="trade-file-download",
    ),
    path("orders/fills/", views.fills_upload, name="fills-upload"),
]
