"""Firm API: who am I, the firm's users (firm admin), and token login."""

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.access.permissions import PERMISSIONS, Action, user_role
from apps.access.selectors import firm_user_list


class FirmUserOutput(serializers.Serializer):
    """A firm user as the API shows it."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField(source="membership.role", default=None)
    is_active = serializers.BooleanField()


class MeOutput(serializers.Serializer):
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


class FirmUserListApi(ListAPIView):
    """The firm's users and roles (firm admins)."""

    required_action = Action.MANAGE_USERS
    serializer_class = FirmUserOutput

    def get_queryset(self) -> Any:
        """Users of this firm's schema only."""
        return firm_user_list()


class FirmUserDetailApi(RetrieveAPIView):
    """One user of the firm (firm admins)."""

    required_action = Action.MANAGE_USERS
    serializer_class = FirmUserOutput

    def get_queryset(self) -> Any:
        """Users of this firm's schema only."""
        return firm_user_list()


class TokenInput(serializers.Serializer):
    """Credentials of a firm user."""

    username = serializers.CharField()
    password = serializers.CharField()


class TokenOutput(serializers.Serializer):
    """An API token valid on this firm's host only."""

    token = serializers.CharField()


class LoginThrottle(AnonRateThrottle):
    """Slow down password guessing on the token endpoint."""

    rate = "20/min"


class TokenCreateApi(APIView):
    """Exchange a firm user's username and password for an API token valid on this firm's host."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (LoginThrottle,)

    @extend_schema(request=TokenInput, responses=TokenOutput)
    def post(self, request: Request) -> Response:
        """Return the user's token, creating it once."""
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, **data.validated_data)
        if user is None or user_role(user) is None:
            return Response(
                {"code": "bad_credentials", "message": "unknown user or wrong password"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenOutput({"token": token.key}).data)
