"""Firm API: who am I, the firm's users (firm admin), and API tokens (sign-in, list, revoke)."""

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import PERMISSIONS, Action, user_role
from apps.access.requests import AuthenticatedRequest
from apps.access.selectors import api_token_list_for_user, firm_user_list
from apps.access.services import api_token_create, api_token_revoke
from apps.access.totp import totp_check
from apps.common.api import ApiErrorOutput


class FirmUserOutput(serializers.Serializer[Any]):
    """A firm user as the API shows it."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField(source="membership.role", default=None)
    is_active = serializers.BooleanField()


class MeOutput(serializers.Serializer[Any]):
    """The caller's identity and allowed actions."""

    username = serializers.CharField()
    firm = serializers.CharField()
    role = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())


class MeApi(APIView):
    """The authenticated user, their firm and what their role allows."""

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        """Return the caller's identity in this firm."""
        role = user_role(request.user)
        assert role is not None  # IsFirmMember guarantees a role  # noqa: S101  # nosec B101
        data = {
            "username": request.user.get_username(),
            "firm": request.tenant.slug,  # type: ignore[attr-defined]
            "role": role.value,
            "actions": sorted(a.value for a in PERMISSIONS[role]),
        }
        return Response(MeOutput(data).data)


class FirmUserListApi(ListAPIView[Any]):
    """The firm's users and roles (firm admins)."""

    required_action = Action.MANAGE_USERS
    serializer_class = FirmUserOutput

    def get_queryset(self) -> Any:
        """Users of this firm's schema only."""
        return firm_user_list()


class FirmUserDetailApi(RetrieveAPIView[Any]):
    """One user of the firm (firm admins)."""

    required_action = Action.MANAGE_USERS
    serializer_class = FirmUserOutput

    def get_queryset(self) -> Any:
        """Users of this firm's schema only."""
        return firm_user_list()


class TokenInput(serializers.Serializer[Any]):
    """Credentials of a firm user, and the new token's name and lifetime."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096)
    name = serializers.CharField(max_length=100, default="API token")
    lifetime_days = serializers.IntegerField(
        required=False, min_value=1, help_text="default API_TOKEN_LIFETIME_DAYS (30)"
    )
    otp_token = serializers.CharField(
        max_length=8, default="", help_text="the authenticator code, for a user who set one up"
    )


class TokenOutput(serializers.Serializer[Any]):
    """A named API token of one firm user, valid on this firm's host only."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    key_prefix = serializers.CharField(help_text="first characters of the key")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField()


class TokenCreatedOutput(TokenOutput):
    """A new token with its key: shown this once, stored only as a hash."""

    token = serializers.CharField()


LOCKED_OUT = OpenApiResponse(
    ApiErrorOutput, description="too many failed sign-ins for this username or address"
)


class TokenCreateApi(APIView):
    """Exchange a firm user's username and password for a new named API token.

    The sign-in policy is every door's (django-axes on ``authenticate``): failures here count on
    the sign-in page and the admin too, and a locked-out user or address gets 429.
    """

    permission_classes = (AllowAny,)
    authentication_classes = ()

    @extend_schema(request=TokenInput, responses={200: TokenCreatedOutput, 429: LOCKED_OUT})
    def post(self, request: Request) -> Response:
        """Return a new token with its key (the only time the key is shown)."""
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = data.validated_data
        user = authenticate(
            request._request, username=credentials["username"], password=credentials["password"]
        )
        if user is None or user_role(user) is None:
            return Response(
                {"code": "bad_credentials", "message": "unknown user or wrong password"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            totp_check(
                request=request._request, user=user, code=credentials["otp_token"], for_api=True
            )
        except ValidationError as exc:
            return Response(
                {"code": exc.code, "message": exc.message}, status=status.HTTP_400_BAD_REQUEST
            )
        token, key = api_token_create(
            user=user,
            name=credentials["name"],
            lifetime_days=credentials.get("lifetime_days"),
            acting_user=user,
        )
        return Response(TokenCreatedOutput({**TokenOutput(token).data, "token": key}).data)


class TokenListApi(ListAPIView[Any]):
    """The caller's own API tokens (every state), newest first; keys are never shown again."""

    serializer_class = TokenOutput
    request: AuthenticatedRequest  # behind IsFirmMember

    def get_queryset(self) -> Any:
        """The caller's tokens only."""
        return api_token_list_for_user(user=self.request.user)


class TokenRevokeApi(APIView):
    """Revoke one of the caller's own tokens (it stops working at once)."""

    @extend_schema(request=None, responses=TokenOutput)
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Revoke it; revoking a revoked or expired token changes nothing."""
        token = get_object_or_404(api_token_list_for_user(user=request.user), pk=pk)
        return Response(TokenOutput(api_token_revoke(token=token, acting_user=request.user)).data)
