from django.urls import path

from apps.securities import apis

urlpatterns = [
    path("securities/", apis.SecurityListApi.as_view(), name="api-security-list"),
    path("securities/<str:symbol>/", apis.SecurityDetailApi.as_view(), name="api-security-detail"),
]
