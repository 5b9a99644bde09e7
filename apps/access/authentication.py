"""API authentication with the firm's named tokens (``Authorization: Token <key>``)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from apps.access.models import ApiToken


class ApiTokenAuthentication(BaseAuthentication):
    """A usable ``ApiToken`` of this firm's schema authenticates its user."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        """The token's user, or None without a token header; 401 for a dead or unknown token."""
        from apps.access.selectors import api_token_get_usable
        from apps.access.services import api_token_touch

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid token header.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Invalid token header.") from exc
        token = api_token_get_usable(key=key)
        if token is None:
            raise AuthenticationFailed("Invalid, expired or revoked token.")
        api_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        """Ask for a token (a 401, not a 403, for an anonymous API call)."""
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular's __init_subclass__ is unannotated
    """The OpenAPI security scheme of ``ApiTokenAuthentication`` (registered on import).

    Without it the schema would list only the session cookie, and a client (or the API fuzz
    test) could not tell that a token alone is enough.
    """

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        """``Authorization: Token <key>``."""
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A named API token: `Token <key>` (issued at /api/v1/auth/token/).",
        }
