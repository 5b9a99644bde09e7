"""Security pages, mounted at the root of firm hosts by config/urls_tenants.py."""

from django.urls import path

from apps.securities import views

urlpatterns = [
    path("securities/<str:symbol>/", views.security_detail_page, name="security-detail"),
]
