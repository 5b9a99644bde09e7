from django.urls import path

from apps.access import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("auth/token/", apis.TokenCreateApi.as_view(), name="api-token"),
    path("auth/tokens/", apis.TokenListApi.as_view(), name="api-token-list"),
    path("auth/tokens/<int:pk>/revoke/", apis.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("users/", apis.FirmUserListApi.as_view(), name="api-user-list"),
    path("users/<int:pk>/", apis.FirmUserDetailApi.as_view(), name="api-user-detail"),
]
